#include "stack_memo.h"

#include <stdlib.h>
#include <string.h>

#include "spread_hash.h"

typedef struct {
    pp_stack_memo_key key;
    uint64_t span, pass, generation;
    size_t n, omitted;
} entry;

struct pp_stack_memo {
    size_t max_frames, slots;
    entry *entries;
    pp_frame *frames; /* slots x max_frames */
};

pp_stack_memo *pp_stack_memo_new(size_t max_frames)
{
    pp_stack_memo *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->max_frames = max_frames;
    m->slots = PP_STACK_MEMO_BYTES / (max_frames * sizeof(pp_frame));
    if (m->slots > 512)
        m->slots = 512;
    if (m->slots < 1)
        m->slots = 1;
    m->entries = calloc(m->slots, sizeof *m->entries);
    m->frames = calloc(m->slots * max_frames, sizeof *m->frames);
    if (!m->entries || !m->frames) {
        pp_stack_memo_free(m);
        return NULL;
    }
    return m;
}

void pp_stack_memo_free(pp_stack_memo *m)
{
    if (!m)
        return;
    free(m->entries);
    free(m->frames);
    free(m);
}

static size_t slot_of(const pp_stack_memo *m, int32_t tid)
{
    return (size_t)(pp_spread((uint32_t)tid, 32) % m->slots);
}

static int same_key(const pp_stack_memo_key *a, const pp_stack_memo_key *b)
{
    return a->tid == b->tid && a->thread_id == b->thread_id && a->tstate == b->tstate &&
           a->top_frame == b->top_frame;
}

const pp_frame *pp_stack_memo_get(pp_stack_memo *m, const pp_stack_memo_key *key, uint64_t span,
                                  uint64_t pass, uint64_t generation, size_t *n, size_t *omitted)
{
    size_t i = slot_of(m, key->tid);
    entry *e = &m->entries[i];
    if (e->pass == 0 || e->pass + 1 != pass || e->generation != generation ||
        !same_key(&e->key, key) || (span && e->span != span))
        return NULL;
    e->pass = pass;
    *n = e->n;
    *omitted = e->omitted;
    return m->frames + i * m->max_frames;
}

uint64_t pp_stack_memo_span(const pp_stack_memo *m, int32_t tid, uint64_t pass)
{
    const entry *e = &m->entries[slot_of(m, tid)];
    return e->pass != 0 && e->pass + 1 == pass && e->key.tid == tid ? e->span : 0;
}

void pp_stack_memo_put(pp_stack_memo *m, const pp_stack_memo_key *key, uint64_t span, uint64_t pass,
                       uint64_t generation, const pp_frame *frames, size_t n, size_t omitted)
{
    if (n > m->max_frames)
        return;
    size_t i = slot_of(m, key->tid);
    entry *e = &m->entries[i];
    e->key = *key;
    e->span = span;
    e->pass = pass;
    e->generation = generation;
    e->n = n;
    e->omitted = omitted;
    memcpy(m->frames + i * m->max_frames, frames, n * sizeof *frames);
}
