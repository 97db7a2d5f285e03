/* A hook's capture of the calling thread's own Python stack into a ring record (alloc_ring.h),
 * shared by every in-process hook that records samples on application threads (allocations,
 * raised exceptions). The thread reads its own frames with plain loads: it holds the GIL (or, on
 * a free-threaded build, is the only thread that changes its frames), so they cannot change
 * under it. No syscall (but before the sampler has found glibc's record of a thread's tid, on
 * versions whose thread state lacks the native id), no allocation, no Python API. */
#ifndef PODPROF_SAMPLER_OWN_STACK_H
#define PODPROF_SAMPLER_OWN_STACK_H

#include "alloc_ring.h"
#include "py_layout.h"
#include "runtime.h"

/* Fills rec's thread ids and raw frames (n_raw 0 when tstate is NULL or the walk fails). */
void pp_own_stack_capture(const pp_py_layout *layout, void *tstate, pp_alloc_record *rec,
                          size_t max_frames);

/* What a hook on a thread that may have released the GIL (it waits for the GIL or a lock) needs:
 * its thread state, from PyGILState_GetThisThreadState (a thread-specific key, valid while the
 * thread does not hold the GIL, unlike PyThreadState_GetUnchecked), and whether the interpreter
 * finalizes (it frees the thread states of daemon threads still waiting). */
typedef struct pp_waiter_api {
    void *(*this_thread)(void);
    int (*finalizing)(void);
} pp_waiter_api;

/* Resolves api in rt's interpreter; -1 (one log line naming what for) when a function is
 * missing. */
int pp_waiter_api_resolve(const pp_runtime *rt, pp_waiter_api *api, const char *what);

/* A record of ring holding the calling thread's stack, for the caller to fill in and publish;
 * NULL once the interpreter finalizes, when the ring is full, or, with python_only, when the
 * thread runs no Python frame (it has no thread state, or it starts or ends: CPython's own C code
 * then, e.g. releasing a thread's lock when it exits). */
pp_alloc_record *pp_own_stack_claim(pp_alloc_ring *ring, const pp_py_layout *layout,
                                    const pp_waiter_api *api, int python_only);

#endif
