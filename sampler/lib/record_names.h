/* The sampler thread's naming of a stack that a hook recorded on an application thread
 * (alloc_ring.h): resolves its raw frames into the profile being built, as one sample key. */
#ifndef PODPROF_SAMPLER_RECORD_NAMES_H
#define PODPROF_SAMPLER_RECORD_NAMES_H

#include <stdint.h>

#include "aggregate.h"
#include "alloc_ring.h"
#include "code_cache.h"
#include "frame_reader.h"
#include "runtime.h"

/* What naming a recorded stack needs from the sampler. */
typedef struct pp_record_namer {
    const pp_runtime *rt;
    pp_code_cache *codes; /* interns into agg */
    pp_walk_buf *walk;    /* room for max_frames resolved frames */
    pp_agg *agg;          /* the profile being built */
    pp_str (*thread_name)(void *ctx, uint64_t thread_id, int32_t native_id);
    void *ctx;
} pp_record_namer;

/* The thread the previous record of one drain was named for, and its name: a thread's records come
 * in runs (it holds the GIL for a while), and asking for a thread's name again right after, with
 * nothing asked in between, gives the same name. Zeroed at the start of a drain. */
typedef struct pp_record_run {
    uint64_t thread_id;
    int32_t native_id;
    int named;
    pp_str thread_name;
} pp_record_run;

/* room (its frames, scratch and memo) set to resolve rec's raw frames, under rec's thread. */
pp_walk_buf pp_record_walk_buf(const pp_walk_buf *room, const pp_alloc_record *rec);

/* rec's thread and stack as key (its frames in n->walk, valid until the next call; no label).
 * A record without a Python frame, or whose code objects are gone, gets one frame named
 * unnamed; returns 1 then, else 0. run: this drain's (see above). */
int pp_record_name(const pp_record_namer *n, const pp_alloc_record *rec, const char *unnamed,
                   pp_record_run *run, pp_sample_key *key);

/* What a profile fed by a hook's ring reports among the metadata's counters. */
typedef struct pp_record_counters {
    uint64_t samples; /* records named into profiles */
    uint64_t unnamed; /* of those, without a Python frame */
    uint64_t dropped; /* records the ring had no room for */
    int installed;    /* the hook is in place */
} pp_record_counters;

/* Names every record waiting in ring (as pp_record_name) and hands it with its key to add, which
 * sets a label if it has one and adds the values; then releases it. Counts the records in
 * c->samples and those without a Python frame in c->unnamed. */
typedef void (*pp_record_add_fn)(const pp_record_namer *n, const pp_alloc_record *rec,
                                 pp_sample_key *key);
void pp_record_drain(const pp_record_namer *n, pp_alloc_ring *ring, const char *unnamed,
                     pp_record_add_fn add, pp_record_counters *c);

/* drained's counts with ring's drops and installed: what the profile reports. */
pp_record_counters pp_record_counters_report(const pp_record_counters *drained, pp_alloc_ring *ring,
                                             int installed);

#endif
