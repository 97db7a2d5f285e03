/* Storage of the per-thread resolution memo (resolve_memo.h). */
#include "resolve_memo.h"

#include <stdlib.h>

#include "spread_hash.h"

/* Threads remembered at most (by a hash of the thread: a collision only costs resolving). */
#define MAX_SLOTS 64

/* Bytes of one remembered frame across a slot's arrays. */
#define FRAME_BYTES                                                                                \
    (3 * sizeof(uintptr_t) + sizeof(const pp_code_info *) + sizeof(uint64_t) + sizeof(pp_frame) +  \
     2 * sizeof(uint8_t))

struct pp_resolve_memo {
    size_t cap, n_slots;
    pp_resolve_slot slots[MAX_SLOTS];
    void *storage;
};

pp_resolve_memo *pp_resolve_memo_new(size_t max_frames)
{
    if (max_frames == 0)
        return NULL;
    pp_resolve_memo *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->cap = max_frames;
    size_t per_slot = max_frames * FRAME_BYTES;
    m->n_slots = PP_RESOLVE_MEMO_BYTES / per_slot;
    if (m->n_slots > MAX_SLOTS)
        m->n_slots = MAX_SLOTS;
    if (m->n_slots < 1)
        m->n_slots = 1;
    m->storage = calloc(m->n_slots, per_slot);
    if (!m->storage) {
        free(m);
        return NULL;
    }
    /* arrays of 8-byte elements first, then the frames (4-byte fields), then bytes: each stays
     * aligned */
    for (size_t i = 0; i < m->n_slots; i++) {
        pp_resolve_slot *s = &m->slots[i];
        s->cap = s->held_from = s->emitted_from = max_frames;
        s->code = (uintptr_t *)((char *)m->storage + i * per_slot);
        s->where = s->code + max_frames;
        s->name = s->where + max_frames;
        s->entry = (const pp_code_info **)(s->name + max_frames);
        s->fill = (uint64_t *)(s->entry + max_frames);
        s->frame = (pp_frame *)(s->fill + max_frames);
        s->owner = (uint8_t *)(s->frame + max_frames);
        s->emitted = s->owner + max_frames;
    }
    return m;
}

void pp_resolve_memo_free(pp_resolve_memo *m)
{
    if (!m)
        return;
    free(m->storage);
    free(m);
}

pp_resolve_slot *pp_resolve_memo_slot(pp_resolve_memo *m, uint64_t key)
{
    return &m->slots[pp_spread(key, 32) % m->n_slots];
}

size_t pp_resolve_memo_cap(const pp_resolve_memo *m)
{
    return m->cap;
}
