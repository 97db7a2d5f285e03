/* Prometheus metrics of the server: lock-free counters shared by every event-loop thread,
 * rendered in the text exposition format for GET /metrics. */
#ifndef PODPROF_INJECTOR_METRICS_H
#define PODPROF_INJECTOR_METRICS_H

#include <stddef.h>

/* Admission results beyond the mutation outcomes. */
#define INJ_RESULT_BAD_REQUEST (-1)

void inj_metrics_admission(int outcome, int skip_reason, double seconds);
void inj_metrics_http(int status);
void inj_metrics_tls_handshake_error(void);
void inj_metrics_connection(int delta);
void inj_metrics_accept_error(void);
void inj_metrics_internal_error(void);
void inj_metrics_cert_reload(int ok);
void inj_metrics_cert_expiry(double unix_seconds);

/* The exposition text (malloc'd, *len set), or NULL on out-of-memory. */
char *inj_metrics_render(size_t *len);

#endif
