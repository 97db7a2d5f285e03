#include "metrics.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mutation.h"
#include "podprof/version.h"

/* Seconds; fine-grained below a millisecond, where the webhook is expected to live. */
static const double buckets[] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                 0.01,   0.025,   0.1,    0.5,   1.0};
#define N_BUCKETS (sizeof buckets / sizeof buckets[0])

/* 413 and other protocol errors are answered by libevent itself and not seen here. */
static const int http_codes[] = {200, 400, 404, 405, 500, 503};
#define N_CODES (sizeof http_codes / sizeof http_codes[0])

static struct {
    atomic_ulong admission[INJ_OUTCOME_COUNT + 1]; /* last slot: bad_request */
    atomic_ulong skipped[INJ_SKIP_REASON_COUNT];
    atomic_ulong hist[N_BUCKETS + 1];
    atomic_ulong hist_count;
    atomic_ulong hist_sum_ns;
    atomic_ulong http[N_CODES + 1];
    atomic_ulong tls_errors;
    atomic_ulong accept_errors;
    atomic_ulong internal_errors;
    atomic_long connections;
    atomic_ulong reload_ok, reload_failed;
    _Atomic double cert_expiry;
} M;

void inj_metrics_admission(int outcome, int skip_reason, double seconds)
{
    int slot = outcome == INJ_RESULT_BAD_REQUEST ? INJ_OUTCOME_COUNT : outcome;
    if (slot < 0 || slot > INJ_OUTCOME_COUNT)
        return;
    atomic_fetch_add_explicit(&M.admission[slot], 1, memory_order_relaxed);
    if (outcome == INJ_SKIPPED && skip_reason > 0 && skip_reason < INJ_SKIP_REASON_COUNT)
        atomic_fetch_add_explicit(&M.skipped[skip_reason], 1, memory_order_relaxed);
    size_t b = 0;
    while (b < N_BUCKETS && seconds > buckets[b])
        b++;
    atomic_fetch_add_explicit(&M.hist[b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&M.hist_count, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&M.hist_sum_ns, (unsigned long)(seconds * 1e9), memory_order_relaxed);
}

void inj_metrics_http(int status)
{
    size_t i = 0;
    while (i < N_CODES && http_codes[i] != status)
        i++;
    atomic_fetch_add_explicit(&M.http[i], 1, memory_order_relaxed);
}

void inj_metrics_tls_handshake_error(void)
{
    atomic_fetch_add_explicit(&M.tls_errors, 1, memory_order_relaxed);
}

void inj_metrics_internal_error(void)
{
    atomic_fetch_add_explicit(&M.internal_errors, 1, memory_order_relaxed);
}

void inj_metrics_accept_error(void)
{
    atomic_fetch_add_explicit(&M.accept_errors, 1, memory_order_relaxed);
}

void inj_metrics_connection(int delta)
{
    atomic_fetch_add_explicit(&M.connections, delta, memory_order_relaxed);
}

void inj_metrics_cert_reload(int ok)
{
    atomic_fetch_add_explicit(ok ? &M.reload_ok : &M.reload_failed, 1, memory_order_relaxed);
}

void inj_metrics_cert_expiry(double unix_seconds)
{
    atomic_store(&M.cert_expiry, unix_seconds);
}

#define LOAD(x) atomic_load_explicit(&(x), memory_order_relaxed)

char *inj_metrics_render(size_t *len)
{
    char *buf = NULL;
    FILE *f = open_memstream(&buf, len);
    if (!f)
        return NULL;
    fprintf(f,
            "# HELP podprof_injector_build_info Version of the running injector.\n"
            "# TYPE podprof_injector_build_info gauge\n"
            "podprof_injector_build_info{version=\"%s\"} 1\n",
            PODPROF_VERSION);
    fprintf(f, "# HELP podprof_injector_admission_requests_total AdmissionReviews by result.\n"
               "# TYPE podprof_injector_admission_requests_total counter\n");
    for (int i = 0; i <= INJ_OUTCOME_COUNT; i++)
        fprintf(f, "podprof_injector_admission_requests_total{result=\"%s\"} %lu\n",
                i == INJ_OUTCOME_COUNT ? "bad_request" : inj_outcome_name(i), LOAD(M.admission[i]));
    fprintf(f,
            "# HELP podprof_injector_patches_applied_total Pods the profiler was injected "
            "into.\n# TYPE podprof_injector_patches_applied_total counter\n"
            "podprof_injector_patches_applied_total %lu\n",
            LOAD(M.admission[INJ_INJECTED]));
    fprintf(f, "# HELP podprof_injector_patches_skipped_total Opted-in pods not injected, by "
               "reason.\n# TYPE podprof_injector_patches_skipped_total counter\n");
    for (int i = 1; i < INJ_SKIP_REASON_COUNT; i++)
        fprintf(f, "podprof_injector_patches_skipped_total{reason=\"%s\"} %lu\n",
                inj_skip_reason_name(i), LOAD(M.skipped[i]));
    fprintf(f, "# HELP podprof_injector_admission_duration_seconds Time from a complete request "
               "to its response, per AdmissionReview.\n"
               "# TYPE podprof_injector_admission_duration_seconds histogram\n");
    unsigned long cum = 0;
    for (size_t b = 0; b <= N_BUCKETS; b++) {
        cum += LOAD(M.hist[b]);
        if (b < N_BUCKETS)
            fprintf(f, "podprof_injector_admission_duration_seconds_bucket{le=\"%g\"} %lu\n",
                    buckets[b], cum);
        else
            fprintf(f, "podprof_injector_admission_duration_seconds_bucket{le=\"+Inf\"} %lu\n",
                    cum);
    }
    fprintf(f,
            "podprof_injector_admission_duration_seconds_sum %.9f\n"
            "podprof_injector_admission_duration_seconds_count %lu\n",
            (double)LOAD(M.hist_sum_ns) / 1e9, LOAD(M.hist_count));
    fprintf(f, "# HELP podprof_injector_http_responses_total HTTP responses by status code.\n"
               "# TYPE podprof_injector_http_responses_total counter\n");
    for (size_t i = 0; i <= N_CODES; i++) {
        if (i < N_CODES)
            fprintf(f, "podprof_injector_http_responses_total{code=\"%d\"} %lu\n", http_codes[i],
                    LOAD(M.http[i]));
        else
            fprintf(f, "podprof_injector_http_responses_total{code=\"other\"} %lu\n",
                    LOAD(M.http[i]));
    }
    fprintf(f,
            "# HELP podprof_injector_tls_handshake_errors_total Connections that sent data "
            "but never completed a TLS handshake.\n"
            "# TYPE podprof_injector_tls_handshake_errors_total counter\n"
            "podprof_injector_tls_handshake_errors_total %lu\n",
            LOAD(M.tls_errors));
    fprintf(f,
            "# HELP podprof_injector_accept_errors_total accept() failures (e.g. out of file "
            "descriptors); accepting pauses 100 ms after each.\n"
            "# TYPE podprof_injector_accept_errors_total counter\n"
            "podprof_injector_accept_errors_total %lu\n",
            LOAD(M.accept_errors));
    fprintf(f,
            "# HELP podprof_injector_internal_errors_total Reviews that met an internal error "
            "(e.g. out of memory) and were answered allowed, unchanged, with a warning.\n"
            "# TYPE podprof_injector_internal_errors_total counter\n"
            "podprof_injector_internal_errors_total %lu\n",
            LOAD(M.internal_errors));
    fprintf(f,
            "# HELP podprof_injector_connections_open Client connections currently open.\n"
            "# TYPE podprof_injector_connections_open gauge\n"
            "podprof_injector_connections_open %ld\n",
            LOAD(M.connections));
    fprintf(f,
            "# HELP podprof_injector_certificate_reloads_total Serving certificate reloads "
            "after a file change.\n# TYPE podprof_injector_certificate_reloads_total counter\n"
            "podprof_injector_certificate_reloads_total{result=\"success\"} %lu\n"
            "podprof_injector_certificate_reloads_total{result=\"failure\"} %lu\n",
            LOAD(M.reload_ok), LOAD(M.reload_failed));
    fprintf(f,
            "# HELP podprof_injector_certificate_expiry_timestamp_seconds notAfter of the "
            "serving certificate in use (Unix time).\n"
            "# TYPE podprof_injector_certificate_expiry_timestamp_seconds gauge\n"
            "podprof_injector_certificate_expiry_timestamp_seconds %.0f\n",
            atomic_load(&M.cert_expiry));
    if (fclose(f) != 0) {
        free(buf);
        return NULL;
    }
    return buf;
}
