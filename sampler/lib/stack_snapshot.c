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

static void add_range(pp_stack_snapshot *s, uintptr_t start, size_t len, int datastack)
{
    s->ranges[s->n_ranges].start = start;
    s->ranges[s->n_ranges].len = len;
    s->ranges[s->n_ranges].at = s->used;
    s->ranges[s->n_ranges].datastack = datastack;
    s->n_ranges++;
    s->used += len;
}

/* 0 copied, -1 unreadable, -2 no room left */
static int copy_range(pp_stack_snapshot *s, uintptr_t start, size_t len, int datastack)
{
    if (!has_room(s, len))
        return -2;
    if (pp_read(s->buf + s->used, start, len) != 0)
        return -1;
    add_range(s, start, len, datastack);
    return 0;
}

static pp_snapshot_hint *hint_of(pp_stack_snapshot *s, uint64_t thread)
{
    return &s->hints[pp_spread(thread, 32) % PP_SNAPSHOT_HINT_SLOTS];
}

static void remember(pp_stack_snapshot *s)
{
    if (!s->thread || !s->hints)
        return;
    pp_snapshot_hint *h = hint_of(s, s->thread);
    size_t n = pp_spans_merge(s->touched, s->n_touched);
    h->thread = s->thread;
    h->n = (uint32_t)(n < PP_SNAPSHOT_HINT_SPANS ? n : PP_SNAPSHOT_HINT_SPANS);
    memcpy(h->spans, s->touched, h->n * sizeof *h->spans);
}

/* Copies, in one system call, the spans this thread's last walk read and the live part of its
 * current data-stack chunk, [chunk, chunk + chunk_len) (chunk_len 0: none). Returns 0 when the
 * chunk arrived (or none was asked), -1 when it did not. */
static int copy_remembered(pp_stack_snapshot *s, uintptr_t chunk, size_t chunk_len)
{
    pp_snapshot_hint *h = s->thread ? hint_of(s, s->thread) : NULL;
    uint32_t spans = h && h->thread == s->thread ? h->n : 0;
    pp_read_req reqs[PP_SNAPSHOT_HINT_SPANS + 1];
    size_t n = 0, at = s->used;
    for (uint32_t i = 0; i < spans && n + 1 < PP_SNAPSHOT_MAX_RANGES - s->n_ranges; i++) {
        if (h->spans[i].len > PP_SNAPSHOT_MAX_BYTES - at)
            break;
        reqs[n++] = (pp_read_req){s->buf + at, h->spans[i].addr, h->spans[i].len, 0};
        at += h->spans[i].len;
    }
    int chunk_asked = chunk_len > 0 && chunk_len <= PP_SNAPSHOT_MAX_BYTES - at;
    if (chunk_asked)
        reqs[n++] = (pp_read_req){s->buf + at, chunk, chunk_len, 0};
    pp_read_many(reqs, n);
    for (size_t i = 0; i < n; i++) {
        int datastack = chunk_asked && i + 1 == n;
        /* A span that failed is unmapped since; a frame there would fail to read anyway. Its
         * bytes in buf are simply skipped. */
        if (reqs[i].ok)
            add_range(s, reqs[i].addr, reqs[i].len, datastack);
        else
            s->used += reqs[i].len;
    }
    if (chunk_len == 0)
        return 0;
    return chunk_asked && reqs[n - 1].ok ? 0 : -1;
}

void pp_snapshot_take(pp_stack_snapshot *s, uint64_t thread, uintptr_t chunk, uintptr_t top)
{
    remember(s);
    s->n_ranges = 0;
    s->last_range = 0;
    s->used = 0;
    s->n_touched = 0;
    s->thread = thread;
    if (!s->buf)
        return;
    const pp_chunk_layout *cl = &s->chunk;
    int has_chunk = chunk && cl->data > 0 && cl->data <= CHUNK_HEADER_MAX &&
                    top > chunk + (uintptr_t)cl->data && top - chunk <= PP_SNAPSHOT_MAX_BYTES;
    /* The current chunk is live up to datastack_top. */
    if (copy_remembered(s, has_chunk ? chunk : 0, has_chunk ? (size_t)(top - chunk) : 0) != 0 ||
        !has_chunk)
        return;
    uintptr_t previous; /* the chunk is the last range copied */
    memcpy(&previous, s->buf + s->ranges[s->n_ranges - 1].at + cl->previous, sizeof previous);
    /* Older chunks: live up to their saved top index. */
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
        if (used > size || copy_range(s, previous, (size_t)used, 1) != 0)
            return;
        if (older == previous)
            return;
        previous = older;
    }
}

/* The copied range holding [addr, addr + len), or -1. */
static long range_of(pp_stack_snapshot *s, uintptr_t addr, size_t len)
{
    for (size_t i = 0; i < s->n_ranges; i++) {
        uintptr_t start = s->ranges[i].start;
        if (addr >= start && addr - start <= s->ranges[i].len &&
            len <= s->ranges[i].len - (addr - start)) {
            s->last_range = i;
            return (long)i;
        }
    }
    return -1;
}

/* What the next walk of this thread copies first: everything read outside the data stack. */
static void touch(pp_stack_snapshot *s, uintptr_t addr, size_t len)
{
    if (s->n_touched < PP_SNAPSHOT_MAX_TOUCHED)
        s->touched[s->n_touched++] = (pp_span){addr, len};
}

int pp_snapshot_read(pp_stack_snapshot *s, void *dst, uintptr_t addr, size_t len)
{
    long i = range_of(s, addr, len);
    if (i >= 0) {
        memcpy(dst, s->buf + s->ranges[i].at + (addr - s->ranges[i].start), len);
        if (!s->ranges[i].datastack) /* the data-stack copy is taken every walk anyway */
            touch(s, addr, len);
        return 0;
    }
    if (len == 0 || len > PP_SNAPSHOT_PAGE || addr < PP_SNAPSHOT_PAGE || addr + len < addr) {
        if (pp_read(dst, addr, len) != 0)
            return -1;
    } else {
        uintptr_t page = addr & ~(uintptr_t)(PP_SNAPSHOT_PAGE - 1);
        uintptr_t end = (addr + len + PP_SNAPSHOT_PAGE - 1) & ~(uintptr_t)(PP_SNAPSHOT_PAGE - 1);
        int r = copy_range(s, page, (size_t)(end - page), 0);
        if (r == 0)
            memcpy(dst, s->buf + s->used - (end - page) + (addr - page), len);
        else if (r == -1 || pp_read(dst, addr, len) != 0)
            return -1;
    }
    touch(s, addr, len);
    return 0;
}

const void *pp_snapshot_view_slow(pp_stack_snapshot *s, void *scratch, uintptr_t addr, size_t len)
{
    long i = range_of(s, addr, len);
    if (i < 0)
        return pp_snapshot_read(s, scratch, addr, len) == 0 ? scratch : NULL;
    if (!s->ranges[i].datastack)
        touch(s, addr, len);
    return s->buf + s->ranges[i].at + (addr - s->ranges[i].start);
}
