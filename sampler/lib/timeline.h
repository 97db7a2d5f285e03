/* The timeline (DD_PROFILING_TIMELINE_ENABLED): CPU and wall observations that keep their time.
 *
 * Without it, every observation of a stack is summed into that stack's values and the profile
 * says how much time went where, not when. With it, each observation becomes a record (its stack
 * by the aggregate's index, its CPU and wall time, the wall-clock time it ends at) and the writer
 * emits one pprof sample per record with an `end_timestamp_ns` label, as Datadog's profilers do
 * for their per-thread timeline. A record covers [end - wall, end].
 *
 * Observations of one thread in consecutive passes with the same stack extend one record: its
 * interval is the union of theirs and its values are their sums. Which stack every thread was in
 * at every moment is therefore kept exactly; what a record does not say is how its CPU time was
 * spread over its interval (Datadog's libdatadog keeps every timestamped sample, and says it at
 * the sampling period's resolution). Threads change stack far less often than they are sampled
 * (a waiting thread not at all), so this takes 8 CPU-bound threads from ~54,000 records a minute
 * to ~8,000 and their upload from ~410 to ~110 KiB (tests/bench/timeline_cost.py). A record never
 * covers more than PP_TIMELINE_MAX_RUN_NS, the longest interval the adaptive sampling rate gives a
 * single pass, so every sample stays within what one unmerged observation can be.
 *
 * Memory is bounded by construction: at most max_records records of 32 bytes, grown on demand and
 * kept across flushes (the sampler thread adds records without calling malloc once a workload's
 * size has been seen), whose stacks hold at most max_frames frames together (every record is a
 * sample whose frames the exporter decodes, so this bounds what the timeline adds to the
 * exporter's memory too). A full timeline refuses an observation, and the caller adds it to its
 * stack's sums instead: the profile's totals never lose anything, only the time of those samples,
 * and the refusals are counted. Only the sampler thread uses a timeline (no lock). */
#ifndef PODPROF_SAMPLER_TIMELINE_H
#define PODPROF_SAMPLER_TIMELINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rate_control.h"

/* The longest time one record covers: the adaptive interval's ceiling. */
#define PP_TIMELINE_MAX_RUN_NS PP_RATE_MAX_INTERVAL_NS

typedef struct pp_timeline_record {
    uint32_t stack;  /* the aggregate's stack index (pp_agg_stack) */
    uint32_t passes; /* observations this record holds (the samples count) */
    int64_t end_ns;  /* CLOCK_REALTIME at the last observation */
    int64_t cpu_ns, wall_ns;
} pp_timeline_record;

typedef struct pp_timeline pp_timeline;

/* max_stacks: the aggregate's bound on stack indices. NULL when out of memory. */
pp_timeline *pp_timeline_new(size_t max_records, size_t max_frames, size_t max_stacks);
void pp_timeline_free(pp_timeline *t);

/* Records one observation of stack (frames deep, counting a "<N frames omitted>" frame) in
 * sampling pass `pass`; false when the timeline is full (or the index is out of range): the caller
 * then sums the observation into the stack instead. */
bool pp_timeline_add(pp_timeline *t, uint32_t stack, size_t frames, uint64_t pass, int64_t end_ns,
                     int64_t cpu_ns, int64_t wall_ns);

/* The records since the last reset, in the order they were started. */
const pp_timeline_record *pp_timeline_records(const pp_timeline *t, size_t *n);

/* Forgets the records (after a flush, with the aggregate's stacks); keeps the storage. */
void pp_timeline_reset(pp_timeline *t);

/* Observations refused because the timeline was full, since it was created. */
uint64_t pp_timeline_refused(const pp_timeline *t);

#endif
