/* The last stack recorded for each thread, reused while the thread has not run. A thread whose
 * CPU clock has not moved since the previous pass executed nothing, so its frames are the ones
 * already read (only the thread itself pushes or pops them): idle threads (pools waiting for work,
 * I/O, sleeps) then cost a clock read and a thread-state read per pass, not a stack walk. So does
 * a thread that has stayed inside one wait for the GIL (its clock moves at each timed wake-up, its
 * frames do not): the GIL wait span word read before its walk (gil_spans.h) is kept with the
 * stack, and the same open word read again proves the wait never ended in between. The stack is
 * reused only for the same thread state, thread id and top frame, seen in the previous pass, with
 * the interned strings of the same generation. */
#ifndef PODPROF_SAMPLER_STACK_MEMO_H
#define PODPROF_SAMPLER_STACK_MEMO_H

#include <stddef.h>
#include <stdint.h>

#include "aggregate.h"

/* Memory for the remembered frames, whatever DD_PROFILING_MAX_FRAMES is. */
#define PP_STACK_MEMO_BYTES (2u << 20)

typedef struct pp_stack_memo pp_stack_memo;

typedef struct pp_stack_memo_key {
    int32_t tid;
    uint64_t thread_id;
    uintptr_t tstate, top_frame;
} pp_stack_memo_key;

pp_stack_memo *pp_stack_memo_new(size_t max_frames);
void pp_stack_memo_free(pp_stack_memo *m);

/* The frames recorded for this thread in pass - 1 under the same key and generation, or NULL.
 * span: 0 for a thread that has not run; else the open GIL wait span word read now, which must be
 * the one read before the remembered walk. */
const pp_frame *pp_stack_memo_get(pp_stack_memo *m, const pp_stack_memo_key *key, uint64_t span,
                                  uint64_t pass, uint64_t generation, size_t *n, size_t *omitted);

/* The GIL wait span word remembered with the frames recorded for thread tid in pass - 1 (0: none
 * or no such frames): when the thread's span word is still this one, its stack will be reused. */
uint64_t pp_stack_memo_span(const pp_stack_memo *m, int32_t tid, uint64_t pass);

/* Records the frames read for this thread in pass; span is the GIL wait span word read before
 * the walk (0: none open). */
void pp_stack_memo_put(pp_stack_memo *m, const pp_stack_memo_key *key, uint64_t span, uint64_t pass,
                       uint64_t generation, const pp_frame *frames, size_t n, size_t omitted);

#endif
