/* Start-up and shutdown of the server: TLS, listeners and one worker thread each, the certificate
 * timer, and SIGTERM/SIGINT turned into a drain (stop accepting, finish what is in flight). */
#include "server.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>
#include <event2/event.h>
#include <event2/thread.h>

#include "arena.h"
#include "log.h"
#include "server_internal.h"

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    (void)what;
    struct main_ctx *m = arg;
    inj_log(PP_LOG_INFO | PP_LOG_ALWAYS,
            "shutting down: no new connections, finishing requests in flight" PP_LOG_FIELD(
                "signal") "%s",
            sig == SIGTERM ? "SIGTERM" : "SIGINT");
    atomic_store(&m->s->draining, true);
    m->s->drain_deadline = now_mono() + m->s->cfg->shutdown_timeout_s;
    for (int i = 0; i < m->s->n_workers; i++)
        event_active(m->s->workers[i].stop_ev, 0, 0);
    event_base_loopbreak(m->base);
}

int inj_server_run(const inj_config *cfg)
{
    char err[400] = "";
    struct server s = {.cfg = cfg};
    int port = 0, rc = 2;
    struct main_ctx m = {&s, NULL};
    struct event *sigterm = NULL, *sigint = NULL, *cert_timer = NULL;

    signal(SIGPIPE, SIG_IGN);
    inj_arena_install();
    inj_raise_fd_limit();
    if (evthread_use_pthreads() < 0) {
        inj_log(PP_LOG_ERROR, "libevent threading unavailable");
        return 2;
    }
    inj_conn_init();
    s.tls = inj_tls_new(cfg->tls_cert, cfg->tls_key, err, sizeof err);
    if (!s.tls) {
        inj_log(PP_LOG_ERROR, "cannot start: TLS" PP_LOG_FIELD("error") "%s", err);
        return 2;
    }
    inj_cert_publish_expiry(&s);
    if (inj_budget_derive(cfg, inj_cgroup_memory_limit(), inj_cgroup_cpu_quota(),
                          sysconf(_SC_NPROCESSORS_ONLN), &s.budget, err, sizeof err) < 0) {
        inj_log(PP_LOG_ERROR, "cannot start: memory" PP_LOG_FIELD("error") "%s", err);
        goto out;
    }
    inj_arena_set_limit(s.budget.arena_max);
    s.n_workers = s.budget.workers;
    s.workers = calloc((size_t)s.n_workers, sizeof *s.workers);
    if (!s.workers)
        goto out;
    for (int i = 0; i < s.n_workers; i++)
        s.workers[i].fd = -1;
    if (inj_listeners_open(&s, err, sizeof err, &port) < 0) {
        inj_log(PP_LOG_ERROR, "cannot start: listen" PP_LOG_FIELD("error") "%s", err);
        goto out;
    }
    for (int i = 0; i < s.n_workers; i++) {
        s.workers[i].id = i;
        if (inj_worker_setup(&s, &s.workers[i]) < 0) {
            inj_log(PP_LOG_ERROR, "cannot start: event loop setup failed");
            goto out;
        }
    }
    m.base = event_base_new();
    sigterm = m.base ? evsignal_new(m.base, SIGTERM, on_signal, &m) : NULL;
    sigint = m.base ? evsignal_new(m.base, SIGINT, on_signal, &m) : NULL;
    cert_timer = m.base ? event_new(m.base, -1, EV_PERSIST, inj_cert_check, &m) : NULL;
    struct timeval every = {cfg->cert_check_interval_s, 0};
    if (!sigterm || !sigint || !cert_timer || evsignal_add(sigterm, NULL) < 0 ||
        evsignal_add(sigint, NULL) < 0 || event_add(cert_timer, &every) < 0) {
        inj_log(PP_LOG_ERROR, "cannot start: signal setup failed");
        goto out;
    }
    for (int i = 0; i < s.n_workers; i++)
        pthread_create(&s.workers[i].thread, NULL, inj_worker_main, &s.workers[i]);
    inj_log(
        PP_LOG_INFO | PP_LOG_ALWAYS,
        "listening" PP_LOG_FIELD("listen") "%s" PP_LOG_FIELD("port") "%d" PP_LOG_FIELD("workers") "%d" PP_LOG_FIELD("memory_limit") "%ld" PP_LOG_FIELD(
            "limit_from") "%s" PP_LOG_FIELD("max_body") "%zu" PP_LOG_FIELD("request_memory") "%z"
                                                                                             "u" PP_LOG_FIELD(
                                                                                                 "r"
                                                                                                 "e"
                                                                                                 "a"
                                                                                                 "d"
                                                                                                 "_"
                                                                                                 "r"
                                                                                                 "a"
                                                                                                 "t"
                                                                                                 "e") "%zu",
        cfg->listen, port, s.n_workers, s.budget.limit, s.budget.limit_from, s.budget.body_max,
        s.budget.arena_max, s.budget.ingress_rate);
    event_base_dispatch(m.base);
    for (int i = 0; i < s.n_workers; i++)
        pthread_join(s.workers[i].thread, NULL);
    inj_log(PP_LOG_INFO | PP_LOG_ALWAYS, "stopped");
    rc = 0;
out:
    for (int i = 0; s.workers && i < s.n_workers; i++)
        inj_worker_free(&s.workers[i]);
    free(s.workers);
    if (sigterm)
        event_free(sigterm);
    if (sigint)
        event_free(sigint);
    if (cert_timer)
        event_free(cert_timer);
    if (m.base)
        event_base_free(m.base);
    inj_tls_free(s.tls);
    return rc;
}
