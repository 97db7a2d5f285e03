/* Saturating sums of sample values: a hostile profile may carry values whose sum overflows, and
 * a total pinned at INT64_MAX is a better answer than undefined behaviour. */
#ifndef PODPROF_CLI_SAT_MATH_H
#define PODPROF_CLI_SAT_MATH_H

#include <stdint.h>

static inline int64_t sat_add(int64_t a, int64_t b)
{
    int64_t r;
    if (__builtin_add_overflow(a, b, &r))
        return b > 0 ? INT64_MAX : INT64_MIN;
    return r;
}

#endif
