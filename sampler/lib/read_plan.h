/* Planning many small reads as few large ones. Spans close together are merged into one read; a
 * gap smaller than a page cannot contain a whole page, so every page a merged span touches holds
 * bytes of one of the original spans, and the merged read works whenever they all would. */
#ifndef PODPROF_SAMPLER_READ_PLAN_H
#define PODPROF_SAMPLER_READ_PLAN_H

#include <stddef.h>
#include <stdint.h>

/* Largest gap bridged by a merge: copying it costs less than another read. */
#define PP_MERGE_GAP 512

typedef struct pp_span {
    uintptr_t addr;
    size_t len;
} pp_span;

/* Sorts spans[0..n) by address and merges, in place, those that overlap or lie within
 * PP_MERGE_GAP bytes of each other. Returns the number of merged spans. */
size_t pp_spans_merge(pp_span *spans, size_t n);

/* The same with gaps up to `gap` bridged, and then, while more than max spans remain, the
 * smallest gaps left (the bytes that cost least to copy) until max remain (beyond PP_SPANS_MAX
 * spans, the first max are kept). Returns the number of merged spans. */
#define PP_SPANS_MAX 512
size_t pp_spans_merge_within(pp_span *spans, size_t n, size_t gap, size_t max);

/* Index of the merged span holding [addr, addr + len) among spans[0..n) (sorted), or -1. */
long pp_spans_find(const pp_span *spans, size_t n, uintptr_t addr, size_t len);

#endif
