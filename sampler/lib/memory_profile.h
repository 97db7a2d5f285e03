/* The sampler thread's half of the memory profiles: it names the stacks the allocator hooks
 * recorded (alloc_hooks.h) and turns them into the four memory sample types, in the order of
 * Datadog's profiler: alloc-space/bytes and alloc-samples/count for every sampled allocation of
 * the profile's interval, heap-space/bytes and heap-live-samples/count for the sampled allocations
 * still live at its end. Each is weighted by the inverse of its chance of being sampled
 * (byte_sampling.h), so sums estimate the true bytes and counts.
 *
 * The stacks of live allocations outlive profiles (and the sampler of a fork parent), so they are
 * kept in a store of their own, with its own strings, which a fork child inherits consistent: the
 * sampler holds a lock only while it changes the store, and pthread_atfork takes it around fork. */
#ifndef PODPROF_SAMPLER_MEMORY_PROFILE_H
#define PODPROF_SAMPLER_MEMORY_PROFILE_H

#include <stdint.h>

#include "config.h"
#include "record_names.h"
#include "runtime.h"

/* Sets the hooks up and registers their installer; once per process (a fork child keeps the
 * parent's). filling (may be NULL) is called from an allocating thread when recorded samples
 * pile up: it should wake the sampler thread to drain them (one write to a pipe). Returns the
 * sample types it adds as a pp_flush_info value_mask (0: none). */
uint32_t pp_memory_start(const pp_config *cfg, const pp_runtime *rt, void (*filling)(void));

/* Each pass: names what the hooks recorded since the last drain and adds the allocation values to
 * the profile. */
void pp_memory_drain(const pp_record_namer *n);

/* At a profile's end (after a drain): adds the live-heap values of every tracked allocation. */
void pp_memory_add_heap(const pp_record_namer *n);

/* Fork handlers, called by the library's own (preload.c orders them after the fork gate): the
 * store is never copied into a child in the middle of a change. prepare takes its lock; done
 * releases it, in the parent and in the child. Valid before and without pp_memory_start. */
void pp_memory_fork_prepare(void);
void pp_memory_fork_done(void);

/* Counters for the profile's metadata. */
typedef struct pp_memory_counters {
    pp_record_counters alloc; /* the allocation samples */
    uint64_t heap_tracked, heap_dropped, heap_live;
} pp_memory_counters;
void pp_memory_counters_get(pp_memory_counters *c);

#endif
