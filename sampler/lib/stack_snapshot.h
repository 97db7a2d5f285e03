/* The memory one thread's walk reads, copied in a few large reads instead of one per frame.
 * 3.11+: most _PyInterpreterFrames live in the thread's data-stack chunks; copying the used part
 * of each chunk in one read gives a near-consistent picture of the whole stack. Everything else
 * (3.8-3.10 PyFrameObjects, generator frames) is read through the snapshot too: what a walk of a
 * thread read is remembered, merged into a few spans (read_plan.h), and the next walk of that
 * thread copies them all in one read before it starts, so a stack that stays put costs one read
 * per pass. A read the copies do not hold copies its whole page, which the allocator has usually
 * filled with the next frames too; a page is readable as a whole or not at all, so copying it
 * fails only where the frame read would have. */
#ifndef PODPROF_SAMPLER_STACK_SNAPSHOT_H
#define PODPROF_SAMPLER_STACK_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>

#include "read_plan.h"
#include "safe_read.h"

/* Per thread walk: copied ranges and bytes; beyond, reads go straight to memory. */
#define PP_SNAPSHOT_MAX_RANGES 96
#define PP_SNAPSHOT_MAX_BYTES (1u << 20)
/* At most this many older data-stack chunks are followed. */
#define PP_SNAPSHOT_MAX_CHUNKS 16
#define PP_SNAPSHOT_PAGE 4096
/* Reads of one walk remembered for the next walk of the same thread. */
#define PP_SNAPSHOT_MAX_TOUCHED 256
#define PP_SNAPSHOT_HINT_SPANS 64
/* Threads whose reads are remembered (by a hash of the thread; a collision only costs reads). */
#define PP_SNAPSHOT_HINT_SLOTS 256

/* Bytes beyond a walk's live data stack the next prefetch copies too, so a stack that grew by a
 * frame or two since is still copied with the thread state. */
#define PP_SNAPSHOT_GROWTH 512

typedef struct pp_snapshot_hint {
    uint64_t thread;
    uint32_t n;
    pp_span spans[PP_SNAPSHOT_HINT_SPANS];
    /* The data-stack chunk the last walk read, and how much of it to prefetch (0: none). */
    uintptr_t chunk;
    size_t chunk_len;
    int speculate; /* walked the last time it was looked at: prefetch it with its thread state */
} pp_snapshot_hint;

/* Where a _PyStackChunk keeps its fields (from the layout row; 3.11+): byte offsets of the
 * previous chunk, the chunk's size in bytes (header included), the top index (in words, into
 * data) and the data. */
typedef struct pp_chunk_layout {
    int32_t previous, size, top, data;
} pp_chunk_layout;

/* What a copied range is: a data-stack chunk (copied every walk anyway), a span the thread's last
 * walk read (remembered whole when this walk reads it again), or pages a read missed. */
enum { PP_RANGE_DATASTACK = 1, PP_RANGE_REMEMBERED, PP_RANGE_PAGE };

typedef struct pp_stack_snapshot {
    struct {
        uintptr_t start;
        size_t len;
        size_t at;       /* offset of the copy in buf */
        uint8_t kind;    /* PP_RANGE_* */
        uint8_t touched; /* PP_RANGE_REMEMBERED: read by this walk */
    } ranges[PP_SNAPSHOT_MAX_RANGES];
    size_t n_ranges, used;
    size_t last_range; /* the range the last read was found in (< n_ranges, or 0) */
    uint8_t *buf;      /* PP_SNAPSHOT_MAX_BYTES */
    pp_span touched[PP_SNAPSHOT_MAX_TOUCHED];
    size_t n_touched;
    uint64_t thread;    /* the thread being walked (0: none) */
    int prefetched;     /* its copies were taken with its thread state */
    int walked;         /* pp_snapshot_take was called for it */
    long chunk_range;   /* the range holding its current data-stack chunk (-1: none) */
    uintptr_t chunk_at; /* that chunk, and what to prefetch of it next time */
    size_t chunk_guess;
    pp_snapshot_hint *hints; /* PP_SNAPSHOT_HINT_SLOTS */
    pp_chunk_layout chunk;
} pp_stack_snapshot;

int pp_snapshot_init(pp_stack_snapshot *s, pp_chunk_layout chunk);
void pp_snapshot_free(pp_stack_snapshot *s);

/* Starts the walk of thread (any nonzero id stable for the thread's life): remembers what the
 * previous walk read, forgets the copies, then copies what this thread's last walk read and the
 * live part of the current data-stack chunk (at chunk, live data ending at top; 0, 0: no chunks)
 * in one read, then the older chunks. Never fails: whatever cannot be copied is simply absent. */
void pp_snapshot_take(pp_stack_snapshot *s, uint64_t thread, uintptr_t chunk, uintptr_t top);
/* Reads the caller's requests head[0..n_head) (at most PP_SNAPSHOT_MAX_HEAD: the thread's state,
 * and what else the caller needs of the thread at the same moment), setting each one's ok, and,
 * when the thread was walked the last time it was looked at, copies in the same system call what
 * its walk is expected to read: the spans its last walk read and its last data-stack chunk, up to
 * a little beyond the live part then. The pp_snapshot_take of the same thread that follows (with
 * what the thread state says now) keeps the chunk's copy when it is the live chunk and holds its
 * live part, else copies it again: either way the chunk and the thread state are copied within
 * microseconds of each other, and the walk needs one system call less. A thread not walked after
 * its prefetch (its stack reused) is not prefetched again until it is walked. Returns 0 when
 * head[0] arrived. */
#define PP_SNAPSHOT_MAX_HEAD 2
int pp_snapshot_prefetch(pp_stack_snapshot *s, uint64_t thread, pp_read_req *head, size_t n_head);
/* The same, for a thread whose stack the caller expects to reuse: reads head[0..n_head) only. */
int pp_snapshot_prefetch_head(pp_stack_snapshot *s, uint64_t thread, pp_read_req *head,
                              size_t n_head);

/* Copies len bytes at addr from the snapshot when it holds them, else copies their pages into
 * it (or, when full, reads them directly). 0 on success, -1 when the memory is unreadable. */
int pp_snapshot_read(pp_stack_snapshot *s, void *dst, uintptr_t addr, size_t len);
/* The same read without copying what the snapshot holds: where the len bytes at addr can be read,
 * in the snapshot's own copy when it holds them, else in scratch (len bytes), where they are
 * copied as by pp_snapshot_read; NULL when the memory is unreadable. Valid until the snapshot is
 * taken again. */
const void *pp_snapshot_view_slow(pp_stack_snapshot *s, void *scratch, uintptr_t addr, size_t len);
/* Whether copied range i holds [addr, addr + len). */
static inline int pp_snapshot_holds(const pp_stack_snapshot *s, size_t i, uintptr_t addr,
                                    size_t len)
{
    uintptr_t start = s->ranges[i].start;
    return addr >= start && addr - start <= s->ranges[i].len &&
           len <= s->ranges[i].len - (addr - start);
}

static inline const void *pp_snapshot_view(pp_stack_snapshot *s, void *scratch, uintptr_t addr,
                                           size_t len)
{
    /* A walk reads its frames from one data-stack chunk in a row: the range of the last read is
     * tried first (a data-stack range needs no note of what was read). */
    size_t last = s->last_range;
    if (last < s->n_ranges && s->ranges[last].kind == PP_RANGE_DATASTACK &&
        pp_snapshot_holds(s, last, addr, len))
        return s->buf + s->ranges[last].at + (addr - s->ranges[last].start);
    return pp_snapshot_view_slow(s, scratch, addr, len);
}

#endif
