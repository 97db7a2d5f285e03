/* Naming recorded lock events and building the lock sample types (lock_profile.h). */
#include "lock_profile.h"

#include <stdio.h>
#include <string.h>

#include "lock_hooks.h"
#include "log.h"

/* Samples in flight between two drains (one pass, 10 ms by default). */
#define RING_RECORDS 1024

static const char UNNAMED[] = "<lock outside Python code>";
static const char LABEL[] = "lock name";
/* Modules whose frames only wrap a lock: the name is taken from their caller. */
static const char *const WRAPPERS[] = {"/threading.py", "/queue.py"};

static int started;
static uint32_t value_mask;
static pp_record_counters drained;

uint32_t pp_lock_start(const pp_config *cfg, const pp_runtime *rt, void (*filling)(void))
{
    if (started)
        return value_mask;
    started = 1;
    if (!cfg->lock_enabled)
        return 0;
    pp_lock_hooks_options opt = {.wait_interval_ns = 1e9 / cfg->sample_rate_hz,
                                 .capture_pct = cfg->capture_pct,
                                 .max_frames = (size_t)cfg->max_frames,
                                 .ring_records = RING_RECORDS};
    if (pp_lock_hooks_setup(rt, &opt) != 0)
        return 0;
    pp_lock_hooks_ring()->filling = filling;
    value_mask = 1u << PP_V_LOCK_ACQUIRE | 1u << PP_V_LOCK_ACQUIRE_WAIT_NS |
                 1u << PP_V_LOCK_RELEASE | 1u << PP_V_LOCK_RELEASE_HOLD_NS;
    pp_log(PP_LOG_DEBUG,
           "lock profiles: one sample per %.0f ns waited on average, %g %% of acquisitions",
           opt.wait_interval_ns, opt.capture_pct);
    return value_mask;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && memcmp(s + n - m, suffix, m) == 0;
}

/* What naming costs each record is looked up in two small caches (the sampler thread's own),
 * emptied when the profile's strings are (a new generation of ids). */
#define NAME_CACHE 256
static struct {
    pp_str file;
    int32_t line;
    pp_str label;
} labels[NAME_CACHE];
static struct {
    pp_str file;
    uint8_t wrapper;
} files[NAME_CACHE];
static uint64_t cache_generation = UINT64_MAX;

static size_t cache_slot(pp_str file, int32_t line)
{
    return (size_t)((((uint64_t)file << 32 | (uint32_t)line) * 0x9e3779b97f4a7c15ULL) >> 56);
}

static int is_wrapper(const pp_record_namer *n, pp_str file)
{
    size_t slot = cache_slot(file, 0);
    if (files[slot].file != file) {
        const char *text = pp_agg_string(n->agg, file);
        int wrapper = 0;
        for (size_t i = 0; text && i < sizeof WRAPPERS / sizeof WRAPPERS[0]; i++)
            wrapper |= ends_with(text, WRAPPERS[i]);
        files[slot].file = file;
        files[slot].wrapper = (uint8_t)wrapper;
    }
    return files[slot].wrapper;
}

/* "file.py:LINE" of the first frame outside the wrapper modules (the leaf when all are). */
static pp_str lock_name(const pp_record_namer *n, const pp_sample_key *key)
{
    if (cache_generation != pp_agg_generation(n->agg)) {
        memset(labels, 0, sizeof labels);
        memset(files, 0, sizeof files);
        cache_generation = pp_agg_generation(n->agg);
    }
    const pp_frame *f = &key->frames[0];
    for (size_t i = 0; i < key->n_frames; i++)
        if (key->frames[i].filename && !is_wrapper(n, key->frames[i].filename)) {
            f = &key->frames[i];
            break;
        }
    if (!f->filename) /* no Python frame, or none with a file */
        return pp_agg_intern(n->agg, UNNAMED, sizeof UNNAMED - 1);
    size_t slot = cache_slot(f->filename, f->line);
    if (labels[slot].file == f->filename && labels[slot].line == f->line)
        return labels[slot].label;
    const char *file = pp_agg_string(n->agg, f->filename);
    const char *base = file ? strrchr(file, '/') : NULL;
    base = base ? base + 1 : file ? file : "";
    char buf[256];
    int len = snprintf(buf, sizeof buf, "%s:%d", base, (int)f->line);
    if (len < 0)
        len = 0;
    if ((size_t)len >= sizeof buf)
        len = (int)sizeof buf - 1;
    pp_str label = pp_agg_intern(n->agg, buf, (size_t)len);
    /* interning may have started a new generation: then the ids cached above are stale */
    if (pp_agg_generation(n->agg) == cache_generation) {
        labels[slot].file = f->filename;
        labels[slot].line = f->line;
        labels[slot].label = label;
    }
    return label;
}

static int64_t as_int(uint64_t v)
{
    return v > INT64_MAX ? INT64_MAX : (int64_t)v;
}

/* A record's size is the events it stands for, its ptr the nanoseconds. */
static void add_event(const pp_record_namer *n, const pp_alloc_record *rec, pp_sample_key *key)
{
    key->label_key = pp_agg_intern(n->agg, LABEL, sizeof LABEL - 1);
    key->label_value = lock_name(n, key);
    int64_t values[PP_V_COUNT] = {0};
    if (rec->domain == PP_LOCK_ACQUIRE) {
        values[PP_V_LOCK_ACQUIRE] = as_int(rec->size);
        values[PP_V_LOCK_ACQUIRE_WAIT_NS] = as_int(rec->ptr);
    } else {
        values[PP_V_LOCK_RELEASE] = as_int(rec->size);
        values[PP_V_LOCK_RELEASE_HOLD_NS] = as_int(rec->ptr);
    }
    pp_agg_add_values(n->agg, key, values);
}

void pp_lock_drain(const pp_record_namer *n)
{
    pp_record_drain(n, pp_lock_hooks_ring(), UNNAMED, add_event, &drained);
}

pp_record_counters pp_lock_counters(void)
{
    return pp_record_counters_report(&drained, pp_lock_hooks_ring(), pp_lock_hooks_installed());
}
