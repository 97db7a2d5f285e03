/* What went wrong while exporting, counted per kind and logged at most once a minute per kind, so
 * a dead agent or a broken spool produces one clear line, not a flood. The counters go into every
 * event.json `internal.exporter`. */
#ifndef PODPROF_EXPORTER_FAULTS_H
#define PODPROF_EXPORTER_FAULTS_H

#include <stdint.h>

#include "podprof/log.h"

typedef enum {
    EX_FAULT_REFUSED,          /* connection refused / host unreachable */
    EX_FAULT_SOCKET_MISSING,   /* unix:// socket path does not exist */
    EX_FAULT_DNS,              /* agent host name does not resolve */
    EX_FAULT_TIMEOUT,          /* request exceeded DD_PROFILING_API_TIMEOUT_MS */
    EX_FAULT_CONNECTION,       /* peer closed, reset or sent garbage */
    EX_FAULT_TLS,              /* TLS handshake or certificate verification failed */
    EX_FAULT_HTTP_5XX,         /* 5xx, 408 or 429: retried */
    EX_FAULT_HTTP_4XX,         /* other 4xx: the intake will never accept it, dropped */
    EX_FAULT_CORRUPT_SPOOL,    /* unreadable, half-written or undecodable spool file */
    EX_FAULT_SPOOL_FULL,       /* spool over its bound: oldest profile dropped */
    EX_FAULT_LABELS_MISSING,   /* labels file configured but unreadable */
    EX_FAULT_LABELS_MALFORMED, /* a labels line that is not key="quoted value" */
    EX_FAULT_TOO_LARGE,        /* beyond the intake's size or the exporter's memory, dropped */
    EX_FAULT_GAVE_UP,          /* retries exhausted, profile dropped */
    EX_FAULT_UNSAFE_SPOOL,     /* a link, FIFO, directory or foreign file under a spool name */
    EX_FAULT_OTHER,
    EX_FAULT_COUNT
} ex_fault_kind;

typedef struct ex_faults {
    uint64_t count[EX_FAULT_COUNT];
    uint64_t suppressed[EX_FAULT_COUNT];
    int64_t last_log_ms[EX_FAULT_COUNT];
    uint64_t uploads_ok, uploads_failed, retries, bytes_sent, spool_dropped, profiles_seen;
} ex_faults;

const char *ex_fault_name(ex_fault_kind kind);

/* Counts one fault and logs `fmt` unless this kind was logged in the last minute. */
void ex_fault(ex_faults *f, ex_fault_kind kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The exporter's log sink (the shape every podprof program shares is in podprof/log.h): one line
 * on stderr prefixed "podprof export: ", not rate-limited (ex_fault is, for repeated failures). */
void ex_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void ex_log_set_level(int level);

int64_t ex_now_ms(void); /* CLOCK_MONOTONIC */

#endif
