/* 3.11+: most _PyInterpreterFrames of a thread live in its data-stack chunks. Copying the used
 * part of each chunk in one read gives a near-consistent picture of the whole stack and turns one
 * read per frame into a few per thread; frames outside the copied chunks (generators, frame
 * objects) are still read one by one. */
#ifndef PODPROF_SAMPLER_STACK_SNAPSHOT_H
#define PODPROF_SAMPLER_STACK_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>

/* Per thread: at most this many chunks and bytes are copied; the rest is read frame by frame. */
#define PP_SNAPSHOT_MAX_CHUNKS 16
#define PP_SNAPSHOT_MAX_BYTES (1u << 20)

typedef struct pp_stack_snapshot {
    struct {
        uintptr_t start;
        size_t len;
        size_t at; /* offset of the copy in buf */
    } chunks[PP_SNAPSHOT_MAX_CHUNKS];
    size_t n_chunks, used;
    uint8_t *buf; /* PP_SNAPSHOT_MAX_BYTES */
} pp_stack_snapshot;

int pp_snapshot_init(pp_stack_snapshot *s);
void pp_snapshot_free(pp_stack_snapshot *s);

/* Copies the chunk list starting at chunk, whose live data ends at top. Never fails: whatever
 * cannot be copied is simply absent. */
void pp_snapshot_take(pp_stack_snapshot *s, uintptr_t chunk, uintptr_t top);
void pp_snapshot_clear(pp_stack_snapshot *s);

/* Copies len bytes at addr from the snapshot when it holds them, else with a safe read. */
int pp_snapshot_read(const pp_stack_snapshot *s, void *dst, uintptr_t addr, size_t len);

#endif
