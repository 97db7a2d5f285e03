/* The stack a thread had when it began to wait for the GIL, kept by the thread itself.
 *
 * A thread that has just lost the GIL waits in take_gil, and its stack does not change until it
 * runs again (gil_spans.h). The sampler must still walk it once in each wait, because it may have
 * run since the last walk: before 3.11 that is one cross-core copy of each of its 50 frame
 * objects, which is most of a pass's cost when several threads take turns at the GIL. The thread
 * itself reads the same frames from its own cache in a fraction of a microsecond. So, when it
 * opens a wait span, it copies its raw stack (own_stack.h: code objects, instruction offsets,
 * name pointers) into a slot of this table tagged with the span's word, and the sampler, seeing
 * that same word open, names the copy instead of walking (what it names is what a walk would
 * read: the stack in that wait). A thread copies at most once per PP_SPAN_STACK_GAP_NS, so a
 * thread that waits for the GIL thousands of times a second pays for a few hundred copies at most;
 * a wait with no copy is walked as before.
 *
 * Slots are indexed by kernel tid; each is a sequence lock (odd while its writer fills it): a
 * writer that finds its slot being written skips the copy, and the sampler takes a copy only
 * when the sequence did not move while it read it. */
#ifndef PODPROF_SAMPLER_SPAN_STACKS_H
#define PODPROF_SAMPLER_SPAN_STACKS_H

#include <stddef.h>
#include <stdint.h>

#include "alloc_ring.h"
#include "own_stack.h"
#include "py_layout.h"

#define PP_SPAN_STACK_SLOTS 64u
/* Deeper stacks (a larger DD_PROFILING_MAX_FRAMES) are not copied: the table stays small. */
#define PP_SPAN_STACK_MAX_FRAMES 256u
/* The shortest time between two copies by one thread. */
#define PP_SPAN_STACK_GAP_NS 1000000

/* Sampler thread, once, before the GIL hook can run: the table for stacks of max_frames frames
 * (the sampler's). -1 (and no copies ever) when out of memory or max_frames is too large. */
int pp_span_stacks_setup(const pp_py_layout *layout, const pp_waiter_api *api, size_t max_frames);

/* Application thread, having just opened the GIL wait span word at now_ns (CLOCK_MONOTONIC),
 * holding the GIL's mutex: copies its stack into its slot unless it copied one less than
 * PP_SPAN_STACK_GAP_NS ago. */
void pp_span_stack_capture(uint64_t word, int64_t now_ns);

/* What the sampler takes of a slot: the raw stack and who it belongs to. */
typedef struct pp_span_stack {
    uintptr_t tstate;
    uintptr_t top; /* the thread state's frame field (top_frame of threads.h) */
    pp_alloc_record *rec;
} pp_span_stack;

/* Sampler thread: gives out's record room for max_frames raw frames; -1 when out of memory. */
int pp_span_stack_init(pp_span_stack *out, size_t max_frames);
void pp_span_stack_free(pp_span_stack *out);

/* Sampler thread: copies into out the stack thread tid copied when it opened span word (an open
 * word read from gil_spans.h); 0, or -1 when its slot holds no whole copy of that span. */
int pp_span_stack_take(int32_t tid, uint64_t word, pp_span_stack *out);

#endif
