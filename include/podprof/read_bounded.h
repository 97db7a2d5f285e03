/* Reading all of a stream that may be hostile or huge: never more than a bound, so a bad input
 * fails with one line instead of exhausting memory. Used for every file a podprof program reads
 * whole (documents, config files, spool metadata and profiles). stdio only, header-only. */
#ifndef PODPROF_READ_BOUNDED_H
#define PODPROF_READ_BOUNDED_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What *why points to when the stream is longer than the bound (compare the pointer). */
static const char pp_read_too_large[] = "larger than the bound";

/* Reads f to its end, at most max bytes. Returns a malloc'd buffer with a NUL after the *len
 * bytes, or NULL with *why: pp_read_too_large, "out of memory" or the read error. */
static inline char *pp_read_bounded(FILE *f, size_t max, size_t *len, const char **why)
{
    /* One byte past the bound tells a stream at the bound from a longer one. */
    size_t limit = max + 1, cap = limit < 65536 ? limit : 65536, n = 0;
    char *buf = malloc(cap + 1);
    while (buf && n < limit) {
        if (n == cap) {
            cap = cap * 2 < limit ? cap * 2 : limit;
            char *grown = realloc(buf, cap + 1);
            if (!grown) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = grown;
        }
        size_t r = fread(buf + n, 1, cap - n, f);
        n += r;
        if (r == 0)
            break;
    }
    *why = !buf        ? "out of memory"
           : ferror(f) ? strerror(errno)
           : n > max   ? pp_read_too_large
                       : NULL;
    if (*why) {
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

#endif
