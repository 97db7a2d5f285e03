/* Putting libpodprof.so in front of an LD_PRELOAD that may already hold other libraries: the one
 * rule both the injector (pod env) and `podprof run` (its child's env) follow. The dynamic loader
 * splits LD_PRELOAD at ':' and ' ' (ld.so(8)); ours goes first and is never listed twice. */
#ifndef PODPROF_LD_PRELOAD_H
#define PODPROF_LD_PRELOAD_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* True when the list old already names library as one of its entries. */
static inline bool pp_ld_preload_has(const char *old, const char *library)
{
    size_t n = strlen(library);
    for (const char *p = old; p && *p;) {
        size_t len = strcspn(p, ": ");
        if (len == n && !strncmp(p, library, n))
            return true;
        p += len + (p[len] != '\0');
    }
    return false;
}

/* The new value: library, then old's entries (old may be NULL or empty). A malloc'd string, or
 * NULL when memory ran out. */
static inline char *pp_ld_preload_prepend(const char *library, const char *old)
{
    if (!old || !old[strspn(old, ": ")])
        return strdup(library);
    if (pp_ld_preload_has(old, library))
        return strdup(old);
    size_t len = strlen(library) + 1 + strlen(old) + 1;
    char *joined = malloc(len);
    if (joined)
        snprintf(joined, len, "%s:%s", library, old);
    return joined;
}

#endif
