/* Writes one aggregate as <prefix>.<pid>.<seq>.pprof (gzip pprof) and <prefix>.<pid>.<seq>.json,
 * atomically (temp file + rename), and keeps the number of unread profiles bounded (oldest dropped
 * and counted). An aggregate without a sample writes nothing. Called by the sampler thread at each
 * upload interval and once at exit; every descriptor it opens is closed before it returns. */
#ifndef PODPROF_SAMPLER_PROFILE_OUTPUT_H
#define PODPROF_SAMPLER_PROFILE_OUTPUT_H

#include <stddef.h>
#include <stdint.h>

#include "aggregate.h"
#include "config.h"
#include "provenance.h"
#include "timeline.h"

typedef struct pp_counter {
    const char *name; /* e.g. "samples", "read_failures", "threads_seen" */
    uint64_t value;
} pp_counter;

typedef struct pp_flush_info {
    int64_t start_ns, end_ns;   /* CLOCK_REALTIME bounds of the profile */
    int64_t period_ns;          /* nominal sampling interval */
    double effective_rate_hz;   /* after adaptive stretching */
    const char *python_version; /* "3.12.1" */
    const char *runtime_id;     /* uuid4 per process (new after fork) */
    const pp_counter *counters; /* the sampler's own counters */
    size_t n_counters;
    const pp_timeline *timeline;          /* observations with their own time; NULL when off */
    const pp_provenance_view *provenance; /* what the files belong to; NULL when off */
    /* Bit i set: the aggregate value i (pp_value_index) beyond CPU and wall is written as a
     * sample type. CPU and wall always are. */
    uint32_t value_mask;
} pp_flush_info;

/* Returns 0 on success (or nothing to write), -1 with one logged line on failure (the aggregate is
 * still reset by the caller; a failed flush loses that interval, never the process). */
int pp_profile_flush(const pp_config *cfg, const pp_agg *agg, const pp_flush_info *info);

#endif
