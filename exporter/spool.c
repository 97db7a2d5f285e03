#include "spool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "podprof/spool_format.h"
#include "retry.h"
#include "spool_file.h"

#define EX_SPOOL_MAX_ENTRIES 65536 /* directory entries looked at per scan */

struct ex_spool {
    char *dir;
    char *prefix;
    int ifd;
    int wd;
    bool keep_pprof;
    uint64_t max_json, max_pprof;
    ex_spool_trust trust;   /* from the directory, refreshed every scan */
    ex_retry_table refused; /* refused entries that could not be removed: never logged again */
};

static void watch(ex_spool *s)
{
    if (s->ifd < 0 || s->wd >= 0)
        return;
    s->wd = inotify_add_watch(s->ifd, s->dir,
                              IN_CLOSE_WRITE | IN_MOVED_TO | IN_DELETE_SELF | IN_MOVE_SELF);
}

ex_spool *ex_spool_open(const char *dir, const char *prefix, bool keep_pprof, uint64_t max_json,
                        uint64_t max_pprof)
{
    ex_spool *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->keep_pprof = keep_pprof;
    s->max_json = max_json;
    s->max_pprof = max_pprof;
    s->dir = strdup(dir);
    s->prefix = prefix && *prefix ? strdup(prefix) : NULL;
    s->wd = -1;
    s->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (!s->dir || (prefix && *prefix && !s->prefix)) {
        ex_spool_close(s);
        return NULL;
    }
    watch(s);
    return s;
}

void ex_spool_close(ex_spool *s)
{
    if (!s)
        return;
    if (s->ifd >= 0)
        close(s->ifd);
    ex_retry_free(&s->refused);
    free(s->dir);
    free(s->prefix);
    free(s);
}

int ex_spool_fd(const ex_spool *s)
{
    return s->ifd;
}

static bool ends_with(const char *s, size_t len, const char *suffix)
{
    size_t n = strlen(suffix);
    return len >= n && !memcmp(s + len - n, suffix, n);
}

bool ex_spool_consume_events(ex_spool *s)
{
    bool relevant = false;
    if (s->ifd < 0)
        return false;
    if (s->wd < 0) {
        watch(s);
        return s->wd >= 0;
    }
    char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
    for (;;) {
        ssize_t n = read(s->ifd, buf, sizeof buf);
        if (n <= 0)
            break;
        for (char *p = buf; p < buf + n;) {
            struct inotify_event *ev = (struct inotify_event *)p;
            if (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED)) {
                /* the directory went away; the rescan re-arms the watch if it comes back */
                if (ev->mask & IN_MOVE_SELF)
                    inotify_rm_watch(s->ifd, s->wd);
                s->wd = -1;
                relevant = true;
            } else if (ev->len && ends_with(ev->name, strlen(ev->name), PP_SPOOL_JSON)) {
                relevant = true;
            }
            p += sizeof *ev + ev->len;
        }
    }
    return relevant;
}

const char *ex_spool_path(const ex_spool *s, const char *name, const char *ext, char *buf,
                          size_t cap)
{
    snprintf(buf, cap, "%s/%s%s", s->dir, name, ext);
    return buf;
}

int ex_spool_remove(ex_spool *s, const char *name)
{
    char path[PATH_MAX];
    if (unlink(ex_spool_path(s, name, PP_SPOOL_JSON, path, sizeof path)) && errno != ENOENT)
        return -1;
    if (!s->keep_pprof)
        unlink(ex_spool_path(s, name, PP_SPOOL_PPROF, path, sizeof path));
    return 0;
}

static int64_t mtime_ns(const struct stat *st)
{
    return (int64_t)st->st_mtim.tv_sec * 1000000000LL + st->st_mtim.tv_nsec;
}

static int older_first(const void *a, const void *b)
{
    const ex_pair *x = a, *y = b;
    if (x->mtime_ns != y->mtime_ns)
        return x->mtime_ns < y->mtime_ns ? -1 : 1;
    if (x->pid != y->pid)
        return x->pid < y->pid ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

int ex_spool_open_member(ex_spool *s, const char *name, const char *ext, ex_entry_verdict *verdict,
                         char *why, size_t whycap)
{
    char path[PATH_MAX];
    bool json = !strcmp(ext, PP_SPOOL_JSON);
    return ex_spool_file_open(ex_spool_path(s, name, ext, path, sizeof path), &s->trust,
                              json ? s->max_json : s->max_pprof, verdict, why, whycap);
}

static bool refused_before(ex_spool *s, const char *entry)
{
    ex_retry_entry *e = ex_retry_find(&s->refused, entry);
    if (e)
        e->seen = true;
    return e != NULL;
}

/* Removes a member of a pair that is lost: the .json always, the .pprof unless it is kept. */
static void drop_lost(ex_spool *s, const char *base, bool pprof)
{
    char path[PATH_MAX];
    if (!pprof || !s->keep_pprof)
        unlink(ex_spool_path(s, base, pprof ? PP_SPOOL_PPROF : PP_SPOOL_JSON, path, sizeof path));
}

/* A spool name that is not an acceptable file: one line, counted, removed with its pair so it is
 * never looked at again; what cannot be removed (a directory with contents, a read-only spool) is
 * remembered instead. */
static void refuse(ex_spool *s, const char *base, bool bad_is_pprof, const struct stat *st,
                   ex_entry_verdict verdict, const char *why, ex_faults *faults)
{
    char path[PATH_MAX], entry[NAME_MAX + 16];
    const char *ext = bad_is_pprof ? PP_SPOOL_PPROF : PP_SPOOL_JSON;
    snprintf(entry, sizeof entry, "%s%s", base, ext);
    ex_spool_path(s, base, ext, path, sizeof path);
    bool removed = (S_ISDIR(st->st_mode) ? rmdir(path) : unlink(path)) == 0 || errno == ENOENT;
    ex_fault(faults, verdict == EX_ENTRY_TOO_LARGE ? EX_FAULT_TOO_LARGE : EX_FAULT_UNSAFE_SPOOL,
             "%s: %s; %s", entry, why,
             removed ? "removed with its pair, never read" : "cannot remove it, ignored");
    if (!removed) {
        ex_retry_entry *e = ex_retry_add(&s->refused, entry);
        if (e)
            e->seen = true;
    }
    /* its partner goes too: the pair is lost either way, and no orphan is left to report */
    drop_lost(s, base, !bad_is_pprof);
}

/* lstat of a pair member: 1 acceptable, 0 absent, -1 refused (just now or before). */
static int member(ex_spool *s, const char *base, bool pprof, struct stat *st, ex_faults *faults)
{
    char path[PATH_MAX], entry[NAME_MAX + 16], why[160];
    const char *ext = pprof ? PP_SPOOL_PPROF : PP_SPOOL_JSON;
    if (lstat(ex_spool_path(s, base, ext, path, sizeof path), st) != 0)
        return 0;
    snprintf(entry, sizeof entry, "%s%s", base, ext);
    if (refused_before(s, entry))
        return -1;
    ex_entry_verdict v =
        ex_spool_entry_check(st, &s->trust, pprof ? s->max_pprof : s->max_json, why, sizeof why);
    if (v == EX_ENTRY_OK)
        return 1;
    refuse(s, base, pprof, st, v, why, faults);
    return -1;
}

int ex_spool_scan(ex_spool *s, size_t max_profiles, uint64_t max_bytes, ex_faults *faults,
                  ex_pair **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    watch(s);
    struct stat ds;
    DIR *d = stat(s->dir, &ds) == 0 ? opendir(s->dir) : NULL;
    if (!d)
        return -1;
    ex_spool_trust_from_dir(&ds, &s->trust);
    ex_pair *pairs = NULL;
    size_t count = 0, cap = 0, seen = 0;
    char path[PATH_MAX];
    time_t now = time(NULL);
    struct dirent *de;
    while ((de = readdir(d)) && seen++ < EX_SPOOL_MAX_ENTRIES) {
        uint64_t pid, seq;
        int kind = pp_spool_parse(de->d_name, s->prefix, &pid, &seq, NULL);
        if (kind == PP_SPOOL_OTHER)
            continue;
        bool is_pprof = kind == PP_SPOOL_IS_PPROF;
        /* a pair is named by its files' common part, "<prefix>.<pid>.<seq>" */
        size_t base_len = strlen(de->d_name) - strlen(is_pprof ? PP_SPOOL_PPROF : PP_SPOOL_JSON);
        char base[NAME_MAX + 1];
        memcpy(base, de->d_name, base_len);
        base[base_len] = '\0';
        struct stat js, ps;
        /* the entry itself first, so a bad one is refused whether or not it has a partner */
        int self = member(s, base, is_pprof, is_pprof ? &ps : &js, faults);
        if (self <= 0)
            continue;
        int other = member(s, base, !is_pprof, is_pprof ? &js : &ps, faults);
        if (other < 0) {
            /* its partner was refused (and reported), now or at an earlier scan when this one
             * had not arrived yet: the pair is lost, this one goes too, silently */
            drop_lost(s, base, is_pprof);
            continue;
        }
        bool has_json = is_pprof ? other > 0 : true;
        bool has_pprof = is_pprof ? true : other > 0;
        if (is_pprof && has_json)
            continue; /* listed through its .json */
        if (is_pprof) {
            if (!s->keep_pprof && now - ps.st_mtim.tv_sec > EX_SPOOL_ORPHAN_AGE_S) {
                ex_fault(faults, EX_FAULT_CORRUPT_SPOOL,
                         "%s.pprof: no metadata .json after %d s, removed", base,
                         EX_SPOOL_ORPHAN_AGE_S);
                unlink(ex_spool_path(s, base, PP_SPOOL_PPROF, path, sizeof path));
            }
            continue;
        }
        if (!has_pprof) {
            /* the writer renames the .json last, so its .pprof can only have been lost */
            ex_fault(faults, EX_FAULT_CORRUPT_SPOOL, "%s.json: its .pprof is missing, removed",
                     base);
            unlink(ex_spool_path(s, base, PP_SPOOL_JSON, path, sizeof path));
            continue;
        }
        if (count == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            ex_pair *grown = realloc(pairs, ncap * sizeof *grown);
            if (!grown)
                break;
            pairs = grown;
            cap = ncap;
        }
        ex_pair *p = &pairs[count];
        p->name = strdup(base);
        if (!p->name)
            break;
        p->mtime_ns = mtime_ns(&js);
        p->bytes = (uint64_t)js.st_size + (uint64_t)ps.st_size;
        p->pid = (long)pid;
        p->seq = (long)seq;
        count++;
    }
    closedir(d);
    ex_retry_sweep(&s->refused);
    if (count > 1)
        qsort(pairs, count, sizeof *pairs, older_first);

    uint64_t total = 0;
    for (size_t i = 0; i < count; i++)
        total += pairs[i].bytes;
    size_t drop = 0;
    while (drop < count && (count - drop > max_profiles || total > max_bytes)) {
        faults->spool_dropped++;
        ex_fault(faults, EX_FAULT_SPOOL_FULL,
                 "spool over its bound (%zu profiles, %llu bytes; limits %zu, %llu): dropped "
                 "the oldest, %s",
                 count - drop, (unsigned long long)total, max_profiles,
                 (unsigned long long)max_bytes, pairs[drop].name);
        ex_spool_remove(s, pairs[drop].name);
        total -= pairs[drop].bytes;
        free(pairs[drop].name);
        drop++;
    }
    if (drop)
        memmove(pairs, pairs + drop, (count - drop) * sizeof *pairs);
    *out = pairs;
    *n = count - drop;
    return 0;
}

void ex_pairs_free(ex_pair *pairs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(pairs[i].name);
    free(pairs);
}
