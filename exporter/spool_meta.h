/* The metadata the sampler writes beside each profile (<prefix>.<pid>.<seq>.json), read with the
 * keys of podprof/spool_format.h, which the writer uses too. */
#ifndef PODPROF_EXPORTER_SPOOL_META_H
#define PODPROF_EXPORTER_SPOOL_META_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

typedef struct ex_meta {
    int64_t start_ns, end_ns; /* epoch nanoseconds */
    long pid;
    /* owned, NULL when absent */
    char *runtime_id, *python_version, *service, *env, *version, *tags, *profiling_tags, *container;
    double rate_hz;            /* effective sampling rate, 0 when absent */
    double configured_rate_hz; /* DD_PROFILING_SAMPLE_RATE as the process saw it, 0 if absent */
    int64_t period_ns;         /* nominal sampling interval, 0 when absent */
    cJSON *counters;           /* owned object of name -> number, NULL when absent */
} ex_meta;

/* Parses the metadata document; returns 0, or -1 with a one-line reason in err. */
int ex_meta_parse(const char *text, size_t len, ex_meta *out, char *err, size_t errcap);
void ex_meta_free(ex_meta *m);

/* RFC3339 with exactly nine fractional digits, UTC ("2026-11-22T08:00:00.123456789Z"). */
void ex_format_rfc3339(int64_t epoch_ns, char out[40]);
/* Parses RFC3339 (any fraction length, Z or +hh:mm); returns 0 or -1. */
int ex_parse_rfc3339(const char *s, int64_t *epoch_ns);

#endif
