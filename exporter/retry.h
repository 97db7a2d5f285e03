/* Bounded retries: when the next attempt at a profile is due (exponential backoff with jitter) and
 * the per-profile attempt bookkeeping. Which failures are worth another attempt is the
 * uploader's call (uploader.c classifies each result). */
#ifndef PODPROF_EXPORTER_RETRY_H
#define PODPROF_EXPORTER_RETRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EX_RETRY_MAX_DELAY_MS 60000

/* Delay before attempt number `failures + 1`: base * 2^(failures-1), capped, then a uniformly
 * random point in its upper half (never zero, so a dead agent is not hammered). */
int64_t ex_retry_delay_ms(int failures, int base_ms, uint64_t *rng);

typedef struct ex_retry_entry {
    char *name; /* spool base name */
    int failures;
    int64_t next_at_ms; /* CLOCK_MONOTONIC */
    bool seen;          /* still present at the last scan */
} ex_retry_entry;

typedef struct ex_retry_table {
    ex_retry_entry *items;
    size_t n;
} ex_retry_table;

ex_retry_entry *ex_retry_find(ex_retry_table *t, const char *name);
ex_retry_entry *ex_retry_add(ex_retry_table *t, const char *name);
void ex_retry_remove(ex_retry_table *t, const char *name);
/* Forgets entries whose files are gone (seen == false), then clears the flags. */
void ex_retry_sweep(ex_retry_table *t);
void ex_retry_free(ex_retry_table *t);

#endif
