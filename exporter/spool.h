/* The spool directory: finds complete profile pairs (<name>.pprof + <name>.json, the json being
 * written last), oldest first; keeps the spool within its bounds by dropping the oldest; removes
 * orphans; refuses (one line, counted, removed) what is not an acceptable file under a spool name
 * (spool_file.h says which); and watches the directory with inotify so the loop can sleep until
 * something arrives. */
#ifndef PODPROF_EXPORTER_SPOOL_H
#define PODPROF_EXPORTER_SPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "faults.h"
#include "spool_file.h"

#define EX_SPOOL_ORPHAN_AGE_S 600 /* a .pprof without its .json for this long was abandoned */

typedef struct ex_pair {
    char *name;       /* base name without extension, e.g. "profile.123.4" */
    int64_t mtime_ns; /* of the .json */
    uint64_t bytes;   /* both files */
    long pid, seq;
} ex_pair;

typedef struct ex_spool ex_spool;

/* prefix: only names "<prefix>.<pid>.<seq>" are considered; NULL accepts any prefix.
 * keep_pprof: removing a pair deletes only its .json (the completion marker) and orphans are left
 * alone, for `podprof run`, which summarises the .pprof files after the command exits.
 * max_json, max_pprof: the largest member files accepted; larger ones are refused unread. */
ex_spool *ex_spool_open(const char *dir, const char *prefix, bool keep_pprof, uint64_t max_json,
                        uint64_t max_pprof);
void ex_spool_close(ex_spool *s);

int ex_spool_fd(const ex_spool *s); /* inotify descriptor to poll, -1 when watching failed */
/* Reads pending inotify events; true when a profile may have completed. Retries the watch when
 * the directory did not exist before. */
bool ex_spool_consume_events(ex_spool *s);

/* Lists complete pairs oldest first, after enforcing the bounds (dropping oldest, counted in
 * faults) and removing orphans. Returns 0, or -1 when the directory cannot be read. */
int ex_spool_scan(ex_spool *s, size_t max_profiles, uint64_t max_bytes, ex_faults *faults,
                  ex_pair **out, size_t *n);

/* Opens a pair member (ext PP_SPOOL_JSON or PP_SPOOL_PPROF) with the checks of spool_file.h:
 * a descriptor, or -1 with the verdict and a one-phrase reason. */
int ex_spool_open_member(ex_spool *s, const char *name, const char *ext, ex_entry_verdict *verdict,
                         char *why, size_t whycap);

/* Path of a pair member into buf ("<dir>/<name><ext>"). */
const char *ex_spool_path(const ex_spool *s, const char *name, const char *ext, char *buf,
                          size_t cap);

/* Deletes a pair: the .json first, so a half-deleted pair never looks complete (only the .json
 * with keep_pprof). */
int ex_spool_remove(ex_spool *s, const char *name); /* 0, or -1 with errno when the .json stays */

void ex_pairs_free(ex_pair *pairs, size_t n);

#endif
