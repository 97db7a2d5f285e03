/* One TLS client connection of a worker: allocated with its SSL, linked into the worker's list,
 * freed exactly when OpenSSL frees the SSL. Tracks the bytes read so the deadline sweep can tell a
 * request in progress from an idle keep-alive connection. */
#include <stdlib.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>

#include "metrics.h"
#include "server_internal.h"

static int conn_index = -1;

static unsigned long conn_rbytes(const SSL *ssl)
{
    BIO *rbio = SSL_get_rbio(ssl);
    return rbio ? (unsigned long)BIO_number_read(rbio) : 0;
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
    inj_metrics_connection(1);
    SSL_set_ex_data(ssl, conn_index, c);
    SSL_set_info_callback(ssl, ssl_info);
    struct bufferevent *bev = bufferevent_openssl_socket_new(
        base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
    if (!bev)
        SSL_free(ssl); /* unlinks c */
    else if (bufferevent_add_to_rate_limit_group(bev, w->ingress) < 0) {
        bufferevent_free(bev); /* frees ssl, which unlinks c */
        return NULL;
    }
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
}

bool inj_conn_busy(struct conn *c, SSL *ssl)
{
    unsigned long rb = conn_rbytes(ssl);
    return c->handshake_done ? rb > c->idle_rbytes : rb > 0;
}

void inj_conn_init(void)
{
    if (conn_index < 0)
        conn_index = SSL_get_ex_new_index(0, NULL, NULL, NULL, conn_unlink_free);
}
