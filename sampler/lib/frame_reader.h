/* Walks one thread's Python frames, leaf first, from its top frame: the PyFrameObject chain
 * (3.8-3.10) or the _PyInterpreterFrame chain (3.11+), skipping C-entry shim and interpreter
 * frames and frames that have not started yet. Bounded: at most max frames are resolved, the rest
 * are only counted, and the walk stops at PP_HARD_WALK_LIMIT frames or on a cycle.
 *
 * Threads run while they are read (on free-threaded builds truly in parallel), so a frame may be
 * read half-written: a code reference that is not one (NULL or a tagged int), or an instruction
 * pointer outside its code object's bytecode, fails the walk (the sample is dropped and
 * counted) rather than being attributed to the wrong line or function. */
#ifndef PODPROF_SAMPLER_FRAME_READER_H
#define PODPROF_SAMPLER_FRAME_READER_H

#include <stddef.h>
#include <stdint.h>

#include "aggregate.h"
#include "code_cache.h"
#include "resolve_memo.h"
#include "runtime.h"
#include "stack_snapshot.h"

#define PP_HARD_WALK_LIMIT 16384

typedef enum {
    PP_WALK_OK = 0,
    PP_WALK_READ_FAILED = -1, /* a frame or code object could not be read, or was torn */
    PP_WALK_CYCLE = -2,       /* the chain loops (torn read) */
    PP_WALK_CUT = -3,         /* the chain ends short of the thread's first frame (torn read) */
} pp_walk_result;

/* Room for one walk: the resolved frames and, per frame, what was read before resolving it. */
typedef struct pp_walk_buf {
    size_t cap;       /* frames resolved at most (DD_PROFILING_MAX_FRAMES) */
    pp_frame *frames; /* resolved, leaf first */
    uintptr_t *code;  /* code object */
    uintptr_t *where; /* instruction pointer (3.11+) or f_lasti (3.8-3.10) */
    uint8_t *owner;   /* frame owner (3.11+) */
    int32_t *tlbc;    /* index of the thread-local bytecode copy (free-threaded 3.14+) */
    const pp_code_info **verified; /* scratch: the code cache's entry verified in this pass */
    pp_frame *resolved;            /* scratch: each raw frame resolved (memo only) */
    int8_t *result;                /* scratch: 1 emitted, 0 skipped, -1 unknown (memo only) */
    /* Optional (NULL: unused): what each thread's last stack resolved to, and the thread this
     * stack belongs to (its key there; 0: none). */
    pp_resolve_memo *memo;
    uint64_t memo_key;
    /* Optional (NULL: unused): the code object's name pointer when the frame was recorded. A
     * stack named later than it was recorded checks it, so a code object freed in between and
     * another allocated at its address is not mistaken for the original. */
    uintptr_t *name;
    /* Set by pp_walk_raw: whether the chain was followed to its end, and the owner of its oldest
     * frame there (3.11+). */
    int reached_end;
    uint8_t last_owner;
} pp_walk_buf;

int pp_walk_buf_init(pp_walk_buf *b, size_t cap);
void pp_walk_buf_free(pp_walk_buf *b);

/* Fills b->frames[0..*n) leaf first and *omitted with the frames beyond b->cap. Frames are read
 * through snap; the code objects of the whole stack are then verified together, so the stack
 * costs a few reads rather than two per frame. Another thread's chain read while it changes may
 * end short of the thread's first frame: PP_WALK_CUT (a thread walking its own stack with
 * pp_walk_raw sees it whole and is not checked). */
pp_walk_result pp_walk_frames(const pp_runtime *rt, pp_code_cache *cache, pp_stack_snapshot *snap,
                              uintptr_t top, pp_walk_buf *b, size_t *n, size_t *omitted);

/* The two halves of pp_walk_frames, for a thread that walks its own stack (it owns its frames,
 * so it reads them with plain loads and leaves naming them to the sampler thread).
 * pp_walk_raw follows the chain from top with view(ctx, scratch, addr, len), which returns where
 * the len bytes at addr can be read (in place when they are already in memory the reader owns,
 * else copied into scratch; NULL when unreadable), and keeps what naming needs in
 * b->code/where/owner[0..*raw) (and b->name, when given, read from each code object); b->frames is
 * not used. */
typedef const void *(*pp_frame_view_fn)(void *ctx, void *scratch, uintptr_t addr, size_t len);
pp_walk_result pp_walk_raw(const pp_py_layout *l, pp_frame_view_fn view, void *ctx, uintptr_t top,
                           pp_walk_buf *b, size_t *raw, size_t *omitted);
/* Names raw frames b->code/where/owner[0..raw) into b->frames[0..*n) through the code cache. A
 * frame whose code object cannot be read fails the walk, or, when unknown is given, is named
 * *unknown (a stack recorded earlier may outlive a module body's code object). */
pp_walk_result pp_walk_resolve(const pp_runtime *rt, pp_code_cache *cache, pp_walk_buf *b,
                               size_t raw, const pp_frame *unknown, size_t *n);

#endif
