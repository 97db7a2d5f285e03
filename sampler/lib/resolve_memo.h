/* What each thread's last stack resolved to, frame by frame, so that the frames a new stack of the
 * same thread shares with it, its stable tail (the callers below the frames that changed: in most
 * services nearly all of them), are not verified and resolved again. The stacks are lined up on
 * their oldest frame, so the tail lines up even when the thread went a frame deeper or shallower.
 *
 * A frame's resolution depends only on what was read from it (code object, instruction pointer,
 * owner, and for a recorded stack the code object's name pointer) and on the code cache's entry
 * for its code object. So a remembered resolution is reused only when all of these are equal and
 * the entry is the same fill of the cache (not evicted and refilled since, for another code
 * object at the same address or a new string generation) and was verified against the live code
 * object in the current pass. Builds with thread-local bytecode (whose frames name a copy of the
 * bytecode read fresh per frame) are resolved afresh. */
#ifndef PODPROF_SAMPLER_RESOLVE_MEMO_H
#define PODPROF_SAMPLER_RESOLVE_MEMO_H

#include <stddef.h>
#include <stdint.h>

#include "aggregate.h"
#include "code_cache.h"

/* Memory for the remembered resolutions, whatever DD_PROFILING_MAX_FRAMES is. */
#define PP_RESOLVE_MEMO_BYTES (512u << 10)

typedef struct pp_resolve_memo pp_resolve_memo;

/* One thread's last resolved stack: its n raw frames leaf first, as pp_walk_buf holds them, and
 * what each resolved to, at the end of each array of cap (frame i at cap - n + i): the oldest
 * frame is always last, so a stack of another depth lines up with it without moving anything. */
typedef struct pp_resolve_slot {
    uint64_t key; /* the thread (0: empty) */
    size_t n, cap;
    /* When it was remembered: the code cache's verification pass and how many entries the cache
     * had filled (pp_code_cache_pass, pp_code_cache_misses). While both are unchanged, every
     * entry the slot holds is still the one it resolved with, and verified. */
    uint64_t pass, fills;
    /* The frames at [held_from, cap) all have an entry and at [emitted_from, cap) were all
     * emitted: a tail within them is reused without visiting each frame's flags (its frames
     * copied as a block). */
    size_t held_from, emitted_from;
    uintptr_t *code, *where;
    uintptr_t *name; /* the entry's name pointer (what a recorded stack's name is checked with) */
    uint8_t *owner;
    const pp_code_info **entry; /* the code cache's entry it resolved with; NULL: not reusable */
    uint64_t *fill;             /* that entry's fill (pp_code_info.fill) */
    pp_frame *frame;
    uint8_t *emitted; /* 1: frame emitted, 0: skipped (a frame being set up) */
} pp_resolve_slot;

/* Slots hold up to max_frames raw frames each; NULL when out of memory. */
pp_resolve_memo *pp_resolve_memo_new(size_t max_frames);
void pp_resolve_memo_free(pp_resolve_memo *m);

/* The slot for key: its last stack when slot->key == key, else one to overwrite. */
pp_resolve_slot *pp_resolve_memo_slot(pp_resolve_memo *m, uint64_t key);

/* Frames one slot holds at most. */
size_t pp_resolve_memo_cap(const pp_resolve_memo *m);

#endif
