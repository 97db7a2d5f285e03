/* One worker: an event loop on its own thread serving its own listening socket. It enforces the
 * whole-request deadline, pauses accepting when descriptors run out, and stops accepting and
 * drains when the server shuts down. */
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>
#include <event2/listener.h>

#include "arena.h"
#include "log.h"
#include "metrics.h"
#include "server_internal.h"

static struct server *current_server; /* for the listener's error callback */

/* Enforces the whole-request deadline (a client trickling bytes never trips a per-read timeout)
 * and, while draining, exits once no request is in flight. Shutting the socket down makes
 * evhttp see an ordinary EOF and free the connection on its own path. */
static void sweep(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    struct worker *w = arg;
    double now = now_mono();
    int busy = 0;
    for (struct conn *c = w->conns.next; c != &w->conns; c = c->next) {
        SSL *ssl = c->ssl;
        if (!inj_conn_busy(c, ssl)) {
            c->busy_since = 0;
            continue;
        }
        busy++;
        if (c->busy_since == 0) {
            c->busy_since = now;
        } else if (now - c->busy_since > w->srv->cfg->request_timeout_s) {
            inj_log(PP_LOG_WARN, "closing a connection whose request took too long");
            shutdown(SSL_get_fd(ssl), SHUT_RDWR);
            c->busy_since = now; /* once */
        }
    }
    if (w->draining && (busy == 0 || now > w->srv->drain_deadline)) {
        if (busy)
            inj_log(PP_LOG_WARN, "shutdown timeout: closing connections with requests in flight");
        event_base_loopbreak(w->base);
    }
}

static void stop_accepting(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    struct worker *w = arg;
    if (w->bound) {
        evhttp_del_accept_socket(w->http, w->bound);
        w->bound = NULL;
    }
    w->draining = true;
    sweep(-1, 0, w);
}

static void resume_accepting(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    struct worker *w = arg;
    if (w->bound && !w->draining)
        evconnlistener_enable(w->listener);
}

/* Out of file descriptors (or memory): pause accepting for a moment instead of spinning on a
 * listening socket that stays readable; open connections keep being served and closing. */
static void accept_failed(struct evconnlistener *lev, void *arg)
{
    (void)arg;
    int err = EVUTIL_SOCKET_ERROR();
    struct worker *w = NULL;
    for (int i = 0; current_server && i < current_server->n_workers; i++)
        if (current_server->workers[i].listener == lev)
            w = &current_server->workers[i];
    if (!w)
        return;
    evconnlistener_disable(lev);
    struct timeval pause = {0, 100000};
    evtimer_add(w->resume_ev, &pause);
    inj_metrics_accept_error();
    inj_log(PP_LOG_WARN, "accept failed; pausing 100 ms" PP_LOG_FIELD("error") "%s",
            evutil_socket_error_to_string(err));
}

void *inj_worker_main(void *arg)
{
    struct worker *w = arg;
    event_base_dispatch(w->base);
    inj_arena_release();
    return NULL;
}

int inj_worker_setup(struct server *s, struct worker *w)
{
    current_server = s;
    const inj_config *cfg = s->cfg;
    w->srv = s;
    w->conns.next = w->conns.prev = &w->conns;
    w->base = event_base_new();
    w->http = w->base ? evhttp_new(w->base) : NULL;
    if (!w->http)
        return -1;
    evhttp_set_bevcb(w->http, inj_conn_new, w);
    evhttp_set_gencb(w->http, inj_route, w);
    /* libevent's timeout is per read/write: it closes silent connections. The whole-request
     * deadline is the sweep's job. */
    evhttp_set_timeout(w->http, cfg->idle_timeout_s);
    evhttp_set_max_body_size(w->http, (ev_ssize_t)s->budget.body_max);
    /* Every connection of this worker reads from one token bucket (budget.h): the bytes of
     * requests still arriving stay under rate × request-timeout, however many send at once. */
    /* One-second ticks: a TLS record (16 KiB) is read whole or not at all, so with short ticks
     * holding less than a few records the rate achieved fell far below the one set. */
    size_t per_tick = s->budget.ingress_rate;
    if (per_tick < 16384)
        per_tick = 16384;
    if (per_tick > EV_RATE_LIMIT_MAX)
        per_tick = EV_RATE_LIMIT_MAX;
    struct timeval tick_len = {1, 0};
    w->ingress_cfg = ev_token_bucket_cfg_new(per_tick, per_tick, EV_RATE_LIMIT_MAX,
                                             EV_RATE_LIMIT_MAX, &tick_len);
    w->ingress = w->ingress_cfg ? bufferevent_rate_limit_group_new(w->base, w->ingress_cfg) : NULL;
    if (!w->ingress)
        return -1;
    /* Read and discard the rest of an oversized body so the client sees the 413 instead of a
     * reset while it is still sending (the request deadline bounds how long that may take). */
    evhttp_set_flags(w->http, EVHTTP_SERVER_LINGERING_CLOSE);
    evhttp_set_max_headers_size(w->http, cfg->max_header_bytes);
    evhttp_set_allowed_methods(w->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
                                            EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
                                            EVHTTP_REQ_OPTIONS | EVHTTP_REQ_PATCH);
    /* Our own listener, only to handle accept() errors: evhttp's would retry a full file
     * table in a busy loop. */
    w->listener = evconnlistener_new(w->base, NULL, NULL, LEV_OPT_CLOSE_ON_FREE, 0, w->fd);
    if (!w->listener)
        return -1;
    w->fd = -1; /* owned by the listener now */
    evconnlistener_set_error_cb(w->listener, accept_failed);
    w->bound = evhttp_bind_listener(w->http, w->listener);
    w->resume_ev = evtimer_new(w->base, resume_accepting, w);
    w->stop_ev = event_new(w->base, -1, 0, stop_accepting, w);
    w->sweep_ev = event_new(w->base, -1, EV_PERSIST, sweep, w);
    struct timeval tick = {0, 200000};
    if (!w->bound || !w->resume_ev || !w->stop_ev || !w->sweep_ev ||
        event_add(w->sweep_ev, &tick) < 0)
        return -1;
    return 0;
}

void inj_worker_free(struct worker *w)
{
    if (w->http)
        evhttp_free(w->http); /* closes the listener and the remaining (idle) connections */
    /* Their bufferevents leave the rate-limit group in finalizers the loop runs; the group may
     * only be freed empty. */
    if (w->base)
        event_base_loop(w->base, EVLOOP_NONBLOCK);
    if (w->ingress)
        bufferevent_rate_limit_group_free(w->ingress);
    if (w->ingress_cfg)
        ev_token_bucket_cfg_free(w->ingress_cfg);
    if (w->fd >= 0)
        close(w->fd);
    if (w->stop_ev)
        event_free(w->stop_ev);
    if (w->resume_ev)
        event_free(w->resume_ev);
    if (w->sweep_ev)
        event_free(w->sweep_ev);
    if (w->base)
        event_base_free(w->base);
}
