/* Top functions over one or more pprof files (gzip or raw protobuf), for `podprof top` and the
 * end of `podprof run`: by CPU and wall time side by side, or by any one sample type. */
#ifndef PODPROF_CLI_PPROF_SUMMARY_H
#define PODPROF_CLI_PPROF_SUMMARY_H

#include <stddef.h>
#include <stdio.h>

typedef struct pp_summary pp_summary;

/* type: a `--type` value (see sample_types.h), or NULL for CPU and wall time side by side. The
 * string must outlive the summary. */
pp_summary *pp_summary_new(const char *type);
void pp_summary_free(pp_summary *s);

/* Adds one profile. On bad input returns -1 with a one-line reason in err and adds nothing. */
int pp_summary_add_file(pp_summary *s, const char *path, char *err, size_t err_len);
int pp_summary_add_buffer(pp_summary *s, const unsigned char *data, size_t len, char *err,
                          size_t err_len);

/* Prints the totals and the `limit` top functions by flat value, one table per sample type. */
void pp_summary_print(const pp_summary *s, FILE *out, size_t limit);

size_t pp_summary_files(const pp_summary *s);

#endif
