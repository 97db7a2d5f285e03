#include "stack_snapshot.h"

#include <stdlib.h>
#include <string.h>

#include "safe_read.h"

/* _PyStackChunk: previous, size (bytes, header included), top (index into data), data[]. */
#define CHUNK_HEADER 24

int pp_snapshot_init(pp_stack_snapshot *s)
{
    memset(s, 0, sizeof *s);
    s->buf = malloc(PP_SNAPSHOT_MAX_BYTES);
    return s->buf ? 0 : -1;
}

void pp_snapshot_free(pp_stack_snapshot *s)
{
    free(s->buf);
    s->buf = NULL;
}

void pp_snapshot_clear(pp_stack_snapshot *s)
{
    s->n_chunks = 0;
    s->used = 0;
}

static int add_chunk(pp_stack_snapshot *s, uintptr_t start, size_t len)
{
    if (s->n_chunks == PP_SNAPSHOT_MAX_CHUNKS || len > PP_SNAPSHOT_MAX_BYTES - s->used ||
        pp_read(s->buf + s->used, start, len) != 0)
        return -1;
    s->chunks[s->n_chunks].start = start;
    s->chunks[s->n_chunks].len = len;
    s->chunks[s->n_chunks].at = s->used;
    s->n_chunks++;
    s->used += len;
    return 0;
}

void pp_snapshot_take(pp_stack_snapshot *s, uintptr_t chunk, uintptr_t top)
{
    pp_snapshot_clear(s);
    if (!chunk || top <= chunk + CHUNK_HEADER || top - chunk > PP_SNAPSHOT_MAX_BYTES)
        return;
    /* The current chunk is live up to datastack_top. */
    if (add_chunk(s, chunk, (size_t)(top - chunk)) != 0)
        return;
    uintptr_t previous;
    memcpy(&previous, s->buf, sizeof previous);
    /* Older chunks: live up to their saved top index. */
    while (previous && s->n_chunks < PP_SNAPSHOT_MAX_CHUNKS) {
        uint64_t header[3];
        if (pp_read(header, previous, sizeof header) != 0)
            return;
        uint64_t size = header[1], used = CHUNK_HEADER + header[2] * sizeof(void *);
        if (used > size || add_chunk(s, previous, (size_t)used) != 0)
            return;
        if (header[0] == previous)
            return;
        previous = header[0];
    }
}

int pp_snapshot_read(const pp_stack_snapshot *s, void *dst, uintptr_t addr, size_t len)
{
    for (size_t i = 0; s && i < s->n_chunks; i++) {
        uintptr_t start = s->chunks[i].start;
        if (addr >= start && addr - start <= s->chunks[i].len &&
            len <= s->chunks[i].len - (addr - start)) {
            memcpy(dst, s->buf + s->chunks[i].at + (addr - start), len);
            return 0;
        }
    }
    return pp_read(dst, addr, len);
}
