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
};

struct worker {
    int id;
    int fd;
    pthread_t thread;
    struct event_base *base;
    struct evhttp *http;
    struct evhttp_bound_socket *bound;
    struct event *stop_ev, *sweep_ev, *resume_ev;
    struct evconnlistener *listener;
    struct bufferevent_rate_limit_group *ingress; /* every connection's reads together */
    struct ev_token_bucket_cfg *ingress_cfg;
    struct conn conns; /* list head */
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
