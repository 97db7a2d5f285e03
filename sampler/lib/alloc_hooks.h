/* The allocator wrappers of the memory profiles: PyMem_SetAllocator hooks for the OBJ domain
 * (and MEM when asked) that forward every call to the allocator they wrap, as tracemalloc's do.
 *
 * Unsampled calls cost a thread-local countdown of bytes (and, for frees, one bit test of the
 * live-heap table). When the countdown crosses zero (Poisson sampling by bytes,
 * byte_sampling.h) the allocating thread records its own Python stack by reading its own frames
 * with plain loads (it holds the GIL, so they cannot change; no syscall, no allocation, no Python
 * API), puts the record on the ring for the sampler thread to name, and, with the live heap on,
 * tracks the address until it is freed. The RAW domain is never wrapped: it runs without a thread
 * state (no stack to attribute) and swapping it at run time races with threads already in it. */
#ifndef PODPROF_SAMPLER_ALLOC_HOOKS_H
#define PODPROF_SAMPLER_ALLOC_HOOKS_H

#include <stdbool.h>
#include <stddef.h>

#include "alloc_ring.h"
#include "live_heap.h"
#include "runtime.h"

typedef struct pp_alloc_hooks_options {
    double mean_bytes;   /* mean distance between samples (DD_PROFILING_HEAP_SAMPLE_SIZE) */
    bool heap;           /* track sampled allocations until freed */
    bool mem_domain;     /* also wrap PYMEM_DOMAIN_MEM */
    size_t max_frames;   /* frames recorded per sample */
    size_t ring_records; /* samples in flight to the sampler thread */
    size_t heap_slots;   /* live allocations tracked at most */
} pp_alloc_hooks_options;

/* Sampler thread, before pp_inproc_schedule: preallocates the ring and table and registers the
 * installer with inproc_hooks. -1 (one log line) when out of memory. */
int pp_alloc_hooks_setup(const pp_runtime *rt, const pp_alloc_hooks_options *opt);

/* NULL before setup; the heap is NULL when not tracked. */
pp_alloc_ring *pp_alloc_hooks_ring(void);
pp_live_heap *pp_alloc_hooks_heap(void);
/* 1 once the wrappers are installed. */
int pp_alloc_hooks_installed(void);

#endif
