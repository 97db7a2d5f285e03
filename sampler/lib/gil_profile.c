/* Naming recorded GIL waits and building gil-wait (gil_profile.h). */
#include "gil_profile.h"

#include <string.h>

#include "gil_hooks.h"
#include "log.h"

/* Samples in flight between two drains (one pass, 10 ms by default): one per waiting thread and
 * sampling interval on average. */
#define RING_RECORDS 256

/* A thread that waits for the GIL before its first Python frame (a new thread starting) or
 * after its last. */
static const char UNNAMED[] = "<GIL wait outside Python code>";

static int started;
static uint32_t value_mask;
static pp_record_counters drained;

uint32_t pp_gil_start(const pp_config *cfg, const pp_runtime *rt, void (*filling)(void))
{
    if (started)
        return value_mask;
    started = 1;
    if (!cfg->gil_enabled)
        return 0;
    pp_gil_hooks_options opt = {.interval_ns = 1e9 / cfg->sample_rate_hz,
                                .max_frames = (size_t)cfg->max_frames,
                                .ring_records = RING_RECORDS};
    if (pp_gil_hooks_setup(rt, &opt) != 0)
        return 0;
    pp_gil_hooks_ring()->filling = filling;
    value_mask = 1u << PP_V_GIL_WAIT_NS;
    pp_log(PP_LOG_DEBUG, "GIL wait profiles: one sample per %.0f ns waited on average",
           opt.interval_ns);
    return value_mask;
}

/* A record's size is the waiting time it stands for, in ns. */
static void add_wait(const pp_record_namer *n, const pp_alloc_record *rec, pp_sample_key *key)
{
    int64_t values[PP_V_COUNT] = {[PP_V_GIL_WAIT_NS] =
                                      rec->size > INT64_MAX ? INT64_MAX : (int64_t)rec->size};
    pp_agg_add_values(n->agg, key, values);
}

void pp_gil_drain(const pp_record_namer *n)
{
    pp_record_drain(n, pp_gil_hooks_ring(), UNNAMED, add_wait, &drained);
}

pp_record_counters pp_gil_counters(void)
{
    return pp_record_counters_report(&drained, pp_gil_hooks_ring(), pp_gil_hooks_installed());
}
