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
    h->maybe = calloc(buckets / 64, sizeof *h->maybe);
    if (!h->keys || !h->entries || !h->maybe) {
        free(h->keys);
        free(h->entries);
        free((void *)h->maybe);
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
        /* The bit is set before the key is published, so a free of ptr that sees the key also
         * sees the bit (tidy clears a bit only after finding the bucket empty). */
        atomic_fetch_or(&h->maybe[b / 64], 1ULL << (b % 64));
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
            atomic_compare_exchange_strong(&h->keys[i], &expected, KEY_EMPTY))
            return;
    }
}

uintptr_t pp_live_heap_key(const pp_live_heap *h, size_t i)
{
    uintptr_t k = atomic_load_explicit(&h->keys[i], memory_order_acquire);
    return k == KEY_FILLING ? KEY_EMPTY : k;
}

static int bucket_empty(const pp_live_heap *h, size_t b)
{
    for (size_t i = b * PP_HEAP_BUCKET_SLOTS; i < (b + 1) * PP_HEAP_BUCKET_SLOTS; i++)
        if (atomic_load(&h->keys[i]) != KEY_EMPTY)
            return 0;
    return 1;
}

void pp_live_heap_tidy(pp_live_heap *h)
{
    for (size_t b = 0; b < h->n_buckets; b++) {
        uint64_t bit = 1ULL << (b % 64);
        /* A bucket that holds a key keeps its bit: a free that found it clear, even for a moment,
         * would leave its block in the table as live forever. */
        if (!(atomic_load(&h->maybe[b / 64]) & bit) || !bucket_empty(h, b))
            continue;
        /* An insert racing with this clear either set the bit after it, or is seen below and
         * the bit is set again (a free of that very block in between, nanoseconds after its
         * allocation was sampled, would be missed). */
        atomic_fetch_and(&h->maybe[b / 64], ~bit);
        if (!bucket_empty(h, b))
            atomic_fetch_or(&h->maybe[b / 64], bit);
    }
}
