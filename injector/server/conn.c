/* One TLS client connection of a worker: allocated with its SSL, linked into the worker's list,
 * freed exactly when OpenSSL frees the SSL. Tracks the bytes read so the deadline sweep can tell a
 * request in progress from an idle keep-alive connection. */
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/bufferevent_struct.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "metrics.h"
#include "server_internal.h"

static int conn_index = -1;

static unsigned long conn_rbytes(const SSL *ssl)
{
    BIO *rbio = SSL_get_rbio(ssl);
    return rbio ? (unsigned long)BIO_number_read(rbio) : 0;
}

static struct bufferevent_rate_limit_group *lane_of(const struct conn *c)
{
    return c->large ? c->w->large_lane : c->w->small_lane;
}

/* Returns the bytes of the request in progress to the connection's lane (budget.h). */
static void give_back(struct conn *c)
{
    if (c->held && !c->w->closing) {
        bufferevent_rate_limit_group_decrement_read(lane_of(c), -(ev_ssize_t)c->held);
        c->held = 0;
    }
}

/* Every byte read (decrypted) into the connection's input is what its lane was charged. */
static void count_read(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
    (void)buf;
    struct conn *c = arg;
    c->held += info->n_added;
}

static void conn_unlink_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl,
                             void *argp)
{
    (void)ad, (void)idx, (void)argl, (void)argp;
    struct conn *c = ptr;
    if (!c)
        return;
    /* Data arrived but no handshake completed: garbage, a plain-HTTP client, a bad client cert
     * chain... A bare TCP probe that sends nothing is not counted. */
    if (!c->handshake_done && conn_rbytes(parent) > 0)
        inj_metrics_tls_handshake_error();
    c->prev->next = c->next;
    c->next->prev = c->prev;
    if (!c->evicted)
        c->w->n_conns--;
    give_back(c);
    inj_metrics_connection(-1);
    free(c);
}

static void ssl_info(const SSL *ssl, int where, int ret)
{
    (void)ret;
    if (!(where & SSL_CB_HANDSHAKE_DONE))
        return;
    struct conn *c = SSL_get_ex_data(ssl, conn_index);
    if (c && !c->handshake_done) {
        c->handshake_done = true;
        c->idle_rbytes = conn_rbytes(ssl);
    }
}

struct bufferevent *inj_conn_new(struct event_base *base, void *arg)
{
    struct worker *w = arg;
    SSL *ssl = inj_tls_new_ssl(w->srv->tls);
    struct conn *c = calloc(1, sizeof *c);
    if (!ssl || !c) {
        SSL_free(ssl);
        free(c);
        return NULL;
    }
    c->w = w;
    c->ssl = ssl;
    c->next = w->conns.next;
    c->prev = &w->conns;
    w->conns.next->prev = c;
    w->conns.next = c;
    w->n_conns++;
    inj_metrics_connection(1);
    SSL_set_ex_data(ssl, conn_index, c);
    SSL_set_info_callback(ssl, ssl_info);
    struct bufferevent *bev = bufferevent_openssl_socket_new(
        base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
    c->bev = bev;
    if (!bev)
        SSL_free(ssl); /* unlinks c */
    else if (!evbuffer_add_cb(bufferevent_get_input(bev), count_read, c)) {
        bufferevent_free(bev); /* frees ssl, which unlinks c */
        return NULL;
    } else if (bufferevent_add_to_rate_limit_group(bev, w->small_lane) < 0) {
        bufferevent_free(bev); /* frees ssl, which unlinks c */
        return NULL;
    }
    if (bev && w->n_conns > w->srv->budget.conn_max)
        inj_conn_make_room(w);
    return bev;
}

struct conn *inj_conn_of(struct evhttp_request *req)
{
    struct evhttp_connection *evcon = evhttp_request_get_connection(req);
    struct bufferevent *bev = evcon ? evhttp_connection_get_bufferevent(evcon) : NULL;
    SSL *ssl = bev ? bufferevent_openssl_get_ssl(bev) : NULL;
    return ssl ? SSL_get_ex_data(ssl, conn_index) : NULL;
}

void inj_conn_response_sent(struct evhttp_request *req, void *arg)
{
    (void)arg;
    struct conn *c = inj_conn_of(req);
    if (!c)
        return;
    c->idle_rbytes = conn_rbytes(c->ssl);
    c->busy_since = 0;
    /* most recently active first: the list's tail is what make_room closes */
    c->prev->next = c->next;
    c->next->prev = c->prev;
    c->next = c->w->conns.next;
    c->prev = &c->w->conns;
    c->w->conns.next->prev = c;
    c->w->conns.next = c;
    give_back(c);
    if (c->large && bufferevent_add_to_rate_limit_group(c->bev, c->w->small_lane) == 0)
        c->large = false;
}

bool inj_conn_busy(struct conn *c, SSL *ssl)
{
    unsigned long rb = conn_rbytes(ssl);
    return c->handshake_done ? rb > c->idle_rbytes : rb > 0;
}

/* A bufferevent being freed (its finalizer, which frees the SSL and so this conn, not run yet)
 * has had its callbacks cleared; evhttp keeps an event callback on every live one. */
static bool conn_alive(const struct conn *c)
{
    bufferevent_event_cb eventcb = NULL;
    bufferevent_getcb(c->bev, NULL, NULL, &eventcb, NULL);
    return eventcb != NULL;
}

void inj_conn_check_lane(struct conn *c, double now)
{
    if (c->large || !c->bev || !c->handshake_done || !conn_alive(c))
        return;
    /* What was read of the request, and what waits in the socket: a large body is seen at once,
     * while the small lane's allowance still holds it back. */
    int waiting = 0;
    if (ioctl(SSL_get_fd(c->ssl), FIONREAD, &waiting) < 0 || waiting < 0)
        waiting = 0;
    unsigned long size = conn_rbytes(c->ssl) - c->idle_rbytes + (unsigned long)waiting;
    bool slow = c->busy_since > 0 && now - c->busy_since > INJ_SMALL_REQUEST_SECONDS;
    if ((size > INJ_SMALL_REQUEST_BYTES || slow) &&
        bufferevent_add_to_rate_limit_group(c->bev, c->w->large_lane) == 0) {
        /* what it holds moves with it */
        bufferevent_rate_limit_group_decrement_read(c->w->small_lane, -(ev_ssize_t)c->held);
        bufferevent_rate_limit_group_decrement_read(c->w->large_lane, (ev_ssize_t)c->held);
        c->large = true;
    }
}

void inj_conn_init(void)
{
    if (conn_index < 0)
        conn_index = SSL_get_ex_new_index(0, NULL, NULL, NULL, conn_unlink_free);
}

void inj_conn_read_pending(struct conn *c)
{
    /* A rate-limited read can stop inside a TLS record: the rest is decrypted data inside the
     * SSL object, and libevent, when the bucket refills, waits for the socket to become
     * readable, which never happens when the client has sent its whole request and waits. Run
     * the read callback instead, as the socket's readiness would. */
    if (c->bev && SSL_pending(c->ssl) > 0 && (c->bev->enabled & EV_READ) && conn_alive(c))
        event_active(&c->bev->ev_read, EV_READ, 1);
}

void inj_conn_make_room(struct worker *w)
{
    for (struct conn *c = w->conns.prev; c != &w->conns; c = c->prev) {
        if (c->evicted || inj_conn_busy(c, c->ssl) || !c->bev || !conn_alive(c))
            continue;
        /* evhttp sees an EOF and frees it on its own path, at once */
        c->evicted = true;
        w->n_conns--;
        shutdown(SSL_get_fd(c->ssl), SHUT_RDWR);
        inj_metrics_connection_evicted();
        return;
    }
    /* Every connection has a request in flight: new ones wait in the listen backlog until one
     * ends (the sweep resumes accepting); the request deadline bounds the wait. */
    if (!w->full && w->listener) {
        evconnlistener_disable(w->listener);
        w->full = true;
    }
}
