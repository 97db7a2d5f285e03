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

/* Sets a lane's allowance to capacity bytes. */
static void lane_fill(struct bufferevent_rate_limit_group *g, size_t capacity)
{
    ev_ssize_t now = bufferevent_rate_limit_group_get_read_limit(g);
    if (now != (ev_ssize_t)capacity)
        bufferevent_rate_limit_group_decrement_read(g, now - (ev_ssize_t)capacity);
}

/* A lane: a libevent rate-limit group used as an allowance of bytes, not a rate. It starts with
 * capacity bytes; every byte its connections read is taken from it, and conn.c gives the bytes
 * of a request back when it is answered or its connection closes. The group's own refill is
 * made negligible (1 byte a minute, and never above capacity). */
static struct bufferevent_rate_limit_group *lane_new(struct event_base *base, size_t *capacity,
                                                     struct ev_token_bucket_cfg **cfg)
{
    if (*capacity < 65536)
        *capacity = 65536;
    if (*capacity > EV_RATE_LIMIT_MAX)
        *capacity = EV_RATE_LIMIT_MAX;
    struct timeval minute = {60, 0};
    *cfg = ev_token_bucket_cfg_new(1, *capacity, EV_RATE_LIMIT_MAX, EV_RATE_LIMIT_MAX, &minute);
    struct bufferevent_rate_limit_group *g =
        *cfg ? bufferevent_rate_limit_group_new(base, *cfg) : NULL;
    if (g)
        lane_fill(g, *capacity);
    return g;
}

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
            inj_conn_check_lane(c, now); /* a request may wait unread in the socket */
            continue;
        }
        busy++;
        if (c->busy_since == 0)
            c->busy_since = now;
        inj_conn_check_lane(c, now);
        inj_conn_read_pending(c);
        if (now - c->busy_since > w->srv->cfg->request_timeout_s) {
            inj_log(PP_LOG_WARN, "closing a connection whose request took too long");
            shutdown(SSL_get_fd(ssl), SHUT_RDWR);
            c->busy_since = now; /* once */
        }
    }
    if (busy == 0) {
        /* nothing in flight: the allowances are whole (this also mends any byte the accounting
         * could have missed, so none is lost for good) */
        lane_fill(w->small_lane, w->small_cap);
        lane_fill(w->large_lane, w->large_cap);
    }
    if (w->full && w->n_conns < w->srv->budget.conn_max) {
        w->full = false;
        if (w->bound && !w->draining)
            evconnlistener_enable(w->listener);
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
    if (w->bound && !w->draining && !w->full)
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
    /* Every connection of this worker reads from one of two allowances (budget.h): the bytes of
     * requests not yet answered stay under in_flight, however many send at once. */
    w->small_cap = s->budget.small_lane;
    w->large_cap = s->budget.in_flight - s->budget.small_lane;
    w->small_lane = lane_new(w->base, &w->small_cap, &w->small_cfg);
    w->large_lane = lane_new(w->base, &w->large_cap, &w->large_cfg);
    if (!w->small_lane || !w->large_lane)
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
    w->closing = true; /* the lanes' accounting no longer matters */
    if (w->http)
        evhttp_free(w->http); /* closes the listener and the remaining (idle) connections */
    /* Their bufferevents leave the rate-limit groups in finalizers the loop runs; a group may
     * only be freed empty. */
    for (int i = 0; w->base && i < 4; i++)
        event_base_loop(w->base, EVLOOP_NONBLOCK);
    if (w->small_lane)
        bufferevent_rate_limit_group_free(w->small_lane);
    if (w->large_lane)
        bufferevent_rate_limit_group_free(w->large_lane);
    if (w->small_cfg)
        ev_token_bucket_cfg_free(w->small_cfg);
    if (w->large_cfg)
        ev_token_bucket_cfg_free(w->large_cfg);
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
