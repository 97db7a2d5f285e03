/* Walks one thread's Python frames, leaf first, from its top frame: the PyFrameObject chain
 * (3.8-3.10) or the _PyInterpreterFrame chain (3.11+), skipping C-entry shim frames and frames
 * that have not started yet. Bounded: at most max frames are resolved, the rest are only counted,
 * and the walk stops at PP_HARD_WALK_LIMIT frames or on a cycle. */
#ifndef PODPROF_SAMPLER_FRAME_READER_H
#define PODPROF_SAMPLER_FRAME_READER_H

#include <stddef.h>
#include <stdint.h>

#include "aggregate.h"
#include "code_cache.h"
#include "runtime.h"
#include "stack_snapshot.h"

#define PP_HARD_WALK_LIMIT 16384

typedef enum {
    PP_WALK_OK = 0,
    PP_WALK_READ_FAILED = -1, /* a frame or code object could not be read */
    PP_WALK_CYCLE = -2,       /* the chain loops (torn read) */
} pp_walk_result;

/* Fills out[0..*n) leaf first and *omitted with the frames beyond max. Frames are taken from
 * snap when it holds them (NULL: every frame is read). */
pp_walk_result pp_walk_frames(const pp_runtime *rt, pp_code_cache *cache,
                              const pp_stack_snapshot *snap, uintptr_t top, pp_frame *out,
                              size_t max, size_t *n, size_t *omitted);

#endif
