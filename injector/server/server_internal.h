/* The pieces of the HTTPS server shared by its files: a worker is one event-loop thread with its
 * own listening socket (worker.c), a conn is one TLS client connection (conn.c), requests are
 * routed in routes.c, sockets opened in listeners.c, certificates watched in cert_watch.c, and
 * server.c starts the workers and turns SIGTERM into a graceful drain. */
#ifndef PODPROF_INJECTOR_SERVER_INTERNAL_H
#define PODPROF_INJECTOR_SERVER_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/listener.h>
#include <openssl/ssl.h>

#include "budget.h"
#include "config.h"
#include "tls.h"

struct worker;

/* One client connection, attached to its SSL so it lives exactly as long as the connection. */
struct conn {
    struct worker *w;
    struct conn *prev, *next;
    SSL *ssl; /* owner of this struct (ex_data), never outlived by it */
    bool handshake_done;
    unsigned long idle_rbytes; /* bytes read when the connection last became idle */
    double busy_since;         /* monotonic time a request started arriving, 0 when idle */
    struct bufferevent *bev;
    bool large;   /* its request is not small: reads in the large lane */
    bool evicted; /* closed to make room, no longer counted */
    size_t held;  /* bytes read for the request in progress, taken from its lane */
};

/* A request up to this size (a pod's review is a few KiB, rarely over 64) that arrives within
 * this time (the API server sends a review at once) keeps reading in the small lane; beyond
 * either, its connection moves to the large lane until its answer is sent, so clients sending
 * large, slow or endless bodies share a rate of their own and cannot starve ordinary reviews. */
#define INJ_SMALL_REQUEST_BYTES (64u << 10)
#define INJ_SMALL_REQUEST_SECONDS 1.0

struct worker {
    int id;
    int fd;
    pthread_t thread;
    struct event_base *base;
    struct evhttp *http;
    struct evhttp_bound_socket *bound;
    struct event *stop_ev, *sweep_ev, *resume_ev;
    struct evconnlistener *listener;
    /* every connection's reads together, in two lanes: small requests, large requests */
    struct bufferevent_rate_limit_group *small_lane, *large_lane;
    struct ev_token_bucket_cfg *small_cfg, *large_cfg;
    size_t small_cap, large_cap; /* their allowances in bytes */
    struct conn conns;           /* list head; most recently active first */
    int n_conns;  /* open and not evicted, at most budget.conn_max (+1 while accepting) */
    bool full;    /* accepting paused: every connection busy at the bound */
    bool closing; /* being freed: connections no longer give bytes back */
    bool draining;
    struct server *srv;
};

struct server {
    const inj_config *cfg;
    inj_budget budget;
    inj_tls *tls;
    struct worker *workers;
    int n_workers;
    atomic_bool draining;
    double drain_deadline;
    bool fail_answers; /* test hook: PP_ENV_TEST_INJECTOR_FAIL_ANSWERS */
};

/* What the main loop's signal and timer callbacks work on. */
struct main_ctx {
    struct server *s;
    struct event_base *base;
};

static inline double now_mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* conn.c: connection lifetime. */
void inj_conn_init(void);
struct bufferevent *inj_conn_new(struct event_base *base, void *arg);
struct conn *inj_conn_of(struct evhttp_request *req);
void inj_conn_response_sent(struct evhttp_request *req, void *arg);
bool inj_conn_busy(struct conn *c, SSL *ssl);
/* Moves a busy connection whose request is not small (INJ_SMALL_REQUEST_*) to the large lane. */
void inj_conn_check_lane(struct conn *c, double now);
/* At the connection bound: closes the longest-idle connection, else pauses accepting. */
void inj_conn_make_room(struct worker *w);
/* Reads what a rate-limited read left decrypted inside the SSL object. */
void inj_conn_read_pending(struct conn *c);

/* routes.c: answers one request (evhttp's general callback; arg is the worker). */
void inj_route(struct evhttp_request *req, void *arg);

/* worker.c: one event loop per thread, the request deadline sweep, pausing accept. */
int inj_worker_setup(struct server *s, struct worker *w);
void inj_worker_free(struct worker *w);
void *inj_worker_main(void *arg);

/* listeners.c: one SO_REUSEPORT socket per worker on ADDR:PORT, and the descriptor limit. */
int inj_listeners_open(struct server *s, char *err, size_t errlen, int *bound_port);
void inj_raise_fd_limit(void);

/* cert_watch.c: certificate reloads (a persistent timer callback; arg is the main_ctx). */
void inj_cert_publish_expiry(struct server *s);
void inj_cert_check(evutil_socket_t fd, short what, void *arg);

#endif
