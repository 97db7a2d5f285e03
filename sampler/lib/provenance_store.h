/* The code-provenance store shared by its two halves: provenance.c classifies a profile's file
 * names against it, provenance_scan.c fills it from the distributions installed in a
 * site-packages directory. Internal to the library. */
#ifndef PODPROF_PROVENANCE_STORE_H
#define PODPROF_PROVENANCE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "provenance.h"

/* Bounds: what does not fit is not attributed, and counted in `truncated`. */
#define PV_MAX_ROOTS 16           /* site-packages / dist-packages directories */
#define PV_MAX_DISTS 4096         /* distributions, all roots together */
#define PV_MAX_TOPS 16384         /* top-level names, all roots together */
#define PV_MAX_NAMES_PER_DIST 256 /* top-level names one distribution may install */
#define PV_MAX_STDLIB 8           /* standard-library directories */
#define PV_MAX_NOT_STDLIB 16      /* directories that looked like one but are not, remembered */
#define PV_MAX_FROZEN 256         /* <frozen …> names */
#define PV_MAX_FILES 65536        /* file names remembered */
#define PV_MAX_STRING_BYTES (4u << 20)
#define PV_MAX_ENTRIES_PER_ROOT 20000   /* directory entries examined */
#define PV_MAX_LIST_BYTES (16u << 20)   /* read of one RECORD or installed-files.txt */
#define PV_MAX_ROOT_BYTES (64u << 20)   /* read for one directory, its files together */
#define PV_MAX_HEADER_BYTES (64u << 10) /* read of one METADATA or PKG-INFO */
#define PV_LINE_MAX 4096                /* longer lines are skipped */
#define PV_FIELD_MAX 200                /* a name or a version */

enum { PV_NONE, PV_STDLIB, PV_FROZEN, PV_LIBRARY };

typedef struct pv_dist {
    char *name, *version;
    uint32_t first_top; /* index + 1 of its first top-level name, chained through pv_top.next */
} pv_dist;

typedef struct pv_top {
    char *path;    /* <root>/<rel>: what is written out */
    uint32_t rel;  /* where rel starts in path */
    uint32_t root; /* root index */
    uint32_t dist; /* dist index */
    uint32_t next; /* index + 1 of the same distribution's next name */
    uint64_t hash; /* of (root, rel) */
} pv_top;

typedef struct pv_file {
    uint64_t hash; /* 0: empty slot */
    uint32_t kind, index;
} pv_file;

struct pp_provenance {
    char stdlib_name[16]; /* "python3.12" */
    char *roots[PV_MAX_ROOTS];
    size_t n_roots;
    pv_dist *dists;
    size_t n_dists;
    pv_top *tops;
    size_t n_tops;
    uint32_t *top_slots; /* open addressing over tops, index + 1 */
    size_t top_slots_cap;
    char *stdlib[PV_MAX_STDLIB];
    size_t n_stdlib;
    char *not_stdlib[PV_MAX_NOT_STDLIB];
    size_t n_not_stdlib;
    char *frozen[PV_MAX_FROZEN];
    size_t n_frozen;
    pv_file *files;
    size_t files_cap, n_files;
    size_t string_bytes;
    uint64_t truncated;
    char *line; /* PV_LINE_MAX + 1 bytes, for reading files */
    /* the last view */
    unsigned char *dist_used;
    bool stdlib_used[PV_MAX_STDLIB], frozen_used[PV_MAX_FROZEN];
    const char **view_strings;
    pp_provenance_library *view_libraries;
};

/* A hash of (seed, text) that is never 0 (0 marks an empty slot). */
uint64_t pv_hash_text(uint64_t seed, const char *s, size_t len);
/* A copy counted against the string bound; NULL when it does not fit. */
char *pv_keep(pp_provenance *pv, const char *s, size_t len);
/* Reads every distribution installed in pv->roots[root], once. */
void pv_scan_root(pp_provenance *pv, uint32_t root);
/* The top-level name rel (len bytes) installed in root, or NULL. */
const pv_top *pv_find_top(const pp_provenance *pv, uint32_t root, const char *rel, size_t len);

#endif
