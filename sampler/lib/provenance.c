/* Code provenance from the profile's file names and the filesystem (provenance.h).
 *
 * Runs on the thread that flushes (the sampler thread, or the exiting one), never while sampling.
 * Uses libc only, no stat(2) wrapper (glibc 2.33 re-versioned those; access(2) and open(2) answer
 * every question asked here), and closes every descriptor before it returns. */
#include "provenance.h"

#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "own_fd.h"
#include "provenance_store.h"

/* ---- shared helpers ---- */

uint64_t pv_hash_text(uint64_t seed, const char *s, size_t len)
{
    uint64_t h = 0xcbf29ce484222325ULL ^ seed;
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)s[i];
        h *= 0x100000001b3ULL;
    }
    h ^= h >> 29;
    return h ? h : 1;
}

/* A copy counted against the string bound; NULL when it does not fit. */
char *pv_keep(pp_provenance *pv, const char *s, size_t len)
{
    if (pv->string_bytes + len + 1 > PV_MAX_STRING_BYTES) {
        pv->truncated++;
        return NULL;
    }
    char *c = malloc(len + 1);
    if (!c)
        return NULL;
    memcpy(c, s, len);
    c[len] = '\0';
    pv->string_bytes += len + 1;
    return c;
}

/* ---- classifying one file name ---- */

static int root_index(pp_provenance *pv, const char *path, size_t len)
{
    for (size_t i = 0; i < pv->n_roots; i++)
        if (strlen(pv->roots[i]) == len && !memcmp(pv->roots[i], path, len))
            return (int)i;
    if (pv->n_roots == PV_MAX_ROOTS) {
        pv->truncated++;
        return -1;
    }
    char *copy = pv_keep(pv, path, len);
    if (!copy)
        return -1;
    if (!pv->top_slots) {
        pv->top_slots_cap = 2 * PV_MAX_TOPS;
        pv->top_slots = calloc(pv->top_slots_cap, sizeof *pv->top_slots);
        pv->tops = malloc(PV_MAX_TOPS * sizeof *pv->tops);
        pv->dists = malloc(PV_MAX_DISTS * sizeof *pv->dists);
        if (!pv->top_slots || !pv->tops || !pv->dists) {
            free(pv->top_slots);
            free(pv->tops);
            free(pv->dists);
            pv->top_slots = NULL;
            pv->tops = NULL;
            pv->dists = NULL;
            pv->top_slots_cap = 0;
            free(copy);
            return -1;
        }
    }
    pv->roots[pv->n_roots] = copy;
    pv_scan_root(pv, (uint32_t)pv->n_roots);
    return (int)pv->n_roots++;
}

static int string_index(pp_provenance *pv, char **list, size_t *n, size_t max, const char *s,
                        size_t len)
{
    for (size_t i = 0; i < *n; i++)
        if (strlen(list[i]) == len && !memcmp(list[i], s, len))
            return (int)i;
    if (*n == max) {
        pv->truncated++;
        return -1;
    }
    if (!(list[*n] = pv_keep(pv, s, len)))
        return -1;
    return (int)(*n)++;
}

static bool known(char *const *list, size_t n, const char *s, size_t len)
{
    for (size_t i = 0; i < n; i++)
        if (strlen(list[i]) == len && !memcmp(list[i], s, len))
            return true;
    return false;
}

/* The standard-library directory path is in: <...>/lib[64]/pythonX.Y holding os.py. */
static int stdlib_index(pp_provenance *pv, const char *f)
{
    size_t want = strlen(pv->stdlib_name);
    for (const char *c = strchr(f, '/'); c; c = strchr(c + 1, '/')) {
        const char *comp = c + 1;
        const char *end = strchr(comp, '/');
        if (!end)
            return -1;
        if ((size_t)(end - comp) != want || memcmp(comp, pv->stdlib_name, want))
            continue;
        bool under_lib = (c - f >= 4 && !memcmp(c - 4, "/lib", 4)) ||
                         (c - f >= 6 && !memcmp(c - 6, "/lib64", 6));
        if (!under_lib)
            continue;
        size_t dlen = (size_t)(end - f);
        for (size_t i = 0; i < pv->n_stdlib; i++)
            if (strlen(pv->stdlib[i]) == dlen && !memcmp(pv->stdlib[i], f, dlen))
                return (int)i;
        if (known(pv->not_stdlib, pv->n_not_stdlib, f, dlen))
            continue;
        char landmark[PATH_MAX];
        if (snprintf(landmark, sizeof landmark, "%.*s/os.py", (int)dlen, f) <
                (int)sizeof landmark &&
            access(landmark, F_OK) == 0)
            return string_index(pv, pv->stdlib, &pv->n_stdlib, PV_MAX_STDLIB, f, dlen);
        if (pv->n_not_stdlib < PV_MAX_NOT_STDLIB) {
            char *copy = pv_keep(pv, f, dlen);
            if (copy)
                pv->not_stdlib[pv->n_not_stdlib++] = copy;
        }
    }
    return -1;
}

static void classify(pp_provenance *pv, const char *f, uint32_t *kind, uint32_t *index)
{
    size_t len = strlen(f);
    *kind = PV_NONE;
    *index = 0;
    if (len > 9 && !strncmp(f, "<frozen ", 8) && f[len - 1] == '>') {
        int i = string_index(pv, pv->frozen, &pv->n_frozen, PV_MAX_FROZEN, f, len);
        if (i >= 0)
            *kind = PV_FROZEN, *index = (uint32_t)i;
        return;
    }
    if (f[0] != '/')
        return;
    /* the last site-packages or dist-packages component: its distributions own the file */
    const char *site_end = NULL;
    for (const char *c = f; (c = strchr(c, '/')) != NULL; c++) {
        const char *comp = c + 1;
        const char *end = strchr(comp, '/');
        size_t clen = end ? (size_t)(end - comp) : strlen(comp);
        if (end && clen == 13 &&
            (!memcmp(comp, "site-packages", 13) || !memcmp(comp, "dist-packages", 13)))
            site_end = end;
    }
    if (site_end) {
        int root = root_index(pv, f, (size_t)(site_end - f));
        if (root < 0)
            return;
        const char *rel = site_end + 1;
        const char *s1 = strchr(rel, '/');
        const pv_top *t =
            pv_find_top(pv, (uint32_t)root, rel, s1 ? (size_t)(s1 - rel) : strlen(rel));
        if (!t && s1) {
            const char *s2 = strchr(s1 + 1, '/');
            t = pv_find_top(pv, (uint32_t)root, rel, s2 ? (size_t)(s2 - rel) : strlen(rel));
        }
        if (t)
            *kind = PV_LIBRARY, *index = t->dist;
        return;
    }
    int s = stdlib_index(pv, f);
    if (s >= 0)
        *kind = PV_STDLIB, *index = (uint32_t)s;
}

/* The file's class, remembered by the hash of its name. */
static void note_file(pp_provenance *pv, const char *f)
{
    uint64_t h = pv_hash_text(0, f, strlen(f));
    pv_file *slot = NULL;
    if (pv->files_cap) {
        size_t mask = pv->files_cap - 1;
        for (size_t i = h & mask;; i = (i + 1) & mask) {
            if (pv->files[i].hash == h) {
                slot = &pv->files[i];
                break;
            }
            if (!pv->files[i].hash)
                break;
        }
    }
    uint32_t kind, index;
    if (slot) {
        kind = slot->kind;
        index = slot->index;
    } else {
        classify(pv, f, &kind, &index);
        if (pv->n_files < PV_MAX_FILES) {
            if ((pv->n_files + 1) * 2 > pv->files_cap) {
                size_t cap = pv->files_cap ? pv->files_cap * 2 : 1024;
                pv_file *files = calloc(cap, sizeof *files);
                if (files) {
                    for (size_t i = 0; i < pv->files_cap; i++) {
                        if (!pv->files[i].hash)
                            continue;
                        size_t j = pv->files[i].hash & (cap - 1);
                        while (files[j].hash)
                            j = (j + 1) & (cap - 1);
                        files[j] = pv->files[i];
                    }
                    free(pv->files);
                    pv->files = files;
                    pv->files_cap = cap;
                }
            }
            if ((pv->n_files + 1) * 2 <= pv->files_cap) {
                size_t mask = pv->files_cap - 1, i = h & mask;
                while (pv->files[i].hash)
                    i = (i + 1) & mask;
                pv->files[i] = (pv_file){h, kind, index};
                pv->n_files++;
            }
        }
    }
    if (kind == PV_LIBRARY)
        pv->dist_used[index] = 1;
    else if (kind == PV_STDLIB)
        pv->stdlib_used[index] = true;
    else if (kind == PV_FROZEN)
        pv->frozen_used[index] = true;
}

/* ---- the profile's files ---- */

typedef struct collect_ctx {
    pp_provenance *pv;
    const pp_agg *agg;
    unsigned char *seen; /* per string id */
    size_t n_strings;
} collect_ctx;

static void visit_stack(void *ctx, const pp_sample_key *key, const int64_t *values)
{
    (void)values;
    collect_ctx *c = ctx;
    for (size_t i = 0; i < key->n_frames; i++) {
        pp_str id = key->frames[i].filename;
        if (id == 0 || id >= c->n_strings || c->seen[id])
            continue;
        c->seen[id] = 1;
        note_file(c->pv, pp_agg_string(c->agg, id));
    }
}

int pp_provenance_collect(pp_provenance *pv, const pp_agg *agg, pp_provenance_view *view)
{
    memset(view, 0, sizeof *view);
    free(pv->view_strings);
    free(pv->view_libraries);
    pv->view_strings = NULL;
    pv->view_libraries = NULL;
    if (!pv->dist_used && !(pv->dist_used = calloc(PV_MAX_DISTS, 1)))
        return -1;
    memset(pv->dist_used, 0, PV_MAX_DISTS);
    memset(pv->stdlib_used, 0, sizeof pv->stdlib_used);
    memset(pv->frozen_used, 0, sizeof pv->frozen_used);
    collect_ctx c = {pv, agg, NULL, pp_agg_string_count(agg)};
    if (!(c.seen = calloc(c.n_strings ? c.n_strings : 1, 1)))
        return -1;
    pp_agg_foreach(agg, visit_stack, &c);
    free(c.seen);

    size_t n_strings = 0, n_libs = 0;
    for (size_t i = 0; i < pv->n_stdlib; i++)
        n_strings += pv->stdlib_used[i];
    for (size_t i = 0; i < pv->n_frozen; i++)
        n_strings += pv->frozen_used[i];
    for (size_t d = 0; d < pv->n_dists; d++) {
        if (!pv->dist_used[d])
            continue;
        n_libs++;
        for (uint32_t t = pv->dists[d].first_top; t; t = pv->tops[t - 1].next)
            n_strings++;
    }
    pv->view_strings = malloc((n_strings ? n_strings : 1) * sizeof *pv->view_strings);
    pv->view_libraries = calloc(n_libs ? n_libs : 1, sizeof *pv->view_libraries);
    if (!pv->view_strings || !pv->view_libraries)
        return -1;
    size_t s = 0;
    for (size_t i = 0; i < pv->n_stdlib; i++)
        if (pv->stdlib_used[i])
            pv->view_strings[s++] = pv->stdlib[i];
    for (size_t i = 0; i < pv->n_frozen; i++)
        if (pv->frozen_used[i])
            pv->view_strings[s++] = pv->frozen[i];
    view->stdlib = pv->view_strings;
    view->n_stdlib = s;
    size_t l = 0;
    for (size_t d = 0; d < pv->n_dists; d++) {
        if (!pv->dist_used[d])
            continue;
        pp_provenance_library *lib = &pv->view_libraries[l++];
        lib->name = pv->dists[d].name;
        lib->version = pv->dists[d].version;
        lib->paths = pv->view_strings + s;
        for (uint32_t t = pv->dists[d].first_top; t; t = pv->tops[t - 1].next)
            pv->view_strings[s++] = pv->tops[t - 1].path;
        lib->n_paths = (size_t)(pv->view_strings + s - lib->paths);
    }
    view->libraries = pv->view_libraries;
    view->n_libraries = l;
    return 0;
}

/* ---- life ---- */

pp_provenance *pp_provenance_new(const char *python_version)
{
    pp_provenance *pv = calloc(1, sizeof *pv);
    if (!pv)
        return NULL;
    /* "3.12.1" -> "python3.12" */
    const char *v = python_version ? python_version : "";
    const char *dot = strchr(v, '.');
    size_t n = dot ? strcspn(dot + 1, ".") + (size_t)(dot + 1 - v) : strlen(v);
    if (n > sizeof pv->stdlib_name - 7)
        n = 0;
    snprintf(pv->stdlib_name, sizeof pv->stdlib_name, "python%.*s", (int)n, v);
    pv->line = malloc(PV_LINE_MAX + 1);
    if (!pv->line) {
        free(pv);
        return NULL;
    }
    return pv;
}

void pp_provenance_free(pp_provenance *pv)
{
    if (!pv)
        return;
    for (size_t i = 0; i < pv->n_roots; i++)
        free(pv->roots[i]);
    for (size_t i = 0; i < pv->n_dists; i++) {
        free(pv->dists[i].name);
        free(pv->dists[i].version);
    }
    for (size_t i = 0; i < pv->n_tops; i++)
        free(pv->tops[i].path);
    for (size_t i = 0; i < pv->n_stdlib; i++)
        free(pv->stdlib[i]);
    for (size_t i = 0; i < pv->n_not_stdlib; i++)
        free(pv->not_stdlib[i]);
    for (size_t i = 0; i < pv->n_frozen; i++)
        free(pv->frozen[i]);
    free(pv->dists);
    free(pv->tops);
    free(pv->top_slots);
    free(pv->files);
    free(pv->dist_used);
    free(pv->view_strings);
    free(pv->view_libraries);
    free(pv->line);
    free(pv);
}

uint64_t pp_provenance_truncated(const pp_provenance *pv)
{
    return pv->truncated;
}
