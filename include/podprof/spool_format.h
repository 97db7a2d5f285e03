/* The spool format: how libpodprof.so hands profiles to the exporter (and to `podprof run`'s
 * summary). Each profile is a pair of files in the output prefix's directory,
 * <base>.<pid>.<seq>.pprof (gzip pprof) and <base>.<pid>.<seq>.json (the metadata keys below).
 * The writer renames the .json into place last, so a .json always announces a complete pair, and
 * a reader deletes the .json first. The library writes names and keys with this header; the
 * exporter and the CLI read them with it, so both sides always agree. libc only. */
#ifndef PODPROF_SPOOL_FORMAT_H
#define PODPROF_SPOOL_FORMAT_H

#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define PP_SPOOL_PPROF ".pprof"
#define PP_SPOOL_JSON ".json"
/* The base name of a prefix that names a directory ("/var/run/podprof/"). */
#define PP_SPOOL_DEFAULT_BASE "profile"
/* For help texts: what the files of one profile are called. */
#define PP_SPOOL_PATTERN "<prefix>.<pid>.<seq>"

/* The metadata document's keys. start and end are RFC 3339 times with nine fractional digits;
 * the strings are null when the setting was not given; counters is an object of numbers. */
#define PP_META_START "start"
#define PP_META_END "end"
#define PP_META_PID "pid"
#define PP_META_RUNTIME_ID "runtime-id"
#define PP_META_PYTHON_VERSION "python_version"
#define PP_META_SERVICE "service"
#define PP_META_ENV "env"
#define PP_META_VERSION "version"
#define PP_META_TAGS "tags"
#define PP_META_PROFILING_TAGS "profiling_tags"
#define PP_META_CONTAINER "container"
#define PP_META_SAMPLING_RATE_HZ "sampling_rate_hz"                     /* as configured */
#define PP_META_EFFECTIVE_SAMPLING_RATE_HZ "effective_sampling_rate_hz" /* after stretching */
#define PP_META_PERIOD_NS "period_ns"
#define PP_META_PPROF "pprof" /* the pair's .pprof file name */
#define PP_META_PROFILER "profiler"
#define PP_META_PROFILER_VERSION "profiler_version"
#define PP_META_COUNTERS "counters"

/* Splits an output prefix into the directory and the base name of its files: "dir/base",
 * "base" (in "."), "/base" (in "/"), and "dir/" gets PP_SPOOL_DEFAULT_BASE. Returns false when
 * the directory does not fit in dir. */
static inline bool pp_spool_split(const char *prefix, char *dir, size_t dirlen, const char **base)
{
    const char *slash = strrchr(prefix, '/');
    int n =
        !slash ? snprintf(dir, dirlen, ".")
               : snprintf(dir, dirlen, "%.*s", slash == prefix ? 1 : (int)(slash - prefix), prefix);
    *base = slash ? slash + 1 : prefix;
    if (!**base)
        *base = PP_SPOOL_DEFAULT_BASE;
    return n >= 0 && (size_t)n < dirlen;
}

/* Writes "<base>.<pid>.<seq><ext>" into buf; false when it does not fit. */
static inline bool pp_spool_name(char *buf, size_t len, const char *base, uint64_t pid,
                                 uint64_t seq, const char *ext)
{
    int n = snprintf(buf, len, "%s.%" PRIu64 ".%" PRIu64 "%s", base, pid, seq, ext);
    return n >= 0 && (size_t)n < len;
}

/* What pp_spool_parse found. */
enum { PP_SPOOL_OTHER, PP_SPOOL_IS_PPROF, PP_SPOOL_IS_JSON };

/* Parses "<base>.<pid>.<seq>.pprof" or ".json": the two numbers (at most 18 digits each) and the
 * length of the base, which is never empty and must be want_base unless that is NULL. Returns
 * PP_SPOOL_IS_PPROF or PP_SPOOL_IS_JSON, or PP_SPOOL_OTHER for any other name. */
static inline int pp_spool_parse(const char *name, const char *want_base, uint64_t *pid,
                                 uint64_t *seq, size_t *base_len)
{
    size_t len = strlen(name);
    int kind = len > 6 && !strcmp(name + len - 6, PP_SPOOL_PPROF)  ? PP_SPOOL_IS_PPROF
               : len > 5 && !strcmp(name + len - 5, PP_SPOOL_JSON) ? PP_SPOOL_IS_JSON
                                                                   : PP_SPOOL_OTHER;
    const char *p = name + len - (kind == PP_SPOOL_IS_PPROF ? 6 : 5);
    uint64_t nums[2];
    for (int i = 1; kind && i >= 0; i--) {
        const char *end = p;
        while (p > name && p[-1] >= '0' && p[-1] <= '9')
            p--;
        if (p == end || end - p > 18 || p == name || p[-1] != '.')
            return PP_SPOOL_OTHER;
        nums[i] = 0;
        for (const char *d = p; d < end; d++)
            nums[i] = nums[i] * 10 + (uint64_t)(*d - '0');
        p--; /* the dot */
    }
    size_t bl = (size_t)(p - name);
    if (!kind || !bl || (want_base && (strlen(want_base) != bl || memcmp(name, want_base, bl))))
        return PP_SPOOL_OTHER;
    *pid = nums[0];
    *seq = nums[1];
    if (base_len)
        *base_len = bl;
    return kind;
}

#endif
