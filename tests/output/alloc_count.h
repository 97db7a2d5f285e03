/* Counts every malloc, calloc and realloc of a test binary linked with
 * -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc, so a test can assert that a steady state does not
 * allocate. Include it in exactly one file of the binary. */
#ifndef PODPROF_TESTS_ALLOC_COUNT_H
#define PODPROF_TESTS_ALLOC_COUNT_H

#include <stddef.h>

static long allocations;
void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t m);
void *__real_realloc(void *p, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t m);
void *__wrap_realloc(void *p, size_t n);

void *__wrap_malloc(size_t n)
{
    allocations++;
    return __real_malloc(n);
}
void *__wrap_calloc(size_t n, size_t m)
{
    allocations++;
    return __real_calloc(n, m);
}
void *__wrap_realloc(void *p, size_t n)
{
    allocations++;
    return __real_realloc(p, n);
}

#endif
