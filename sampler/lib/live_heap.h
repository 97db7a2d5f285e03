/* The sampled allocations still live: a bounded, preallocated table keyed by address that
 * application threads update from allocator hooks (insert when an allocation is sampled, remove
 * on free/realloc) and the sampler thread reads at each profile's end.
 *
 * Lock-free and allocation-free after creation: buckets of 8 address slots (one cache line) that
 * an insert claims with a compare-and-swap and a remove clears; a full bucket drops the sample and
 * counts it. A free first reads its bucket's count of claimed slots (one byte per bucket, small
 * enough to stay in cache), so freeing an untracked block (nearly every free) costs one load. The
 * count is exact, never a hint: an insert raises it before it publishes the address and a remove
 * lowers it after it cleared the address, so a free of a tracked block always sees it above 0, with
 * no clean-up pass and no moment in which a tracked block could be missed. */
#ifndef PODPROF_SAMPLER_LIVE_HEAP_H
#define PODPROF_SAMPLER_LIVE_HEAP_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define PP_HEAP_BUCKET_SLOTS 8

/* What the table keeps per tracked allocation, besides its address. */
typedef struct pp_heap_entry {
    uint64_t size;
    uint64_t seq;       /* the capture record that described it (alloc_ring.h) */
    _Atomic long stack; /* the sampler's stack index for it, -1 until named */
} pp_heap_entry;

typedef struct pp_live_heap {
    size_t n_buckets;        /* power of two */
    _Atomic uintptr_t *keys; /* n_buckets * 8; 0 empty, 1 being filled */
    pp_heap_entry *entries;  /* parallel to keys */
    _Atomic uint8_t *held;   /* per bucket: slots claimed (filling or tracked) */
    _Atomic uint64_t dropped, tracked;
} pp_live_heap;

/* capacity: slots (rounded up to a power of two of buckets). NULL when out of memory. */
pp_live_heap *pp_live_heap_new(size_t capacity);

/* Inserts ptr; returns its slot, or -1 when its bucket is full (counted). */
long pp_live_heap_insert(pp_live_heap *h, uintptr_t ptr, uint64_t size, uint64_t seq);

/* Removes ptr if tracked: the hot path of every free. */
void pp_live_heap_remove_slow(pp_live_heap *h, uintptr_t ptr, size_t bucket);
static inline size_t pp_live_heap_bucket(const pp_live_heap *h, uintptr_t ptr)
{
    /* Blocks are at least 8-aligned; mix the rest so neighbours spread over buckets. */
    uint64_t x = (uint64_t)ptr >> 3;
    x *= 0x9e3779b97f4a7c15ULL;
    return (size_t)(x >> 32) & (h->n_buckets - 1);
}
static inline void pp_live_heap_remove(pp_live_heap *h, uintptr_t ptr)
{
    size_t b = pp_live_heap_bucket(h, ptr);
    if (atomic_load_explicit(&h->held[b], memory_order_relaxed))
        pp_live_heap_remove_slow(h, ptr, b);
}

/* The address in slot i: 0 when the slot holds nothing. */
uintptr_t pp_live_heap_key(const pp_live_heap *h, size_t i);
static inline size_t pp_live_heap_slots(const pp_live_heap *h)
{
    return h->n_buckets * PP_HEAP_BUCKET_SLOTS;
}

#endif
