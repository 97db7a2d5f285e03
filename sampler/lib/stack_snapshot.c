#include "stack_snapshot.h"

#include <stdlib.h>
#include <string.h>

#include "safe_read.h"
#include "spread_hash.h"

/* Largest _PyStackChunk header read. */
#define CHUNK_HEADER_MAX 64

int pp_snapshot_init(pp_stack_snapshot *s, pp_chunk_layout chunk)
{
    memset(s, 0, sizeof *s);
    s->chunk = chunk;
    s->buf = malloc(PP_SNAPSHOT_MAX_BYTES);
    s->hints = calloc(PP_SNAPSHOT_HINT_SLOTS, sizeof *s->hints);
    if (!s->buf || !s->hints) {
        pp_snapshot_free(s);
        return -1;
    }
    return 0;
}

void pp_snapshot_free(pp_stack_snapshot *s)
{
    free(s->buf);
    free(s->hints);
    s->buf = NULL;
    s->hints = NULL;
}

static int has_room(const pp_stack_snapshot *s, size_t len)
{
    return s->buf && s->n_ranges < PP_SNAPSHOT_MAX_RANGES && len <= PP_SNAPSHOT_MAX_BYTES - s->used;
}

static void add_range(pp_stack_snapshot *s, uintptr_t start, size_t len, int kind)
{
    s->ranges[s->n_ranges].start = start;
    s->ranges[s->n_ranges].len = len;
    s->ranges[s->n_ranges].at = s->used;
    s->ranges[s->n_ranges].kind = (uint8_t)kind;
    s->ranges[s->n_ranges].touched = 0;
    s->n_ranges++;
    s->used += len;
}

/* 0 copied, -1 unreadable, -2 no room left */
static int copy_range(pp_stack_snapshot *s, uintptr_t start, size_t len, int kind)
{
    if (!has_room(s, len))
        return -2;
    if (pp_read(s->buf + s->used, start, len) != 0)
        return -1;
    add_range(s, start, len, kind);
    return 0;
}

static pp_snapshot_hint *hint_of(pp_stack_snapshot *s, uint64_t thread)
{
    return &s->hints[pp_spread(thread, 32) % PP_SNAPSHOT_HINT_SLOTS];
}

/* Ends the current thread's turn: what its walk read (if it was walked) is remembered for its
 * next walk; a thread prefetched but not walked (its stack was reused) is not prefetched again
 * until it is walked. */
static void finish_thread(pp_stack_snapshot *s)
{
    if (!s->thread || !s->hints)
        return;
    pp_snapshot_hint *h = hint_of(s, s->thread);
    if (!s->walked) {
        if (h->thread == s->thread)
            h->speculate = 0;
        return;
    }
    /* The remembered spans this walk read again are kept whole (already sorted and merged),
     * with what it read elsewhere merged in. */
    size_t n = 0;
    for (size_t i = 0; i < s->n_ranges && n < PP_SNAPSHOT_HINT_SPANS; i++)
        if (s->ranges[i].kind == PP_RANGE_REMEMBERED && s->ranges[i].touched)
            h->spans[n++] = (pp_span){s->ranges[i].start, s->ranges[i].len};
    if (s->n_touched) {
        for (size_t i = 0; i < n && s->n_touched < PP_SNAPSHOT_MAX_TOUCHED; i++)
            s->touched[s->n_touched++] = h->spans[i];
        n = pp_spans_merge_within(s->touched, s->n_touched, pp_read_merge_gap(),
                                  PP_SNAPSHOT_HINT_SPANS);
        memcpy(h->spans, s->touched, n * sizeof *h->spans);
    }
    h->thread = s->thread;
    h->n = (uint32_t)n;
    h->chunk = s->chunk_at;
    h->chunk_len = s->chunk_guess;
    h->speculate = 1;
}

static void start_thread(pp_stack_snapshot *s, uint64_t thread)
{
    finish_thread(s);
    s->n_ranges = 0;
    s->last_range = 0;
    s->used = 0;
    s->n_touched = 0;
    s->thread = thread;
    s->walked = 0;
    s->prefetched = 0;
    s->chunk_range = -1;
    s->chunk_at = 0;
    s->chunk_guess = 0;
}

/* Copies, in one system call: head[0..n_head) (the caller's own requests, first), the spans this
 * thread's last walk read, and [chunk, chunk + chunk_len) (chunk_len 0: none) as a data-stack
 * range. Returns whether the chunk arrived (0 when none was asked). */
static int copy_remembered(pp_stack_snapshot *s, pp_read_req *head, size_t n_head, uintptr_t chunk,
                           size_t chunk_len)
{
    pp_snapshot_hint *h = s->thread ? hint_of(s, s->thread) : NULL;
    uint32_t spans = h && h->thread == s->thread ? h->n : 0;
    pp_read_req reqs[PP_SNAPSHOT_MAX_HEAD + PP_SNAPSHOT_HINT_SPANS + 1];
    size_t n = 0, at = s->used, first = n_head;
    for (; n < n_head; n++)
        reqs[n] = head[n];
    for (uint32_t i = 0; i < spans && n + 1 < first + PP_SNAPSHOT_MAX_RANGES - s->n_ranges; i++) {
        if (h->spans[i].len > PP_SNAPSHOT_MAX_BYTES - at)
            break;
        reqs[n++] = (pp_read_req){s->buf + at, h->spans[i].addr, h->spans[i].len, 0};
        at += h->spans[i].len;
    }
    int chunk_asked = chunk_len > 0 && chunk_len <= PP_SNAPSHOT_MAX_BYTES - at;
    if (chunk_asked)
        reqs[n++] = (pp_read_req){s->buf + at, chunk, chunk_len, 0};
    pp_read_many(reqs, n);
    for (size_t i = 0; i < n_head; i++)
        head[i].ok = reqs[i].ok;
    for (size_t i = first; i < n; i++) {
        int datastack = chunk_asked && i + 1 == n;
        /* A span that failed is unmapped since; a frame there would fail to read anyway. Its
         * bytes in buf are simply skipped. */
        if (reqs[i].ok) {
            if (datastack)
                s->chunk_range = (long)s->n_ranges;
            add_range(s, reqs[i].addr, reqs[i].len,
                      datastack ? PP_RANGE_DATASTACK : PP_RANGE_REMEMBERED);
        } else {
            s->used += reqs[i].len;
        }
    }
    return chunk_asked && reqs[n - 1].ok;
}

int pp_snapshot_prefetch(pp_stack_snapshot *s, uint64_t thread, pp_read_req *head, size_t n_head)
{
    start_thread(s, thread);
    const pp_snapshot_hint *h = s->hints ? hint_of(s, thread) : NULL;
    if (n_head > PP_SNAPSHOT_MAX_HEAD || !s->buf || !h || h->thread != thread || !h->speculate) {
        pp_read_many(head, n_head);
    } else {
        s->prefetched = 1;
        s->chunk_at = h->chunk;
        copy_remembered(s, head, n_head, h->chunk, h->chunk ? h->chunk_len : 0);
    }
    return n_head > 0 && head[0].ok ? 0 : -1;
}

int pp_snapshot_prefetch_head(pp_stack_snapshot *s, uint64_t thread, pp_read_req *head,
                              size_t n_head)
{
    start_thread(s, thread);
    pp_read_many(head, n_head);
    return n_head > 0 && head[0].ok ? 0 : -1;
}

/* The older chunks, each live up to its saved top index, after the current one (range r). */
static void copy_older_chunks(pp_stack_snapshot *s, long r)
{
    const pp_chunk_layout *cl = &s->chunk;
    uintptr_t previous;
    memcpy(&previous, s->buf + s->ranges[r].at + cl->previous, sizeof previous);
    for (int n = 1; previous && n < PP_SNAPSHOT_MAX_CHUNKS; n++) {
        uint8_t header[CHUNK_HEADER_MAX];
        if (pp_read(header, previous, (size_t)cl->data) != 0)
            return;
        uint64_t size, top_index;
        uintptr_t older;
        memcpy(&older, header + cl->previous, sizeof older);
        memcpy(&size, header + cl->size, sizeof size);
        memcpy(&top_index, header + cl->top, sizeof top_index);
        if (top_index > PP_SNAPSHOT_MAX_BYTES)
            return;
        uint64_t used = (uint64_t)cl->data + top_index * sizeof(void *);
        if (used > size || copy_range(s, previous, (size_t)used, PP_RANGE_DATASTACK) != 0)
            return;
        if (older == previous)
            return;
        previous = older;
    }
}

void pp_snapshot_take(pp_stack_snapshot *s, uint64_t thread, uintptr_t chunk, uintptr_t top)
{
    int prefetched = s->prefetched && s->thread == thread && !s->walked;
    if (!prefetched)
        start_thread(s, thread);
    s->walked = 1;
    if (!s->buf)
        return;
    const pp_chunk_layout *cl = &s->chunk;
    int has_chunk = chunk && cl->data > 0 && cl->data <= CHUNK_HEADER_MAX &&
                    top > chunk + (uintptr_t)cl->data && top - chunk <= PP_SNAPSHOT_MAX_BYTES;
    size_t live = has_chunk ? (size_t)(top - chunk) : 0;
    long r;
    if (!prefetched) {
        if (!copy_remembered(s, NULL, 0, has_chunk ? chunk : 0, live) || !has_chunk)
            return;
        r = s->chunk_range;
    } else {
        r = s->chunk_range;
        if (r >= 0 && (!has_chunk || s->ranges[r].start != chunk || live > s->ranges[r].len)) {
            /* the guess missed: the copy is not the live chunk */
            s->ranges[r].start = 0;
            s->ranges[r].len = 0;
            r = s->chunk_range = -1;
        }
        if (!has_chunk)
            return;
        if (r >= 0) {
            s->ranges[r].len = live; /* what lies beyond the top is dead */
        } else {
            if (copy_range(s, chunk, live, PP_RANGE_DATASTACK) != 0)
                return;
            r = s->chunk_range = (long)s->n_ranges - 1;
        }
    }
    /* What the next prefetch copies with the thread state: the live part and a little room for
     * the stack to grow, within the chunk. */
    uint64_t size;
    memcpy(&size, s->buf + s->ranges[r].at + cl->size, sizeof size);
    s->chunk_at = chunk;
    s->chunk_guess = live + PP_SNAPSHOT_GROWTH <= size ? live + PP_SNAPSHOT_GROWTH : live;
    copy_older_chunks(s, r);
}

/* The copied range holding [addr, addr + len), or -1. A walk reads its frames in a row and the
 * remembered spans are in address order, so the range of the last read and its two neighbours
 * are tried before the rest. */
static long range_of(pp_stack_snapshot *s, uintptr_t addr, size_t len)
{
    size_t last = s->last_range;
    size_t near[3] = {last, last - 1, last + 1}; /* (last - 1 may wrap: then out of range) */
    for (int k = 0; k < 3; k++)
        if (near[k] < s->n_ranges && pp_snapshot_holds(s, near[k], addr, len)) {
            s->last_range = near[k];
            return (long)near[k];
        }
    for (size_t i = 0; i < s->n_ranges; i++)
        if (pp_snapshot_holds(s, i, addr, len)) {
            s->last_range = i;
            return (long)i;
        }
    return -1;
}

/* What the next walk of this thread copies first: everything read outside the data stack (a
 * remembered span read again is kept whole, see finish_thread). */
static void touch(pp_stack_snapshot *s, long range, uintptr_t addr, size_t len)
{
    if (range >= 0 && s->ranges[range].kind != PP_RANGE_PAGE) {
        s->ranges[range].touched = 1;
        return;
    }
    if (s->n_touched < PP_SNAPSHOT_MAX_TOUCHED)
        s->touched[s->n_touched++] = (pp_span){addr, len};
}

/* A read the copies do not hold: its pages copied into the snapshot (or, when full, read
 * directly into dst). Where the bytes are, or NULL. */
static const void *read_missing(pp_stack_snapshot *s, void *dst, uintptr_t addr, size_t len)
{
    const void *at = dst;
    if (len == 0 || len > PP_SNAPSHOT_PAGE || addr < PP_SNAPSHOT_PAGE || addr + len < addr) {
        if (pp_read(dst, addr, len) != 0)
            return NULL;
    } else {
        uintptr_t page = addr & ~(uintptr_t)(PP_SNAPSHOT_PAGE - 1);
        uintptr_t end = (addr + len + PP_SNAPSHOT_PAGE - 1) & ~(uintptr_t)(PP_SNAPSHOT_PAGE - 1);
        int r = copy_range(s, page, (size_t)(end - page), PP_RANGE_PAGE);
        if (r == 0)
            at = s->buf + s->used - (end - page) + (addr - page);
        else if (r == -1 || pp_read(dst, addr, len) != 0)
            return NULL;
    }
    touch(s, -1, addr, len);
    return at;
}

int pp_snapshot_read(pp_stack_snapshot *s, void *dst, uintptr_t addr, size_t len)
{
    const void *at = pp_snapshot_view_slow(s, dst, addr, len);
    if (!at)
        return -1;
    if (at != dst)
        memcpy(dst, at, len);
    return 0;
}

const void *pp_snapshot_view_slow(pp_stack_snapshot *s, void *scratch, uintptr_t addr, size_t len)
{
    long i = range_of(s, addr, len);
    if (i < 0)
        return read_missing(s, scratch, addr, len);
    if (s->ranges[i].kind != PP_RANGE_DATASTACK) /* the data-stack copy is taken anyway */
        touch(s, i, addr, len);
    return s->buf + s->ranges[i].at + (addr - s->ranges[i].start);
}
