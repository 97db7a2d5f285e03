/* Profile files: <prefix>.<pid>.<seq>.pprof and .json, written atomically (profile_output.h).
 *
 * A reader (the exporter, `podprof top`) may look at the directory at any moment, so each file is
 * written under a hidden temporary name and renamed into place, the .pprof first and the .json
 * last: a .json therefore always announces a complete pair. Nothing here may stop the
 * application: every failure is one stderr line and a lost interval. */
#include "profile_output.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "own_fd.h"
#include "podprof/names.h"
#include "podprof/spool_format.h"
#include "podprof/provenance_keys.h"
#include "podprof/version.h"
#include "pprof_writer.h"

/* Unread pairs kept per prefix when nothing consumes them (no exporter): at the default 60 s
 * interval, half an hour of profiles. */
#define PP_MAX_UNREAD_PROFILES 32
/* Directory entries examined per flush, so a directory full of unrelated files stays cheap. */
#define PP_MAX_SCAN_ENTRIES 4096

static atomic_uint_fast64_t profiles_dropped;
static atomic_uint_fast64_t flush_failures;
static atomic_flag default_prefix_said = ATOMIC_FLAG_INIT;
/* Sequence numbers count per process and prefix (only tests change the prefix). */
static pid_t seq_pid;
static char seq_prefix[PATH_MAX + NAME_MAX + 2];
static uint64_t seq;

/* ---- where ---- */

typedef struct out_paths {
    char dir[PATH_MAX];
    char base[NAME_MAX + 1];
} out_paths;

static bool resolve_paths(const pp_config *cfg, out_paths *p)
{
    char prefix[PATH_MAX];
    if (cfg->output_prefix && cfg->output_prefix[0]) {
        if (snprintf(prefix, sizeof prefix, "%s", cfg->output_prefix) >= (int)sizeof prefix)
            return false;
    } else {
        const char *tmp = getenv(PP_ENV_TMPDIR);
        if (!tmp || tmp[0] != '/')
            tmp = "/tmp";
        if (snprintf(prefix, sizeof prefix, "%s/podprof", tmp) >= (int)sizeof prefix)
            return false;
        if (!atomic_flag_test_and_set(&default_prefix_said))
            pp_log(PP_LOG_WARN,
                   PP_ENV_OUTPUT_PPROF " is not set; writing profiles to %s.<pid>.<seq>.pprof",
                   prefix);
    }
    const char *base;
    pp_spool_split(prefix, p->dir, sizeof p->dir, &base);
    /* Room for ".<pid>.<seq>.pprof.tmp" and the leading dot of the temporary name. */
    if (strlen(base) + 48 > NAME_MAX)
        return false;
    snprintf(p->base, sizeof p->base, "%s", base);
    return true;
}

/* ---- the directory's unread pairs ---- */

typedef struct pair_entry {
    int64_t mtime_ns;
    uint64_t pid, seq;
} pair_entry;

/* glibc 2.33 turned fstatat into a new symbol version (earlier ones only export __fxstatat), which
 * would raise the library's glibc baseline; the system call itself is as old as Linux 2.6.16. */
static int stat_entry(int dfd, const char *name, struct stat *st)
{
#ifdef SYS_newfstatat
    return (int)syscall(SYS_newfstatat, dfd, name, st, AT_SYMLINK_NOFOLLOW);
#else
    return fstatat(dfd, name, st, AT_SYMLINK_NOFOLLOW);
#endif
}

static int compare_pairs(const void *a, const void *b)
{
    const pair_entry *x = a, *y = b;
    if (x->mtime_ns != y->mtime_ns)
        return x->mtime_ns < y->mtime_ns ? -1 : 1;
    if (x->pid != y->pid)
        return x->pid < y->pid ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static void drop_pair(const out_paths *p, int dfd, const pair_entry *e)
{
    char json[PATH_MAX], pprof[PATH_MAX];
    if (!pp_spool_name(json, sizeof json, p->base, e->pid, e->seq, PP_SPOOL_JSON) ||
        !pp_spool_name(pprof, sizeof pprof, p->base, e->pid, e->seq, PP_SPOOL_PPROF))
        return;
    /* The .json goes first so a reader never picks up a pair whose .pprof is gone. */
    if (unlinkat(dfd, json, 0) != 0 && errno == ENOENT)
        return; /* a reader took it meanwhile: nothing was dropped */
    unlinkat(dfd, pprof, 0);
    atomic_fetch_add(&profiles_dropped, 1);
}

/* Drops the oldest pairs so that, with the one about to be written, at most
 * PP_MAX_UNREAD_PROFILES remain; also returns the highest seq already used by this pid (pids are
 * reused, e.g. pid 1 in a restarted container, and an unread pair must not be overwritten). */
static void scan_directory(const out_paths *p, pid_t pid, uint64_t *max_seq_for_pid)
{
    *max_seq_for_pid = 0;
    pp_own_dir *r = pp_own_dir_open(p->dir);
    if (!r)
        return;
    pair_entry *pairs = malloc(PP_MAX_SCAN_ENTRIES * sizeof *pairs);
    size_t n = 0, seen = 0;
    const char *name;
    while ((name = pp_own_dir_next(r)) != NULL && seen++ < PP_MAX_SCAN_ENTRIES) {
        uint64_t fpid, fseq;
        int kind = pp_spool_parse(name, p->base, &fpid, &fseq, NULL);
        if (kind == PP_SPOOL_OTHER)
            continue;
        bool json = kind == PP_SPOOL_IS_JSON;
        if (fpid == (uint64_t)pid && fseq > *max_seq_for_pid)
            *max_seq_for_pid = fseq;
        struct stat st;
        if (!json || !pairs || stat_entry(r->fd.fd, name, &st) != 0)
            continue;
        pairs[n].mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
        pairs[n].pid = fpid;
        pairs[n].seq = fseq;
        n++;
    }
    if (pairs && n >= PP_MAX_UNREAD_PROFILES) {
        qsort(pairs, n, sizeof *pairs, compare_pairs);
        for (size_t i = 0; i + PP_MAX_UNREAD_PROFILES <= n && pp_own_check(&r->fd); i++)
            drop_pair(p, r->fd.fd, &pairs[i]);
    }
    free(pairs);
    pp_own_dir_close(r);
}

/* ---- atomic files ---- */

/* pwrite, after checking the number is still the file we created: on a stream pwrite fails
 * (ESPIPE) instead of adding bytes, so a number taken over by the application in between costs
 * this profile, never the application's data. */
static int write_all(pp_own_fd *f, const void *buf, size_t len)
{
    const char *b = buf;
    off_t at = 0;
    while (len) {
        if (!pp_own_check(f)) {
            errno = EBADF;
            return -1;
        }
        ssize_t w = pwrite(f->fd, b, len, at);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        b += w;
        at += w;
        len -= (size_t)w;
    }
    return 0;
}

/* Opened, written and closed here: no descriptor outlives one file of one flush. */
static int write_atomically(const out_paths *p, const char *name, const void *buf, size_t len)
{
    char tmp[2 * PATH_MAX], final[2 * PATH_MAX];
    if (snprintf(tmp, sizeof tmp, "%s/.%s.tmp", p->dir, name) >= (int)sizeof tmp ||
        snprintf(final, sizeof final, "%s/%s", p->dir, name) >= (int)sizeof final) {
        errno = ENAMETOOLONG;
        return -1;
    }
    pp_own_fd f;
    if (pp_own_open(&f, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW, 0644) != 0)
        return -1;
    int rc = write_all(&f, buf, len);
    int saved = errno;
    if (pp_own_close(&f) != 0 && rc == 0) {
        rc = -1;
        saved = errno;
    }
    if (rc == 0 && rename(tmp, final) != 0) {
        rc = -1;
        saved = errno;
    }
    if (rc != 0) {
        unlink(tmp);
        errno = saved;
    }
    return rc;
}

/* ---- metadata JSON ---- */

typedef struct jbuf {
    char *p;
    size_t len, cap;
    bool failed;
} jbuf;

static void jb_raw(jbuf *j, const char *s, size_t n)
{
    if (j->failed)
        return;
    if (j->len + n + 1 > j->cap) {
        size_t cap = j->cap ? j->cap : 1024;
        while (cap < j->len + n + 1)
            cap *= 2;
        char *p = realloc(j->p, cap);
        if (!p) {
            j->failed = true;
            return;
        }
        j->p = p;
        j->cap = cap;
    }
    memcpy(j->p + j->len, s, n);
    j->len += n;
    j->p[j->len] = '\0';
}

static void jb_printf(jbuf *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void jb_printf(jbuf *j, const char *fmt, ...)
{
    char tmp[128];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof tmp)
        j->failed = true;
    else
        jb_raw(j, tmp, (size_t)n);
}

/* Length of the valid UTF-8 sequence at s (1-4), or 0 when the bytes are not valid UTF-8
 * (overlongs, surrogates and code points past U+10FFFF included). */
static size_t utf8_sequence(const unsigned char *s, size_t avail)
{
    unsigned char c = s[0];
    size_t n;
    uint32_t cp;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf) {
        n = 2;
        cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (avail < n)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10ffff ||
        (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return n;
}

/* A JSON string, or null. Environment values are whatever the pod spec says, so quotes,
 * backslashes, control characters and invalid UTF-8 (replaced by U+FFFD) are all handled. */
static void jb_string(jbuf *j, const char *s)
{
    if (!s) {
        jb_raw(j, "null", 4);
        return;
    }
    jb_raw(j, "\"", 1);
    const unsigned char *u = (const unsigned char *)s;
    size_t len = strlen(s);
    for (size_t i = 0; i < len;) {
        unsigned char c = u[i];
        if (c == '"' || c == '\\') {
            char esc[2] = {'\\', (char)c};
            jb_raw(j, esc, 2);
            i++;
        } else if (c < 0x20 || c == 0x7f) {
            jb_printf(j, "\\u%04x", c);
            i++;
        } else {
            size_t n = utf8_sequence(u + i, len - i);
            if (n == 0) {
                jb_raw(j, "\\ufffd", 6);
                i++;
            } else {
                jb_raw(j, (const char *)u + i, n);
                i += n;
            }
        }
    }
    jb_raw(j, "\"", 1);
}

static void jb_key(jbuf *j, const char *key)
{
    if (j->len > 1)
        jb_raw(j, ",", 1);
    jb_string(j, key);
    jb_raw(j, ":", 1);
}

static void jb_double(jbuf *j, double v)
{
    if (isfinite(v))
        jb_printf(j, "%.6g", v);
    else
        jb_raw(j, "null", 4);
}

static void jb_time(jbuf *j, int64_t ns)
{
    time_t secs = (time_t)(ns / 1000000000);
    long frac = (long)(ns % 1000000000);
    if (frac < 0) {
        frac += 1000000000;
        secs -= 1;
    }
    struct tm tm;
    char buf[64];
    if (!gmtime_r(&secs, &tm) || !strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm)) {
        j->failed = true;
        return;
    }
    jb_printf(j, "\"%s.%09ldZ\"", buf, frac);
}

static void jb_string_array(jbuf *j, const char *const *items, size_t n)
{
    jb_raw(j, "[", 1);
    for (size_t i = 0; i < n; i++) {
        if (i)
            jb_raw(j, ",", 1);
        jb_string(j, items[i]);
    }
    jb_raw(j, "]", 1);
}

/* `"name":`, after a comma unless first in its object. */
static void jb_member(jbuf *j, const char *name, bool first)
{
    if (!first)
        jb_raw(j, ",", 1);
    jb_string(j, name);
    jb_raw(j, ":", 1);
}

static void jb_provenance(jbuf *j, const pp_provenance_view *v)
{
    jb_key(j, PP_META_CODE_PROVENANCE);
    jb_raw(j, "{", 1);
    jb_member(j, PP_PROVENANCE_STDLIB, true);
    jb_string_array(j, v->stdlib, v->n_stdlib);
    jb_member(j, PP_PROVENANCE_LIBRARIES, false);
    jb_raw(j, "[", 1);
    for (size_t i = 0; i < v->n_libraries; i++) {
        const pp_provenance_library *lib = &v->libraries[i];
        jb_raw(j, i ? ",{" : "{", i ? 2 : 1);
        jb_member(j, PP_PROVENANCE_NAME, true);
        jb_string(j, lib->name);
        jb_member(j, PP_PROVENANCE_VERSION, false);
        jb_string(j, lib->version);
        jb_member(j, PP_PROVENANCE_PATHS, false);
        jb_string_array(j, lib->paths, lib->n_paths);
        jb_raw(j, "}", 1);
    }
    jb_raw(j, "]}", 2);
}

static char *metadata_json(const pp_config *cfg, const pp_agg *agg, const pp_flush_info *info,
                           const char *pprof_name, size_t *len)
{
    jbuf j = {0};
    jb_raw(&j, "{", 1);
    jb_key(&j, PP_META_START);
    jb_time(&j, info->start_ns);
    jb_key(&j, PP_META_END);
    jb_time(&j, info->end_ns);
    jb_key(&j, PP_META_PID);
    jb_printf(&j, "%ld", (long)getpid());
    jb_key(&j, PP_META_RUNTIME_ID);
    jb_string(&j, info->runtime_id);
    jb_key(&j, PP_META_PYTHON_VERSION);
    jb_string(&j, info->python_version);
    jb_key(&j, PP_META_SERVICE);
    jb_string(&j, cfg->service);
    jb_key(&j, PP_META_ENV);
    jb_string(&j, cfg->env);
    jb_key(&j, PP_META_VERSION);
    jb_string(&j, cfg->version);
    jb_key(&j, PP_META_TAGS);
    jb_string(&j, cfg->tags);
    jb_key(&j, PP_META_PROFILING_TAGS);
    jb_string(&j, cfg->profiling_tags);
    jb_key(&j, PP_META_CONTAINER);
    jb_string(&j, cfg->container);
    jb_key(&j, PP_META_SAMPLING_RATE_HZ);
    jb_double(&j, cfg->sample_rate_hz);
    jb_key(&j, PP_META_EFFECTIVE_SAMPLING_RATE_HZ);
    jb_double(&j, info->effective_rate_hz);
    jb_key(&j, PP_META_PERIOD_NS);
    jb_printf(&j, "%" PRId64, info->period_ns);
    jb_key(&j, PP_META_PPROF);
    jb_string(&j, pprof_name);
    jb_key(&j, PP_META_PROFILER);
    jb_string(&j, "podprof");
    jb_key(&j, PP_META_PROFILER_VERSION);
    jb_string(&j, PODPROF_VERSION);
    if (info->provenance)
        jb_provenance(&j, info->provenance);
    jb_key(&j, PP_META_COUNTERS);
    jb_raw(&j, "{", 1);
    size_t outer = j.len;
    for (size_t i = 0; i < info->n_counters; i++) {
        if (!info->counters[i].name)
            continue;
        if (j.len > outer)
            jb_raw(&j, ",", 1);
        jb_string(&j, info->counters[i].name);
        jb_printf(&j, ":%" PRIu64, info->counters[i].value);
    }
    if (j.len > outer)
        jb_raw(&j, ",", 1);
    jb_printf(&j,
              "\"stacks_dropped\":%" PRIu64 ",\"string_table_resets\":%" PRIu64
              ",\"profiles_dropped\":%" PRIu64 ",\"flush_failures\":%" PRIu64,
              pp_agg_dropped_stacks(agg), pp_agg_generation(agg),
              (uint64_t)atomic_load(&profiles_dropped), (uint64_t)atomic_load(&flush_failures));
    jb_raw(&j, "}}\n", 3);
    if (j.failed) {
        free(j.p);
        return NULL;
    }
    *len = j.len;
    return j.p;
}

/* ---- flush ---- */

static void count_stack(void *ctx, const pp_sample_key *key, const int64_t *values)
{
    (void)key, (void)values;
    (*(size_t *)ctx)++;
}

int pp_profile_flush(const pp_config *cfg, const pp_agg *agg, const pp_flush_info *info)
{
    /* Nothing sampled (`python -c pass`, an exec probe, an idle interval): nothing to write, so
     * nothing to upload. */
    size_t stacks = 0;
    pp_agg_foreach(agg, count_stack, &stacks);
    if (stacks == 0)
        return 0;
    out_paths paths;
    if (!resolve_paths(cfg, &paths)) {
        atomic_fetch_add(&flush_failures, 1);
        pp_log(PP_LOG_ERROR, "profile output prefix is too long; profile dropped");
        return -1;
    }
    pid_t pid = getpid();
    uint64_t max_seq;
    scan_directory(&paths, pid, &max_seq);
    char this_prefix[sizeof seq_prefix];
    snprintf(this_prefix, sizeof this_prefix, "%s/%s", paths.dir, paths.base);
    if (seq_pid != pid || strcmp(seq_prefix, this_prefix) != 0) {
        seq_pid = pid;
        memcpy(seq_prefix, this_prefix, sizeof seq_prefix);
        seq = 0;
    }
    if (seq < max_seq)
        seq = max_seq;
    uint64_t this_seq = ++seq;

    /* resolve_paths left room for these in NAME_MAX. */
    char pprof_name[PATH_MAX], json_name[PATH_MAX];
    if (!pp_spool_name(pprof_name, sizeof pprof_name, paths.base, (uint64_t)pid, this_seq,
                       PP_SPOOL_PPROF) ||
        !pp_spool_name(json_name, sizeof json_name, paths.base, (uint64_t)pid, this_seq,
                       PP_SPOOL_JSON))
        return -1;

    unsigned char *gz = NULL;
    size_t gz_len = 0;
    if (pp_pprof_encode_gzip(agg, info, &gz, &gz_len) != 0) {
        atomic_fetch_add(&flush_failures, 1);
        pp_log(PP_LOG_ERROR, "could not encode the profile (out of memory); profile dropped");
        return -1;
    }
    int rc = write_atomically(&paths, pprof_name, gz, gz_len);
    free(gz);
    if (rc != 0) {
        atomic_fetch_add(&flush_failures, 1);
        pp_log(PP_LOG_ERROR, "cannot write %s/%s: %s; profile dropped", paths.dir, pprof_name,
               strerror(errno));
        return -1;
    }
    size_t json_len = 0;
    char *json = metadata_json(cfg, agg, info, pprof_name, &json_len);
    rc = json ? write_atomically(&paths, json_name, json, json_len) : -1;
    int saved = json ? errno : ENOMEM;
    free(json);
    if (rc != 0) {
        char path[2 * PATH_MAX];
        if (snprintf(path, sizeof path, "%s/%s", paths.dir, pprof_name) < (int)sizeof path)
            unlink(path);
        atomic_fetch_add(&flush_failures, 1);
        pp_log(PP_LOG_ERROR, "cannot write %s/%s: %s; profile dropped", paths.dir, json_name,
               strerror(saved));
        return -1;
    }
    return 0;
}
