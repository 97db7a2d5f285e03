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

/* ---- small helpers ---- */

static uint64_t hash_text(uint64_t seed, const char *s, size_t len)
{
    uint64_t h = 0xcbf29ce484222325ULL ^ seed;
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)s[i];
        h *= 0x100000001b3ULL;
    }
    h ^= h >> 29;
    return h ? h : 1;
}

static bool ends_with(const char *s, size_t len, const char *suffix)
{
    size_t n = strlen(suffix);
    return len >= n && memcmp(s + len - n, suffix, n) == 0;
}

/* A copy counted against the string bound; NULL when it does not fit. */
static char *keep(pp_provenance *pv, const char *s, size_t len)
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

static char *keep2(pp_provenance *pv, const char *a, const char *sep, const char *b, size_t blen)
{
    size_t al = strlen(a), sl = strlen(sep);
    char buf[PATH_MAX];
    if (al + sl + blen >= sizeof buf)
        return NULL;
    memcpy(buf, a, al);
    memcpy(buf + al, sep, sl);
    memcpy(buf + al + sl, b, blen);
    return keep(pv, buf, al + sl + blen);
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
    return hash_text(root, rel, len);
}

static const pv_top *find_top(const pp_provenance *pv, uint32_t root, const char *rel, size_t len)
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
    if (find_top(pv, root, rel, len))
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
    char *name = keep(pv, h.name, strlen(h.name));
    char *version = keep(pv, h.version, strlen(h.version));
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
static void scan_root(pp_provenance *pv, uint32_t root)
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
    char *copy = keep(pv, path, len);
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
    scan_root(pv, (uint32_t)pv->n_roots);
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
    if (!(list[*n] = keep(pv, s, len)))
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
            char *copy = keep(pv, f, dlen);
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
        const pv_top *t = find_top(pv, (uint32_t)root, rel, s1 ? (size_t)(s1 - rel) : strlen(rel));
        if (!t && s1) {
            const char *s2 = strchr(s1 + 1, '/');
            t = find_top(pv, (uint32_t)root, rel, s2 ? (size_t)(s2 - rel) : strlen(rel));
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
    uint64_t h = hash_text(0, f, strlen(f));
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
