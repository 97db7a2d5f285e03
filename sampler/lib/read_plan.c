#include "read_plan.h"

#include <stdlib.h>

/* Spans come from stack walks: mostly in address order one way or the other. Reversing a
 * descending run first makes the insertion sort close to linear on both. */
static void sort_spans(pp_span *s, size_t n)
{
    size_t descending = 0;
    for (size_t i = 1; i < n; i++)
        descending += s[i].addr < s[i - 1].addr;
    if (descending * 2 > n)
        for (size_t i = 0, j = n - 1; i < j; i++, j--) {
            pp_span t = s[i];
            s[i] = s[j];
            s[j] = t;
        }
    for (size_t i = 1; i < n; i++) {
        pp_span v = s[i];
        size_t j = i;
        for (; j > 0 && s[j - 1].addr > v.addr; j--)
            s[j] = s[j - 1];
        s[j] = v;
    }
}

static int by_size(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return x < y ? -1 : x > y;
}

/* Merges the n sorted, disjoint spans into at most max by bridging their smallest gaps (the
 * bytes that then cost least to copy). */
static size_t fit(pp_span *spans, size_t n, size_t max)
{
    size_t gaps[PP_SPANS_MAX], sorted[PP_SPANS_MAX];
    for (size_t i = 0; i + 1 < n; i++)
        sorted[i] = gaps[i] = (size_t)(spans[i + 1].addr - (spans[i].addr + spans[i].len));
    size_t bridge = n - max; /* gaps to bridge */
    qsort(sorted, n - 1, sizeof *sorted, by_size);
    size_t limit = sorted[bridge - 1], at_limit = 0;
    for (size_t i = 0; i < bridge; i++)
        at_limit += sorted[i] == limit; /* how many gaps of exactly `limit` are bridged */
    size_t out = 0;
    for (size_t i = 1; i < n; i++) {
        size_t g = gaps[i - 1];
        if (g < limit || (g == limit && at_limit && at_limit--))
            spans[out].len = (size_t)(spans[i].addr + spans[i].len - spans[out].addr);
        else
            spans[++out] = spans[i];
    }
    return out + 1;
}

size_t pp_spans_merge_within(pp_span *spans, size_t n, size_t gap, size_t max)
{
    if (n == 0)
        return 0;
    sort_spans(spans, n);
    size_t out = 0;
    for (size_t i = 1; i < n; i++) {
        pp_span *last = &spans[out];
        uintptr_t end = last->addr + last->len;
        if (spans[i].addr <= end + gap && spans[i].addr >= last->addr) {
            uintptr_t new_end = spans[i].addr + spans[i].len;
            if (new_end > end)
                last->len = (size_t)(new_end - last->addr);
        } else {
            spans[++out] = spans[i];
        }
    }
    n = out + 1;
    if (max == 0 || n <= max)
        return n;
    return n <= PP_SPANS_MAX ? fit(spans, n, max) : max;
}

size_t pp_spans_merge(pp_span *spans, size_t n)
{
    return pp_spans_merge_within(spans, n, PP_MERGE_GAP, n);
}

long pp_spans_find(const pp_span *spans, size_t n, uintptr_t addr, size_t len)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (spans[mid].addr + spans[mid].len <= addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < n && spans[lo].addr <= addr && addr + len <= spans[lo].addr + spans[lo].len)
        return (long)lo;
    return -1;
}
