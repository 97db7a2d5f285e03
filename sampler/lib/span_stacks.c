/* The GIL waiters' own copies of their stacks (span_stacks.h). */
#include "span_stacks.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

typedef struct slot {
    _Atomic uint64_t seq; /* odd while its writer fills it */
    _Atomic uint64_t word;
    uintptr_t tstate, top;
    pp_alloc_record rec;
} slot;

static slot *slots; /* PP_SPAN_STACK_SLOTS, or NULL: off */
static size_t cap;
static pp_py_layout layout;
static pp_waiter_api api;

/* initial-exec: the library is preloaded, its TLS is static (no allocation, no lock) */
static __thread int64_t next_copy_ns __attribute__((tls_model("initial-exec")));

/* A fork child: a slot its writer was filling when the parent forked would stay odd for good. */
static void after_fork_child(void)
{
    for (size_t i = 0; slots && i < PP_SPAN_STACK_SLOTS; i++) {
        uint64_t q = atomic_load_explicit(&slots[i].seq, memory_order_relaxed);
        atomic_store_explicit(&slots[i].word, 0, memory_order_relaxed);
        atomic_store_explicit(&slots[i].seq, (q | 1) + 1, memory_order_relaxed);
    }
}

int pp_span_stacks_setup(const pp_py_layout *l, const pp_waiter_api *a, size_t max_frames)
{
    if (max_frames == 0 || max_frames > PP_SPAN_STACK_MAX_FRAMES)
        return -1;
    slot *t = calloc(PP_SPAN_STACK_SLOTS, sizeof *t);
    pp_alloc_record *recs = t ? pp_alloc_records_new(PP_SPAN_STACK_SLOTS, max_frames, 0) : NULL;
    if (!recs) {
        free(t);
        return -1;
    }
    for (size_t i = 0; i < PP_SPAN_STACK_SLOTS; i++)
        t[i].rec = recs[i];
    free(recs);
    layout = *l;
    api = *a;
    cap = max_frames;
    pthread_atfork(NULL, NULL, after_fork_child);
    slots = t;
    return 0;
}

static slot *slot_of(int32_t tid)
{
    return &slots[(uint32_t)tid % PP_SPAN_STACK_SLOTS];
}

void pp_span_stack_capture(uint64_t word, int64_t now_ns)
{
    if (!slots || !word || now_ns < next_copy_ns || api.finalizing())
        return;
    void *tstate = api.this_thread();
    if (!tstate)
        return;
    next_copy_ns = now_ns + PP_SPAN_STACK_GAP_NS;
    slot *s = slot_of((int32_t)(uint32_t)(word >> 32));
    uint64_t q = atomic_load_explicit(&s->seq, memory_order_relaxed);
    if ((q & 1) || !atomic_compare_exchange_strong_explicit(
                       &s->seq, &q, q + 1, memory_order_acquire, memory_order_relaxed))
        return; /* another thread of the same slot is filling it */
    /* the slot's old word is gone before its frames change */
    atomic_store_explicit(&s->word, 0, memory_order_relaxed);
    atomic_thread_fence(memory_order_release);
    s->tstate = (uintptr_t)tstate;
    memcpy(&s->top, (const void *)((uintptr_t)tstate + (uintptr_t)layout.ts_frame), sizeof s->top);
    pp_own_stack_capture(&layout, tstate, &s->rec, cap);
    atomic_store_explicit(&s->word, word, memory_order_relaxed);
    atomic_store_explicit(&s->seq, q + 2, memory_order_release);
}

int pp_span_stack_init(pp_span_stack *out, size_t max_frames)
{
    memset(out, 0, sizeof *out);
    out->rec = pp_alloc_records_new(1, max_frames, 0);
    return out->rec ? 0 : -1;
}

void pp_span_stack_free(pp_span_stack *out)
{
    pp_alloc_records_free(out->rec);
    memset(out, 0, sizeof *out);
}

int pp_span_stack_take(int32_t tid, uint64_t word, pp_span_stack *out)
{
    if (!slots || !word)
        return -1;
    slot *s = slot_of(tid);
    uint64_t q = atomic_load_explicit(&s->seq, memory_order_acquire);
    if ((q & 1) || atomic_load_explicit(&s->word, memory_order_relaxed) != word)
        return -1;
    pp_alloc_record *r = out->rec;
    out->tstate = s->tstate;
    out->top = s->top;
    r->thread_id = s->rec.thread_id;
    r->native_id = s->rec.native_id;
    r->n_raw = s->rec.n_raw < cap ? s->rec.n_raw : (uint32_t)cap; /* torn: checked below */
    r->n_omitted = s->rec.n_omitted;
    memcpy(r->code, s->rec.code, r->n_raw * sizeof *r->code);
    memcpy(r->where, s->rec.where, r->n_raw * sizeof *r->where);
    memcpy(r->name, s->rec.name, r->n_raw * sizeof *r->name);
    memcpy(r->owner, s->rec.owner, r->n_raw * sizeof *r->owner);
    memcpy(r->tlbc, s->rec.tlbc, r->n_raw * sizeof *r->tlbc);
    /* the copy is whole when no writer began since q was read */
    atomic_thread_fence(memory_order_acquire);
    return atomic_load_explicit(&s->seq, memory_order_relaxed) == q && r->native_id == tid ? 0 : -1;
}
