/* Setting values as every podprof program reads them (environment variables and flags): one
 * meaning of "true" and of a number everywhere. libc only and header-only, so the preloaded
 * library uses it too. Each returns 0 and stores the value, or -1 and leaves *out alone. */
#ifndef PODPROF_SETTING_VALUE_H
#define PODPROF_SETTING_VALUE_H

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <strings.h>

/* true/1/yes/on and false/0/no/off (any case); the empty string is false. */
static inline int pp_value_bool(const char *s, bool *out)
{
    /* Arrays of characters, not of pointers: no relocations in the preloaded library. */
    static const char yes[][5] = {"true", "1", "yes", "on"};
    static const char no[][6] = {"false", "0", "no", "off", ""};
    for (size_t i = 0; s && i < sizeof yes / sizeof *yes; i++)
        if (strcasecmp(s, yes[i]) == 0)
            return *out = true, 0;
    for (size_t i = 0; s && i < sizeof no / sizeof *no; i++)
        if (strcasecmp(s, no[i]) == 0)
            return *out = false, 0;
    return -1;
}

/* A whole decimal integer in [min, max]. */
static inline int pp_value_long(const char *s, long min, long max, long *out)
{
    char *end;
    errno = 0;
    long v = s ? strtol(s, &end, 10) : 0;
    if (!s || errno || end == s || *end || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

/* A finite number in [min, max]. */
static inline int pp_value_double(const char *s, double min, double max, double *out)
{
    char *end;
    errno = 0;
    double v = s ? strtod(s, &end) : 0;
    if (!s || errno || end == s || *end || !isfinite(v) || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

#endif
