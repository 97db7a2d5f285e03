/* Parser for the Kubernetes Downward API `labels` file: one `key="value"` line per label, the
 * value quoted the way Go's strconv.Quote does (backslash escapes, \xNN, \uNNNN, \UNNNNNNNN). */
#ifndef PODPROF_EXPORTER_LABELS_H
#define PODPROF_EXPORTER_LABELS_H

#include <stddef.h>

typedef struct ex_label {
    char *key, *value;
} ex_label;

typedef struct ex_labels {
    ex_label *items;
    size_t n;
    size_t malformed;   /* lines skipped */
    int first_bad_line; /* 1-based, 0 when none */
} ex_labels;

/* Parses a buffer; never fails (bad lines are skipped and counted). */
void ex_labels_parse(const char *text, size_t len, ex_labels *out);

/* Reads and parses a file; returns 0, or -1 with errno set when it cannot be read. */
int ex_labels_read(const char *path, ex_labels *out);

void ex_labels_free(ex_labels *labels);

#endif
