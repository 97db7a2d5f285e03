/* Enumerates every thread state of every interpreter, without the GIL. Each list is bounded
 * (PP_MAX_INTERPRETERS, PP_MAX_THREADS) and checked for cycles; a thread state whose interp
 * back-pointer does not match is a torn read and is skipped. */
#ifndef PODPROF_SAMPLER_THREADS_H
#define PODPROF_SAMPLER_THREADS_H

#include <stddef.h>
#include <stdint.h>

#include "runtime.h"

#define PP_MAX_INTERPRETERS 64
#define PP_MAX_THREADS 4096

typedef struct pp_thread_view {
    uintptr_t tstate;
    uintptr_t interp;
    int64_t interp_id;
    uint64_t thread_id; /* pthread_t, as threading.get_ident() returns it */
    int32_t native_id;  /* kernel tid, 0 when the version does not record it */
    /* The youngest frame; on 3.11 and 3.12 the thread's _PyCFrame instead, and top_frame_at the
     * address of its current_frame, which the walk reads with the rest of the stack (0: top_frame
     * is the frame itself). */
    uintptr_t top_frame, top_frame_at;
    uintptr_t datastack_chunk, datastack_top; /* 3.11+, 0 otherwise */
} pp_thread_view;

typedef struct pp_thread_walk_stats {
    uint32_t interpreters, threads, torn;
} pp_thread_walk_stats;

typedef void (*pp_thread_fn)(void *ctx, const pp_thread_view *t);

/* How a walk over the threads reads and what it calls, all with ctx. */
typedef struct pp_thread_walk {
    pp_read_fn read;        /* each interpreter's fields (NULL: pp_read) */
    pp_read_fn read_tstate; /* each thread state (NULL: pp_read) */
    pp_thread_fn fn;        /* called with each thread state, right after reading it */
    void *ctx;
} pp_thread_walk;

/* Calls w->fn for each thread state of the interpreters listed from interp_head (see
 * pp_runtime_state); returns -1 when the interpreter list itself is unreadable. */
int pp_for_each_thread(const pp_runtime *rt, uintptr_t interp_head, const pp_thread_walk *w,
                       pp_thread_walk_stats *st);

/* Reads the thread state at ts of interpreter interp into t (all but interp_id) with
 * read(ctx, ...) (NULL: pp_read), and its next pointer; -1 when unreadable or when its interp
 * back-pointer is not interp (a torn read). */
int pp_read_thread(const pp_runtime *rt, pp_read_fn read, void *ctx, uintptr_t ts, uintptr_t interp,
                   pp_thread_view *t, uintptr_t *next);

#endif
