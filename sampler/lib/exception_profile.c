/* Naming recorded raises and building exception-samples (exception_profile.h). */
#include "exception_profile.h"

#include <string.h>

#include "exception_hooks.h"
#include "log.h"

/* Samples in flight between two drains (one pass, 10 ms by default). */
#define RING_RECORDS 1024

static const char UNNAMED[] = "<raised outside Python code>";
static const char LABEL[] = "exception type";

static int started;
static uint32_t value_mask;
static int64_t weight;
static pp_record_counters drained;

uint32_t pp_exception_start(const pp_config *cfg, const pp_runtime *rt, void (*filling)(void))
{
    if (started)
        return value_mask;
    started = 1;
    if (!cfg->exception_enabled)
        return 0;
    pp_exception_hooks_options opt = {.interval = (double)cfg->exception_sampling_interval,
                                      .max_frames = (size_t)cfg->max_frames,
                                      .ring_records = RING_RECORDS};
    if (pp_exception_hooks_setup(rt, &opt) != 0)
        return 0;
    pp_exception_hooks_ring()->filling = filling;
    weight = cfg->exception_sampling_interval;
    value_mask = 1u << PP_V_EXCEPTION_SAMPLES;
    pp_log(PP_LOG_DEBUG, "exception profiles: one raise in %d sampled on average",
           cfg->exception_sampling_interval);
    return value_mask;
}

static void add_raise(const pp_record_namer *n, const pp_alloc_record *rec, pp_sample_key *key)
{
    key->label_key = pp_agg_intern(n->agg, LABEL, sizeof LABEL - 1);
    key->label_value =
        pp_agg_intern(n->agg, rec->label, strnlen(rec->label, PP_EXCEPTION_TYPE_BYTES));
    int64_t values[PP_V_COUNT] = {[PP_V_EXCEPTION_SAMPLES] = weight};
    pp_agg_add_values(n->agg, key, values);
}

void pp_exception_drain(const pp_record_namer *n)
{
    pp_record_drain(n, pp_exception_hooks_ring(), UNNAMED, add_raise, &drained);
}

pp_record_counters pp_exception_counters(void)
{
    return pp_record_counters_report(&drained, pp_exception_hooks_ring(),
                                     pp_exception_hooks_installed());
}
