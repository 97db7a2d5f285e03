#include "server.h"

#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>
#include <event2/thread.h>
#include <openssl/ssl.h>

#include "admission.h"
#include "arena.h"
#include "log.h"
#include "metrics.h"
#include "optin.h"
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
    struct conn conns; /* list head */
    bool draining;
    struct server *srv;
};

struct server {
    const inj_config *cfg;
    inj_tls *tls;
    struct worker *workers;
    int n_workers;
    atomic_bool draining;
    double drain_deadline;
};

static int conn_index = -1;
static struct server *current_server; /* for the listener's error callback */

static double now_mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

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

static struct bufferevent *new_connection(struct event_base *base, void *arg)
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
    return bev;
}

static struct conn *conn_of(struct evhttp_request *req)
{
    struct evhttp_connection *evcon = evhttp_request_get_connection(req);
    struct bufferevent *bev = evcon ? evhttp_connection_get_bufferevent(evcon) : NULL;
    SSL *ssl = bev ? bufferevent_openssl_get_ssl(bev) : NULL;
    return ssl ? SSL_get_ex_data(ssl, conn_index) : NULL;
}

static void response_sent(struct evhttp_request *req, void *arg)
{
    (void)arg;
    struct conn *c = conn_of(req);
    if (!c)
        return;
    c->idle_rbytes = conn_rbytes(c->ssl);
    c->busy_since = 0;
}

static void reply(struct worker *w, struct evhttp_request *req, int code, const char *reason,
                  const char *type, const char *body, size_t len)
{
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    struct evbuffer *out = evhttp_request_get_output_buffer(req);
    if (type)
        evhttp_add_header(h, "Content-Type", type);
    if (w->draining)
        evhttp_add_header(h, "Connection", "close");
    if (body)
        evbuffer_add(out, body, len);
    evhttp_request_set_on_complete_cb(req, response_sent, NULL);
    inj_metrics_http(code);
    evhttp_send_reply(req, code, reason, NULL);
}

static void reply_text(struct worker *w, struct evhttp_request *req, int code, const char *reason,
                       const char *text)
{
    char line[300];
    int n = snprintf(line, sizeof line, "%s\n", text);
    reply(w, req, code, reason, "text/plain; charset=utf-8", line,
          n < (int)sizeof line ? (size_t)n : sizeof line - 1);
}

static void handle_mutate(struct worker *w, struct evhttp_request *req, int mode)
{
    double t0 = now_mono();
    inj_arena_begin();
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t len = evbuffer_get_length(in);
    const char *body = len ? (const char *)evbuffer_pullup(in, -1) : "";
    inj_review r;
    inj_review_handle_body(w->srv->cfg, body, len, mode, &r);
    if (r.status == 200) {
        reply(w, req, 200, "OK", "application/json", r.body, strlen(r.body));
    } else {
        reply_text(w, req, r.status, r.status == 400 ? "Bad Request" : "Internal Server Error",
                   r.body ? r.body : "out of memory");
    }
    double dt = now_mono() - t0;
    inj_metrics_admission(r.status == 200 ? r.m.outcome : INJ_RESULT_BAD_REQUEST, r.m.reason, dt);
    if (r.status != 200) {
        inj_log(INJ_LOG_WARN, "bad admission request", "error", r.body ? r.body : "", NULL);
    } else if (inj_log_enabled(r.m.outcome == INJ_INJECTED || r.m.outcome == INJ_SKIPPED
                                   ? INJ_LOG_INFO
                                   : INJ_LOG_DEBUG)) {
        char us[32];
        snprintf(us, sizeof us, "%.0f", dt * 1e6);
        inj_log(INJ_LOG_INFO, "admission", "uid", r.uid, "namespace", r.ns, "pod", r.name, "result",
                inj_outcome_name(r.m.outcome), "detail", r.m.detail, "micros", us, NULL);
    }
    inj_review_free(&r);
    inj_arena_end();
}

static void handle(struct evhttp_request *req, void *arg)
{
    struct worker *w = arg;
    struct conn *c = conn_of(req);
    if (!c) {
        /* Only if creating the TLS state failed (out of memory): libevent then falls back to a
         * plain socket, which must not be served. */
        evhttp_add_header(evhttp_request_get_output_headers(req), "Connection", "close");
        reply_text(w, req, 500, "Internal Server Error", "TLS unavailable");
        return;
    }
    if (c->busy_since == 0)
        c->busy_since = now_mono();
    const char *uri = evhttp_request_get_uri(req);
    char path[128];
    size_t n = strcspn(uri, "?#");
    snprintf(path, sizeof path, "%.*s", (int)(n < sizeof path ? n : sizeof path - 1), uri);
    enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);

    if (!strncmp(path, "/mutate", 7)) {
        int mode = inj_ns_mode_from_path(path);
        if (mode < 0) {
            reply_text(w, req, 404, "Not Found",
                       "unknown path; use /mutate/annotated or "
                       "/mutate/all");
        } else if (cmd != EVHTTP_REQ_POST) {
            evhttp_add_header(h, "Allow", "POST");
            reply_text(w, req, 405, "Method Not Allowed", "use POST");
        } else {
            handle_mutate(w, req, mode);
        }
        return;
    }
    bool get = cmd == EVHTTP_REQ_GET || cmd == EVHTTP_REQ_HEAD;
    if (!strcmp(path, "/healthz") || !strcmp(path, "/readyz") || !strcmp(path, "/metrics")) {
        if (!get) {
            evhttp_add_header(h, "Allow", "GET, HEAD");
            reply_text(w, req, 405, "Method Not Allowed", "use GET");
        } else if (!strcmp(path, "/healthz")) {
            reply_text(w, req, 200, "OK", "ok");
        } else if (!strcmp(path, "/readyz")) {
            if (atomic_load(&w->srv->draining))
                reply_text(w, req, 503, "Service Unavailable", "shutting down");
            else
                reply_text(w, req, 200, "OK", "ok");
        } else {
            size_t len = 0;
            char *text = inj_metrics_render(&len);
            if (text)
                reply(w, req, 200, "OK", "text/plain; version=0.0.4", text, len);
            else
                reply_text(w, req, 500, "Internal Server Error", "out of memory");
            free(text);
        }
        return;
    }
    reply_text(w, req, 404, "Not Found", "not found");
}

static bool conn_busy(struct conn *c, SSL *ssl)
{
    unsigned long rb = conn_rbytes(ssl);
    return c->handshake_done ? rb > c->idle_rbytes : rb > 0;
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
        if (!conn_busy(c, ssl)) {
            c->busy_since = 0;
            continue;
        }
        busy++;
        if (c->busy_since == 0) {
            c->busy_since = now;
        } else if (now - c->busy_since > w->srv->cfg->request_timeout_s) {
            inj_log(INJ_LOG_WARN, "closing a connection whose request took too long", NULL);
            shutdown(SSL_get_fd(ssl), SHUT_RDWR);
            c->busy_since = now; /* once */
        }
    }
    if (w->draining && (busy == 0 || now > w->srv->drain_deadline)) {
        if (busy)
            inj_log(INJ_LOG_WARN, "shutdown timeout: closing connections with requests in flight",
                    NULL);
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
    if (inj_log_enabled(INJ_LOG_WARN)) {
        char msg[96];
        snprintf(msg, sizeof msg, "%s", evutil_socket_error_to_string(err));
        inj_log(INJ_LOG_WARN, "accept failed; pausing 100 ms", "error", msg, NULL);
    }
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    event_base_dispatch(w->base);
    inj_arena_release();
    return NULL;
}

static int setup_worker(struct server *s, struct worker *w)
{
    const inj_config *cfg = s->cfg;
    w->srv = s;
    w->conns.next = w->conns.prev = &w->conns;
    w->base = event_base_new();
    w->http = w->base ? evhttp_new(w->base) : NULL;
    if (!w->http)
        return -1;
    evhttp_set_bevcb(w->http, new_connection, w);
    evhttp_set_gencb(w->http, handle, w);
    /* libevent's timeout is per read/write: it closes silent connections. The whole-request
     * deadline is the sweep's job. */
    evhttp_set_timeout(w->http, cfg->idle_timeout_s);
    evhttp_set_max_body_size(w->http, cfg->max_body_bytes);
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

static void free_worker(struct worker *w)
{
    if (w->http)
        evhttp_free(w->http); /* closes the listener and the remaining (idle) connections */
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

static int parse_listen(const char *listen, char *host, size_t hostlen, char *port, size_t portlen)
{
    const char *colon = strrchr(listen, ':');
    if (!colon)
        return -1;
    const char *h = listen;
    size_t hn = (size_t)(colon - listen);
    if (hn >= 2 && h[0] == '[' && h[hn - 1] == ']') {
        h++;
        hn -= 2;
    }
    if (hn >= hostlen || strlen(colon + 1) >= portlen || !colon[1])
        return -1;
    memcpy(host, h, hn);
    host[hn] = '\0';
    strcpy(port, colon + 1);
    return 0;
}

/* Every worker gets its own socket on the same port; the kernel spreads connections. */
static int open_listeners(struct server *s, char *err, size_t errlen, int *bound_port)
{
    char host[256], port[16];
    if (parse_listen(s->cfg->listen, host, sizeof host, port, sizeof port) < 0) {
        snprintf(err, errlen, "--listen: '%s' is not ADDR:PORT", s->cfg->listen);
        return -1;
    }
    struct addrinfo hints = {.ai_flags = AI_PASSIVE, .ai_socktype = SOCK_STREAM}, *ai = NULL;
    int rc = getaddrinfo(host[0] ? host : NULL, port, &hints, &ai);
    if (rc != 0) {
        snprintf(err, errlen, "--listen %s: %s", s->cfg->listen, gai_strerror(rc));
        return -1;
    }
    for (int i = 0; i < s->n_workers; i++) {
        int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        int one = 1;
        if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
            setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) < 0 ||
            /* Inherited by accepted sockets: a response is often two TLS records, and Nagle
             * would hold the second until the client's delayed ACK. */
            setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) < 0 ||
            bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 1024) < 0) {
            snprintf(err, errlen, "--listen %s: %s", s->cfg->listen, strerror(errno));
            if (fd >= 0)
                close(fd);
            freeaddrinfo(ai);
            return -1;
        }
        s->workers[i].fd = fd;
        if (i == 0) {
            /* Port 0: the others must join the port the kernel picked for the first. */
            struct sockaddr_storage ss;
            socklen_t sl = sizeof ss;
            getsockname(fd, (struct sockaddr *)&ss, &sl);
            int p = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                                   : ((struct sockaddr_in *)&ss)->sin_port);
            *bound_port = p;
            if (ai->ai_family == AF_INET6)
                ((struct sockaddr_in6 *)ai->ai_addr)->sin6_port = htons((uint16_t)p);
            else
                ((struct sockaddr_in *)ai->ai_addr)->sin_port = htons((uint16_t)p);
        }
    }
    freeaddrinfo(ai);
    return 0;
}

static void raise_fd_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

struct main_ctx {
    struct server *s;
    struct event_base *base;
};

static void publish_expiry(struct server *s)
{
    inj_metrics_cert_expiry(inj_tls_not_after(s->tls));
}

static void check_certs(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    struct main_ctx *m = arg;
    char err[300] = "";
    int rc = inj_tls_reload_if_changed(m->s->tls, err, sizeof err);
    if (rc == 0)
        return;
    inj_metrics_cert_reload(rc > 0);
    if (rc > 0) {
        publish_expiry(m->s);
        inj_log(INJ_LOG_INFO | INJ_LOG_ALWAYS, "certificate reloaded", "cert", m->s->cfg->tls_cert,
                NULL);
    } else {
        inj_log(INJ_LOG_ERROR, "certificate reload failed; still serving the previous one", "error",
                err, NULL);
    }
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    (void)what;
    struct main_ctx *m = arg;
    inj_log(INJ_LOG_INFO | INJ_LOG_ALWAYS,
            "shutting down: no new connections, finishing requests in flight", "signal",
            sig == SIGTERM ? "SIGTERM" : "SIGINT", NULL);
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
    current_server = &s;
    int port = 0, rc = 2;
    struct main_ctx m = {&s, NULL};
    struct event *sigterm = NULL, *sigint = NULL, *cert_timer = NULL;

    signal(SIGPIPE, SIG_IGN);
    inj_arena_install();
    raise_fd_limit();
    if (evthread_use_pthreads() < 0) {
        inj_log(INJ_LOG_ERROR, "libevent threading unavailable", NULL);
        return 2;
    }
    if (conn_index < 0)
        conn_index = SSL_get_ex_new_index(0, NULL, NULL, NULL, conn_unlink_free);
    s.tls = inj_tls_new(cfg->tls_cert, cfg->tls_key, err, sizeof err);
    if (!s.tls) {
        inj_log(INJ_LOG_ERROR, "cannot start: TLS", "error", err, NULL);
        return 2;
    }
    publish_expiry(&s);
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    s.n_workers = cfg->workers > 0 ? cfg->workers : (cpus > 0 ? (int)cpus : 1);
    s.workers = calloc((size_t)s.n_workers, sizeof *s.workers);
    if (!s.workers)
        goto out;
    for (int i = 0; i < s.n_workers; i++)
        s.workers[i].fd = -1;
    if (open_listeners(&s, err, sizeof err, &port) < 0) {
        inj_log(INJ_LOG_ERROR, "cannot start: listen", "error", err, NULL);
        goto out;
    }
    for (int i = 0; i < s.n_workers; i++) {
        s.workers[i].id = i;
        if (setup_worker(&s, &s.workers[i]) < 0) {
            inj_log(INJ_LOG_ERROR, "cannot start: event loop setup failed", NULL);
            goto out;
        }
    }
    m.base = event_base_new();
    sigterm = m.base ? evsignal_new(m.base, SIGTERM, on_signal, &m) : NULL;
    sigint = m.base ? evsignal_new(m.base, SIGINT, on_signal, &m) : NULL;
    cert_timer = m.base ? event_new(m.base, -1, EV_PERSIST, check_certs, &m) : NULL;
    struct timeval every = {cfg->cert_check_interval_s, 0};
    if (!sigterm || !sigint || !cert_timer || evsignal_add(sigterm, NULL) < 0 ||
        evsignal_add(sigint, NULL) < 0 || event_add(cert_timer, &every) < 0) {
        inj_log(INJ_LOG_ERROR, "cannot start: signal setup failed", NULL);
        goto out;
    }
    for (int i = 0; i < s.n_workers; i++)
        pthread_create(&s.workers[i].thread, NULL, worker_main, &s.workers[i]);
    char ports[16], workers[16];
    snprintf(ports, sizeof ports, "%d", port);
    snprintf(workers, sizeof workers, "%d", s.n_workers);
    inj_log(INJ_LOG_INFO | INJ_LOG_ALWAYS, "listening", "listen", cfg->listen, "port", ports,
            "workers", workers, NULL);
    event_base_dispatch(m.base);
    for (int i = 0; i < s.n_workers; i++)
        pthread_join(s.workers[i].thread, NULL);
    inj_log(INJ_LOG_INFO | INJ_LOG_ALWAYS, "stopped", NULL);
    rc = 0;
out:
    for (int i = 0; s.workers && i < s.n_workers; i++)
        free_worker(&s.workers[i]);
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
