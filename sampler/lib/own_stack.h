/* A hook's capture of the calling thread's own Python stack into a ring record (alloc_ring.h),
 * shared by every in-process hook that records samples on application threads (allocations,
 * raised exceptions). The thread reads its own frames with plain loads: it holds the GIL (or, on
 * a free-threaded build, is the only thread that changes its frames), so they cannot change
 * under it. No syscall (but once per thread on versions whose thread state lacks the native
 * id), no allocation, no Python API. */
#ifndef PODPROF_SAMPLER_OWN_STACK_H
#define PODPROF_SAMPLER_OWN_STACK_H

#include "alloc_ring.h"
#include "py_layout.h"

/* Fills rec's thread ids and raw frames (n_raw 0 when tstate is NULL or the walk fails). */
void pp_own_stack_capture(const pp_py_layout *layout, void *tstate, pp_alloc_record *rec,
                          size_t max_frames);

#endif
