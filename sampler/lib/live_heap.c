/* The bounded live-allocation table (live_heap.h). */
#include "live_heap.h"

#include <stdlib.h>

#define KEY_EMPTY ((uintptr_t)0)
#define KEY_FILLING ((uintptr_t)1)

pp_live_heap *pp_live_heap_new(size_t capacity)
{
    size_t buckets = 64;
    while (buckets * PP_HEAP_BUCKET_SLOTS < capacity)
        buckets *= 2;
    pp_live_heap *h = calloc(1, sizeof *h);
    if (!h)
        return NULL;
    h->n_buckets = buckets;
    h->keys = calloc(buckets * PP_HEAP_BUCKET_SLOTS, sizeof *h->keys);
    h->entries = calloc(buckets * PP_HEAP_BUCKET_SLOTS, sizeof *h->entries);
    h->held = calloc(buckets, sizeof *h->held);
    if (!h->keys || !h->entries || !h->held) {
        free(h->keys);
        free(h->entries);
        free(h->held);
        free(h);
        return NULL;
    }
    return h;
}

long pp_live_heap_insert(pp_live_heap *h, uintptr_t ptr, uint64_t size, uint64_t seq)
{
    size_t b = pp_live_heap_bucket(h, ptr);
    for (size_t i = b * PP_HEAP_BUCKET_SLOTS; i < (b + 1) * PP_HEAP_BUCKET_SLOTS; i++) {
        uintptr_t expected = KEY_EMPTY;
        if (!atomic_compare_exchange_strong(&h->keys[i], &expected, KEY_FILLING))
            continue;
        pp_heap_entry *e = &h->entries[i];
        e->size = size;
        e->seq = seq;
        atomic_store_explicit(&e->stack, -1, memory_order_relaxed);
        /* Counted before the address is published: a free of ptr comes after the allocation
         * returned, so it sees this count (and at most 8 slots keep it within a byte). */
        atomic_fetch_add(&h->held[b], 1);
        atomic_store_explicit(&h->keys[i], ptr, memory_order_release);
        atomic_fetch_add_explicit(&h->tracked, 1, memory_order_relaxed);
        return (long)i;
    }
    atomic_fetch_add_explicit(&h->dropped, 1, memory_order_relaxed);
    return -1;
}

void pp_live_heap_remove_slow(pp_live_heap *h, uintptr_t ptr, size_t b)
{
    for (size_t i = b * PP_HEAP_BUCKET_SLOTS; i < (b + 1) * PP_HEAP_BUCKET_SLOTS; i++) {
        uintptr_t expected = ptr;
        if (atomic_load_explicit(&h->keys[i], memory_order_relaxed) == ptr &&
            atomic_compare_exchange_strong(&h->keys[i], &expected, KEY_EMPTY)) {
            atomic_fetch_sub(&h->held[b], 1); /* after the address is gone */
            return;
        }
    }
}

uintptr_t pp_live_heap_key(const pp_live_heap *h, size_t i)
{
    uintptr_t k = atomic_load_explicit(&h->keys[i], memory_order_acquire);
    return k == KEY_FILLING ? KEY_EMPTY : k;
}
