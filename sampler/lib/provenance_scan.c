/* Code provenance, the filesystem half: which distribution installed which top-level names in one
 * site-packages or dist-packages directory, read from each *.dist-info (METADATA, RECORD,
 * top_level.txt) and *.egg-info (PKG-INFO, installed-files.txt, top_level.txt), within the bounds
 * of provenance_store.h. Every descriptor is opened, used and closed within one call. */
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "own_fd.h"
#include "provenance_store.h"

static bool ends_with(const char *s, size_t len, const char *suffix)
{
    size_t n = strlen(suffix);
    return len >= n && memcmp(s + len - n, suffix, n) == 0;
}

static char *keep2(pp_provenance *pv, const char *a, const char *sep, const char *b, size_t blen)
{
    size_t al = strlen(a), sl = strlen(sep);
    char buf[PATH_MAX];
    if (al + sl + blen >= sizeof buf)
        return NULL;
    memcpy(buf, a, al);
    memcpy(buf + al, sep, sl);
    memcpy(buf + al + sl, b, blen);
    return pv_keep(pv, buf, al + sl + blen);
}

static bool is_dir(const char *path)
{
    pp_own_fd f;
    if (pp_own_open(&f, path, O_RDONLY | O_DIRECTORY, 0) != 0)
        return false;
    pp_own_close(&f);
    return true;
}

/* Calls fn for each line of path (without its line end) until fn returns false, reading at most
 * max bytes; lines longer than PV_LINE_MAX are skipped. Returns the bytes read, or -1 when the
 * file cannot be opened. *cut is set when the bound stopped the reading. */
typedef bool (*line_fn)(void *ctx, char *line, size_t len);
static long for_each_line(pp_provenance *pv, const char *path, size_t max, line_fn fn, void *ctx,
                          bool *cut)
{
    pp_own_fd f;
    if (pp_own_open(&f, path, O_RDONLY | O_NOCTTY, 0) != 0)
        return -1;
    char chunk[16384];
    size_t used = 0, total = 0;
    bool skipping = false, go_on = true;
    while (go_on) {
        size_t want = sizeof chunk;
        if (total + want > max)
            want = max - total;
        if (want == 0) {
            if (cut)
                *cut = true;
            break;
        }
        /* pread at our own offset, after checking the number is still ours (own_fd.h) */
        if (!pp_own_check(&f))
            break;
        ssize_t got = pread(f.fd, chunk, want, (off_t)total);
        if (got <= 0)
            break;
        total += (size_t)got;
        for (ssize_t i = 0; i < got && go_on; i++) {
            char c = chunk[i];
            if (c == '\n') {
                if (!skipping) {
                    if (used && pv->line[used - 1] == '\r')
                        used--;
                    pv->line[used] = '\0';
                    go_on = fn(ctx, pv->line, used);
                }
                used = 0;
                skipping = false;
            } else if (!skipping) {
                if (used == PV_LINE_MAX)
                    skipping = true;
                else
                    pv->line[used++] = c;
            }
        }
    }
    if (go_on && used && !skipping) { /* a last line without its newline */
        pv->line[used] = '\0';
        fn(ctx, pv->line, used);
    }
    pp_own_close(&f);
    return (long)total;
}

/* ---- distributions ---- */

typedef struct header_ctx {
    char name[PV_FIELD_MAX + 1], version[PV_FIELD_MAX + 1];
} header_ctx;

static void header_field(char *dst, const char *line, size_t len, const char *key)
{
    size_t k = strlen(key);
    if (len <= k || strncmp(line, key, k) != 0 || dst[0])
        return;
    const char *v = line + k;
    size_t n = len - k;
    while (n && (*v == ' ' || *v == '\t'))
        v++, n--;
    while (n && (v[n - 1] == ' ' || v[n - 1] == '\t'))
        n--;
    if (n > PV_FIELD_MAX)
        n = PV_FIELD_MAX;
    memcpy(dst, v, n);
    dst[n] = '\0';
}

/* METADATA / PKG-INFO: RFC 822 headers up to the first empty line. */
static bool header_line(void *ctx, char *line, size_t len)
{
    header_ctx *h = ctx;
    if (len == 0)
        return false;
    header_field(h->name, line, len, "Name:");
    header_field(h->version, line, len, "Version:");
    return !(h->name[0] && h->version[0]);
}

/* "<name>-<version>[-pyX.Y].dist-info|egg-info": the fallback when the metadata says nothing. */
static void name_from_dir(header_ctx *h, const char *entry, size_t suffix_len)
{
    size_t len = strlen(entry) - suffix_len;
    const char *dash = memchr(entry, '-', len);
    size_t nlen = dash ? (size_t)(dash - entry) : len;
    if (!h->name[0] && nlen && nlen <= PV_FIELD_MAX) {
        memcpy(h->name, entry, nlen);
        h->name[nlen] = '\0';
    }
    if (!h->version[0] && dash) {
        const char *v = dash + 1;
        size_t vlen = len - nlen - 1;
        const char *py = memchr(v, '-', vlen);
        if (py)
            vlen = (size_t)(py - v);
        if (vlen && vlen <= PV_FIELD_MAX) {
            memcpy(h->version, v, vlen);
            h->version[vlen] = '\0';
        }
    }
}

/* The names one distribution installs at one level: the top level (level 1), or the level below
 * the namespace `under` (level 2). */
typedef struct names_ctx {
    pp_provenance *pv;
    const char *root;
    int level;
    const char *under; /* level 2 */
    size_t under_len;
    bool egg_relative; /* installed-files.txt: paths start with ../ */
    bool names_only;   /* top_level.txt: a line is a name */
    char *names[PV_MAX_NAMES_PER_DIST];
    size_t n;
    bool full;
} names_ctx;

static void add_name(names_ctx *c, const char *s, size_t len)
{
    for (size_t i = 0; i < c->n; i++)
        if (strlen(c->names[i]) == len && !memcmp(c->names[i], s, len))
            return;
    if (c->n == PV_MAX_NAMES_PER_DIST) {
        c->full = true;
        return;
    }
    char *copy = malloc(len + 1);
    if (!copy)
        return;
    memcpy(copy, s, len);
    copy[len] = '\0';
    c->names[c->n++] = copy;
}

static void free_names(names_ctx *c)
{
    for (size_t i = 0; i < c->n; i++)
        free(c->names[i]);
    c->n = 0;
}

/* A component that never belongs to a package of its own. */
static bool skipped_component(const char *s, size_t len)
{
    return len == 0 || (len == 1 && s[0] == '.') || (len == 2 && !memcmp(s, "..", 2)) ||
           (len == 11 && !memcmp(s, "__pycache__", 11)) || ends_with(s, len, ".dist-info") ||
           ends_with(s, len, ".egg-info") || ends_with(s, len, ".data");
}

/* One installed path, relative to the root. */
static void note_installed(names_ctx *c, const char *path, size_t len)
{
    if (len == 0 || path[0] == '/')
        return;
    const char *slash = memchr(path, '/', len);
    if (c->level == 1) {
        if (!slash) {
            if (ends_with(path, len, ".py"))
                add_name(c, path, len); /* a top-level module */
            return;
        }
        size_t clen = (size_t)(slash - path);
        if (!skipped_component(path, clen))
            add_name(c, path, clen);
        return;
    }
    if (!slash || (size_t)(slash - path) != c->under_len || memcmp(path, c->under, c->under_len))
        return;
    const char *rest = slash + 1;
    size_t rlen = len - c->under_len - 1;
    const char *s2 = memchr(rest, '/', rlen);
    size_t clen = s2 ? (size_t)(s2 - rest) : rlen;
    if (skipped_component(rest, clen) || (!s2 && !ends_with(rest, rlen, ".py")))
        return;
    add_name(c, path, c->under_len + 1 + clen);
}

static bool list_line(void *ctx, char *line, size_t len)
{
    names_ctx *c = ctx;
    if (c->names_only) {
        /* top_level.txt: a package directory or a module, whichever is there (top level only) */
        while (len && (line[len - 1] == ' ' || line[len - 1] == '/'))
            len--;
        if (c->level != 1 || !len || memchr(line, '/', len) || skipped_component(line, len))
            return true;
        char path[PATH_MAX];
        int n = snprintf(path, sizeof path, "%s/%.*s", c->root, (int)len, line);
        if (n < 0 || n + 4 > (int)sizeof path)
            return true;
        if (is_dir(path)) {
            add_name(c, line, len);
        } else {
            memcpy(path + n, ".py", 4);
            if (access(path, F_OK) == 0)
                add_name(c, path + n - len, len + 3);
        }
        return true;
    }
    const char *p = line;
    size_t plen;
    if (c->egg_relative) {
        /* installed-files.txt: relative to the .egg-info directory; ../ leads into the root */
        if (len < 3 || memcmp(line, "../", 3) != 0)
            return true;
        p = line + 3;
        plen = len - 3;
    } else if (line[0] == '"') {
        /* RECORD is CSV: a path with a comma is quoted ("" is a quote inside it) */
        const char *end = memchr(line + 1, '"', len - 1);
        if (!end)
            return true;
        p = line + 1;
        plen = (size_t)(end - p);
    } else {
        const char *comma = memchr(line, ',', len);
        plen = comma ? (size_t)(comma - line) : len;
    }
    note_installed(c, p, plen);
    return true;
}

/* Reads the names a distribution installs (names_ctx says which level) from the best list it
 * has: RECORD, installed-files.txt, or top_level.txt. Returns false when it has none. */
static bool read_names(pp_provenance *pv, const char *root, const char *entry, bool egg,
                       names_ctx *c, size_t *budget)
{
    static const char *const dist_lists[] = {"RECORD", "top_level.txt"};
    static const char *const egg_lists[] = {"installed-files.txt", "top_level.txt"};
    const char *const *lists = egg ? egg_lists : dist_lists;
    c->pv = pv;
    c->root = root;
    for (int i = 0; i < 2; i++) {
        char path[PATH_MAX];
        if (snprintf(path, sizeof path, "%s/%s/%s", root, entry, lists[i]) >= (int)sizeof path)
            return false;
        c->egg_relative = egg && i == 0;
        c->names_only = i == 1;
        size_t max = *budget < PV_MAX_LIST_BYTES ? *budget : PV_MAX_LIST_BYTES;
        bool cut = false;
        long got = for_each_line(pv, path, max, list_line, c, &cut);
        if (got < 0)
            continue;
        *budget -= (size_t)got;
        if (cut || c->full)
            pv->truncated++;
        return true;
    }
    return false;
}

/* An .egg-info that is a single file (distutils) lists nothing: its package is looked for under
 * the distribution's name, as pip would have installed it. */
static void names_from_dist_name(names_ctx *c, const char *name)
{
    char guess[PV_FIELD_MAX + 1];
    size_t n = 0;
    for (; name[n] && n < PV_FIELD_MAX; n++) {
        char ch = name[n];
        guess[n] = ch == '-' || ch == '.' ? '_' : (ch >= 'A' && ch <= 'Z') ? (char)(ch + 32) : ch;
    }
    guess[n] = '\0';
    c->names_only = true;
    list_line(c, guess, n);
}

/* A namespace distribution that lists only its top-level name (Debian's .egg-info keeps
 * top_level.txt alone) is named after its package by setuptools' convention: lazr.uri installs
 * lazr/uri. */
static void names_from_dotted_name(pp_provenance *pv, uint32_t root, names_ctx *c, const char *name)
{
    size_t ul = c->under_len;
    if (strncmp(name, c->under, ul) != 0 || name[ul] != '.' || !name[ul + 1])
        return;
    char rel[PV_FIELD_MAX + 4];
    size_t n = 0;
    for (const char *p = name; *p && n < PV_FIELD_MAX; p++)
        rel[n++] = *p == '.' ? '/' : *p;
    rel[n] = '\0';
    /* only the first level below the namespace is a name of ours */
    char *below = strchr(rel + ul + 1, '/');
    if (below)
        *below = '\0', n = (size_t)(below - rel);
    char path[PATH_MAX];
    int k = snprintf(path, sizeof path, "%s/%s", pv->roots[root], rel);
    if (k < 0 || k + 4 > (int)sizeof path)
        return;
    if (is_dir(path)) {
        add_name(c, rel, n);
        return;
    }
    memcpy(path + k, ".py", 4);
    if (access(path, F_OK) == 0) {
        memcpy(rel + n, ".py", 4);
        add_name(c, rel, n + 3);
    }
}

static uint64_t top_hash(uint32_t root, const char *rel, size_t len)
{
    return pv_hash_text(root, rel, len);
}

const pv_top *pv_find_top(const pp_provenance *pv, uint32_t root, const char *rel, size_t len)
{
    if (!pv->top_slots_cap)
        return NULL;
    uint64_t h = top_hash(root, rel, len);
    size_t mask = pv->top_slots_cap - 1;
    for (size_t i = h & mask; pv->top_slots[i]; i = (i + 1) & mask) {
        const pv_top *t = &pv->tops[pv->top_slots[i] - 1];
        if (t->hash == h && t->root == root && strlen(t->path + t->rel) == len &&
            !memcmp(t->path + t->rel, rel, len))
            return t;
    }
    return NULL;
}

static void add_top(pp_provenance *pv, uint32_t root, uint32_t dist, const char *rel)
{
    size_t len = strlen(rel);
    if (pv_find_top(pv, root, rel, len))
        return; /* shared again one level down: the first distribution keeps it */
    if (pv->n_tops == PV_MAX_TOPS) {
        pv->truncated++;
        return;
    }
    char *path = keep2(pv, pv->roots[root], "/", rel, len);
    if (!path)
        return;
    pv_top *t = &pv->tops[pv->n_tops];
    t->path = path;
    t->rel = (uint32_t)strlen(pv->roots[root]) + 1;
    t->root = root;
    t->dist = dist;
    t->hash = top_hash(root, rel, len);
    t->next = pv->dists[dist].first_top;
    pv->dists[dist].first_top = (uint32_t)++pv->n_tops;
    size_t mask = pv->top_slots_cap - 1;
    size_t i = t->hash & mask;
    while (pv->top_slots[i])
        i = (i + 1) & mask;
    pv->top_slots[i] = (uint32_t)pv->n_tops;
}

/* A distribution found in a root, with the top-level names it installs, before names several
 * distributions share are told apart. */
typedef struct pending {
    char *entry;
    bool egg;
    uint32_t dist;
    names_ctx names;
} pending;

static int compare_strings(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Reads one .dist-info or .egg-info: its name, version and top-level names. */
static bool read_dist(pp_provenance *pv, uint32_t root, pending *p, size_t *budget)
{
    const char *rootp = pv->roots[root];
    size_t suffix = p->egg ? strlen(".egg-info") : strlen(".dist-info");
    header_ctx h = {{0}, {0}};
    char path[PATH_MAX];
    bool single_file = false;
    if (snprintf(path, sizeof path, "%s/%s/%s", rootp, p->entry, p->egg ? "PKG-INFO" : "METADATA") <
        (int)sizeof path) {
        long got = for_each_line(pv, path, PV_MAX_HEADER_BYTES, header_line, &h, NULL);
        if (got < 0 && p->egg) {
            /* a distutils .egg-info is itself the PKG-INFO file */
            snprintf(path, sizeof path, "%s/%s", rootp, p->entry);
            got = for_each_line(pv, path, PV_MAX_HEADER_BYTES, header_line, &h, NULL);
            single_file = got >= 0;
        }
        if (got > 0)
            *budget -= (size_t)got < *budget ? (size_t)got : *budget;
    }
    name_from_dir(&h, p->entry, suffix);
    if (!h.name[0])
        return false;
    if (pv->n_dists == PV_MAX_DISTS) {
        pv->truncated++;
        return false;
    }
    char *name = pv_keep(pv, h.name, strlen(h.name));
    char *version = pv_keep(pv, h.version, strlen(h.version));
    if (!name || !version) {
        free(name);
        free(version);
        return false;
    }
    p->dist = (uint32_t)pv->n_dists++;
    pv->dists[p->dist] = (pv_dist){name, version, 0};
    p->names.level = 1;
    if (single_file) {
        p->names.pv = pv;
        p->names.root = rootp;
        names_from_dist_name(&p->names, h.name);
    } else if (!read_names(pv, rootp, p->entry, p->egg, &p->names, budget)) {
        p->names.pv = pv;
        p->names.root = rootp;
        names_from_dist_name(&p->names, h.name);
    }
    return true;
}

typedef struct claim {
    const char *name;
    uint32_t pending;
} claim;

static int compare_claims(const void *a, const void *b)
{
    const claim *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : (x->pending > y->pending) - (x->pending < y->pending);
}

/* A top-level name installed by one distribution is that distribution's; one several install
 * into (a namespace package) is split at the next level, read again for those only. */
static void assign_names(pp_provenance *pv, uint32_t root, pending *ps, size_t np, size_t n_names,
                         size_t *budget)
{
    claim *claims = malloc((n_names ? n_names : 1) * sizeof *claims);
    if (!claims)
        return;
    size_t n = 0;
    for (size_t i = 0; i < np; i++)
        for (size_t k = 0; k < ps[i].names.n; k++)
            claims[n++] = (claim){ps[i].names.names[k], (uint32_t)i};
    qsort(claims, n, sizeof *claims, compare_claims);
    for (size_t i = 0; i < n;) {
        size_t j = i + 1;
        while (j < n && !strcmp(claims[j].name, claims[i].name))
            j++;
        if (j - i == 1) {
            add_top(pv, root, ps[claims[i].pending].dist, claims[i].name);
        } else {
            for (size_t k = i; k < j; k++) {
                const pending *p = &ps[claims[k].pending];
                names_ctx below = {
                    .level = 2, .under = claims[k].name, .under_len = strlen(claims[k].name)};
                read_names(pv, pv->roots[root], p->entry, p->egg, &below, budget);
                if (!below.n)
                    names_from_dotted_name(pv, root, &below, pv->dists[p->dist].name);
                for (size_t m = 0; m < below.n; m++)
                    add_top(pv, root, p->dist, below.names[m]);
                free_names(&below);
            }
        }
        i = j;
    }
    free(claims);
}

/* Reads every distribution installed in root, once. */
void pv_scan_root(pp_provenance *pv, uint32_t root)
{
    pp_own_dir *d = pp_own_dir_open(pv->roots[root]);
    if (!d)
        return;
    char **entries = NULL;
    size_t n = 0, cap = 0, seen = 0;
    const char *de_name;
    while ((de_name = pp_own_dir_next(d)) != NULL) {
        if (++seen > PV_MAX_ENTRIES_PER_ROOT) {
            pv->truncated++;
            break;
        }
        size_t len = strlen(de_name);
        if (!ends_with(de_name, len, ".dist-info") && !ends_with(de_name, len, ".egg-info"))
            continue;
        if (n == cap) {
            size_t c = cap ? cap * 2 : 64;
            char **e = realloc(entries, c * sizeof *e);
            if (!e)
                break;
            entries = e;
            cap = c;
        }
        if (!(entries[n] = strdup(de_name)))
            break;
        n++;
    }
    pp_own_dir_close(d);
    /* the same order on every run, whatever order the directory lists them in */
    if (n)
        qsort(entries, n, sizeof *entries, compare_strings);
    pending *ps = n ? calloc(n, sizeof *ps) : NULL;
    size_t budget = PV_MAX_ROOT_BYTES, np = 0, n_names = 0;
    for (size_t i = 0; ps && i < n; i++) {
        if (n_names > PV_MAX_TOPS) { /* the names held until they are assigned stay bounded */
            pv->truncated++;
            break;
        }
        pending *p = &ps[np];
        p->entry = entries[i];
        p->egg = ends_with(entries[i], strlen(entries[i]), ".egg-info");
        if (read_dist(pv, root, p, &budget)) {
            n_names += p->names.n;
            np++;
        } else {
            free_names(&p->names);
        }
    }
    if (ps)
        assign_names(pv, root, ps, np, n_names, &budget);
    for (size_t i = 0; ps && i < np; i++)
        free_names(&ps[i].names);
    free(ps);
    for (size_t i = 0; i < n; i++)
        free(entries[i]);
    free(entries);
}
