/* Samples recorded on application threads (sampled allocations, raised exceptions) on their way
 * to the sampler thread that names their frames: a bounded ring of preallocated records, many
 * producers (any thread that allocates) and one consumer (the sampler thread), lock-free (each cell
 * carries a sequence number, in the manner of Vyukov's bounded queue). A full ring drops the sample
 * and counts it; a producer never waits. */
#ifndef PODPROF_SAMPLER_ALLOC_RING_H
#define PODPROF_SAMPLER_ALLOC_RING_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

typedef struct pp_alloc_record {
    _Atomic uint64_t turn; /* ring protocol */
    uint64_t seq;          /* unique per record, for the live-heap entry it describes */
    uintptr_t ptr;
    uint64_t size;
    uint64_t thread_id; /* pthread_self(), as threading.get_ident() */
    int32_t native_id;  /* kernel tid */
    int32_t heap_slot;  /* live-heap slot, -1 when not tracked */
    uint8_t domain;
    uint32_t n_raw, n_omitted;
    /* raw frames, leaf first (frame_reader.h's pp_walk_raw layout), max_frames each */
    uintptr_t *code, *where, *name;
    uint8_t *owner;
    int32_t *tlbc;
    char *label; /* label_bytes, NUL-terminated (e.g. the exception type); NULL when none */
} pp_alloc_record;

typedef struct pp_alloc_ring {
    size_t cap; /* power of two */
    size_t max_frames;
    size_t label_bytes;
    pp_alloc_record *cells;
    _Atomic uint64_t head; /* next position to claim */
    uint64_t tail;         /* next position to read (consumer only) */
    _Atomic uint64_t dropped;
    /* Called by the producer of every quarter ring's worth of records, so the consumer drains
     * before the ring fills even when its own schedule is slower. NULL: nobody to tell. */
    void (*filling)(void);
} pp_alloc_ring;

/* n records with room for max_frames raw frames and label_bytes of label (0: none) each, zeroed;
 * NULL when out of memory. */
pp_alloc_record *pp_alloc_records_new(size_t n, size_t max_frames, size_t label_bytes);
/* Frees what pp_alloc_records_new returned (NULL: nothing). */
void pp_alloc_records_free(pp_alloc_record *cells);

/* cap records (rounded up to a power of two) of max_frames frames and label_bytes of label (0:
 * none) each. */
pp_alloc_ring *pp_alloc_ring_new(size_t cap, size_t max_frames, size_t label_bytes);

/* Producer: a record to fill, or NULL when the ring is full (counted). */
pp_alloc_record *pp_alloc_ring_claim(pp_alloc_ring *r);
void pp_alloc_ring_publish(pp_alloc_ring *r, pp_alloc_record *rec);

/* Consumer: the oldest published record, or NULL; then pp_alloc_ring_release(). */
pp_alloc_record *pp_alloc_ring_peek(pp_alloc_ring *r);
void pp_alloc_ring_release(pp_alloc_ring *r, pp_alloc_record *rec);

/* In a fork child: the producers that were filling records are gone; start empty. */
void pp_alloc_ring_reset(pp_alloc_ring *r);

#endif
