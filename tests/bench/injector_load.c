/* TLS keep-alive load generator for the injector: N connections over libevent's HTTP client on
 * bufferevent_openssl, either at a fixed total rate (open loop: latency counts from the moment a
 * request was due, so a stalled server cannot hide its queueing) or at saturation (each
 * connection sends again as soon as it has its answer). Prints requests/s and p50/p99/p999. */
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

struct opts {
    const char *host, *ca, *server_name, *path, *body_file;
    int port, conns, threads;
    double rate, seconds;
};

struct conn;
struct thread {
    struct opts *o;
    struct event_base *base;
    SSL_CTX *ctx;
    struct conn *conns;
    int n_conns;
    double *lat;
    size_t n_lat, cap_lat;
    unsigned long errors, sent;
    int warming;
    double start, end;
    char *body;
    size_t body_len;
};

struct conn {
    struct thread *t;
    struct evhttp_connection *evcon;
    struct event *tick;
    double interval, next_due;
    int in_flight;
};

struct pending {
    struct conn *c;
    double due;
};

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void send_one(struct conn *c, double due);

static void done(struct evhttp_request *req, void *arg)
{
    struct pending *p = arg;
    struct conn *c = p->c;
    struct thread *t = c->t;
    double finished = now();
    c->in_flight--;
    if (!req || evhttp_request_get_response_code(req) != 200) {
        t->errors++;
    } else if (t->n_lat < t->cap_lat) {
        t->lat[t->n_lat++] = finished - p->due;
    }
    free(p);
    if (finished >= t->end) {
        if (c->tick)
            event_del(c->tick);
        return;
    }
    if (t->o->rate <= 0 && !t->warming)
        send_one(c, finished);
}

static void send_one(struct conn *c, double due)
{
    struct thread *t = c->t;
    struct pending *p = malloc(sizeof *p);
    p->c = c;
    p->due = due;
    struct evhttp_request *req = evhttp_request_new(done, p);
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    evhttp_add_header(h, "Host", t->o->server_name);
    evhttp_add_header(h, "Content-Type", "application/json");
    evbuffer_add(evhttp_request_get_output_buffer(req), t->body, t->body_len);
    c->in_flight++;
    t->sent++;
    /* A busy connection queues the request: that queueing is part of the measured latency. */
    if (evhttp_make_request(c->evcon, req, EVHTTP_REQ_POST, t->o->path) != 0) {
        t->errors++;
        c->in_flight--;
        free(p);
    }
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    struct conn *c = arg;
    double n = now();
    if (n >= c->t->end) {
        event_del(c->tick);
        return;
    }
    while (c->next_due <= n) {
        send_one(c, c->next_due);
        c->next_due += c->interval;
    }
    double wait = c->next_due - n;
    struct timeval tv = {(time_t)wait, (suseconds_t)((wait - (double)(time_t)wait) * 1e6)};
    event_add(c->tick, &tv);
}

static void stop_loop(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    event_base_loopexit(arg, NULL);
}

static void *run_thread(void *arg)
{
    struct thread *t = arg;
    struct opts *o = t->o;
    /* Millisecond epoll timeouts would make requests late, and lateness counts as latency. */
    struct event_config *ec = event_config_new();
    event_config_set_flag(ec, EVENT_BASE_FLAG_PRECISE_TIMER);
    t->base = event_base_new_with_config(ec);
    event_config_free(ec);
    for (int i = 0; i < t->n_conns; i++) {
        struct conn *c = &t->conns[i];
        c->t = t;
        SSL *ssl = SSL_new(t->ctx);
        SSL_set_tlsext_host_name(ssl, o->server_name);
        SSL_set1_host(ssl, o->server_name);
        struct bufferevent *bev =
            bufferevent_openssl_socket_new(t->base, -1, ssl, BUFFEREVENT_SSL_CONNECTING,
                                           BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
        c->evcon = evhttp_connection_base_bufferevent_new(t->base, NULL, bev, o->host,
                                                          (unsigned short)o->port);
        evhttp_connection_set_timeout(c->evcon, 30);
    }
    /* Warm-up: one request per connection so handshakes are not in the measurement. */
    t->end = now() + 3600;
    t->warming = 1;
    for (int i = 0; i < t->n_conns; i++)
        send_one(&t->conns[i], now());
    while (1) {
        int busy = 0;
        for (int i = 0; i < t->n_conns; i++)
            busy += t->conns[i].in_flight;
        if (!busy)
            break;
        event_base_loop(t->base, EVLOOP_ONCE);
    }
    /* The sockets exist now: Nagle would hold a request's second TLS record for a delayed ACK. */
    for (int i = 0; i < t->n_conns; i++) {
        int one = 1;
        evutil_socket_t fd =
            bufferevent_getfd(evhttp_connection_get_bufferevent(t->conns[i].evcon));
        if (fd >= 0)
            setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    t->warming = 0;
    t->n_lat = 0;
    t->errors = 0;
    t->sent = 0;
    t->start = now();
    t->end = t->start + o->seconds;
    double per_conn = o->rate > 0 ? o->rate / (o->conns) : 0;
    for (int i = 0; i < t->n_conns; i++) {
        struct conn *c = &t->conns[i];
        if (per_conn > 0) {
            c->interval = 1.0 / per_conn;
            /* Spread the connections' phases so the load is smooth. */
            c->next_due = t->start + c->interval * ((double)i / t->n_conns);
            c->tick = event_new(t->base, -1, 0, on_tick, c);
            struct timeval zero = {0, 0};
            event_add(c->tick, &zero);
        } else {
            send_one(c, now());
        }
    }
    struct timeval grace = {(time_t)o->seconds + 5, 0};
    struct event *stop = evtimer_new(t->base, stop_loop, t->base);
    evtimer_add(stop, &grace);
    while (1) {
        int busy = 0;
        for (int i = 0; i < t->n_conns; i++)
            busy += t->conns[i].in_flight;
        if (!busy && now() >= t->end)
            break;
        if (event_base_loop(t->base, EVLOOP_ONCE) != 0 || now() > t->end + 5)
            break;
    }
    t->end = now() < t->end ? now() : t->end;
    event_free(stop);
    for (int i = 0; i < t->n_conns; i++) {
        if (t->conns[i].tick)
            event_free(t->conns[i].tick);
        evhttp_connection_free(t->conns[i].evcon);
    }
    event_base_free(t->base);
    return NULL;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    struct opts o = {"127.0.0.1", NULL, "localhost", "/mutate", NULL, 0, 16, 2, 0, 10};
    static const struct option longopts[] = {{"host", 1, 0, 'h'},  {"port", 1, 0, 'p'},
                                             {"ca", 1, 0, 'c'},    {"server-name", 1, 0, 'n'},
                                             {"path", 1, 0, 'P'},  {"body", 1, 0, 'b'},
                                             {"conns", 1, 0, 'C'}, {"threads", 1, 0, 'T'},
                                             {"rate", 1, 0, 'r'},  {"seconds", 1, 0, 's'},
                                             {0, 0, 0, 0}};
    int ch;
    while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (ch) {
        case 'h':
            o.host = optarg;
            break;
        case 'p':
            o.port = atoi(optarg);
            break;
        case 'c':
            o.ca = optarg;
            break;
        case 'n':
            o.server_name = optarg;
            break;
        case 'P':
            o.path = optarg;
            break;
        case 'b':
            o.body_file = optarg;
            break;
        case 'C':
            o.conns = atoi(optarg);
            break;
        case 'T':
            o.threads = atoi(optarg);
            break;
        case 'r':
            o.rate = atof(optarg);
            break;
        case 's':
            o.seconds = atof(optarg);
            break;
        default:
            return 2;
        }
    }
    if (!o.port || !o.ca || !o.body_file || o.conns < 1 || o.threads < 1 || o.seconds <= 0) {
        fprintf(stderr, "usage: injector_load --port P --ca CA --body FILE [--server-name N] "
                        "[--conns 16] [--threads 2] [--rate R (0 = saturation)] [--seconds 10]\n");
        return 2;
    }
    if (o.threads > o.conns)
        o.threads = o.conns;
    FILE *f = fopen(o.body_file, "rb");
    if (!f) {
        perror(o.body_file);
        return 2;
    }
    static char body[1 << 20];
    size_t body_len = fread(body, 1, sizeof body, f);
    fclose(f);

    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    if (SSL_CTX_load_verify_locations(ctx, o.ca, NULL) != 1) {
        fprintf(stderr, "cannot load CA %s\n", o.ca);
        return 2;
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);

    struct thread *threads = calloc((size_t)o.threads, sizeof *threads);
    size_t cap =
        (size_t)((o.rate > 0 ? o.rate : 60000) * (o.seconds + 5)) / (size_t)o.threads + 1000;
    for (int i = 0; i < o.threads; i++) {
        struct thread *t = &threads[i];
        t->o = &o;
        t->ctx = ctx;
        t->n_conns = o.conns / o.threads + (i < o.conns % o.threads);
        t->conns = calloc((size_t)t->n_conns, sizeof *t->conns);
        t->cap_lat = cap;
        t->lat = malloc(cap * sizeof *t->lat);
        t->body = body;
        t->body_len = body_len;
    }
    pthread_t *tids = calloc((size_t)o.threads, sizeof *tids);
    for (int i = 0; i < o.threads; i++)
        pthread_create(&tids[i], NULL, run_thread, &threads[i]);
    size_t total = 0;
    unsigned long errors = 0;
    double start = 1e300, end = 0;
    for (int i = 0; i < o.threads; i++) {
        pthread_join(tids[i], NULL);
        total += threads[i].n_lat;
        errors += threads[i].errors;
        start = threads[i].start < start ? threads[i].start : start;
        end = threads[i].end > end ? threads[i].end : end;
    }
    double *all = malloc((total + 1) * sizeof *all);
    size_t k = 0;
    for (int i = 0; i < o.threads; i++) {
        memcpy(all + k, threads[i].lat, threads[i].n_lat * sizeof *all);
        k += threads[i].n_lat;
    }
    qsort(all, total, sizeof *all, cmp_double);
#define PCT(p) (total ? all[(size_t)((double)(total - 1) * (p))] * 1e3 : 0.0)
    printf("{\"mode\":\"%s\",\"target_rate\":%.0f,\"conns\":%d,\"requests\":%zu,\"errors\":%lu,"
           "\"seconds\":%.2f,\"rps\":%.0f,\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"p999_ms\":%.3f,"
           "\"max_ms\":%.3f}\n",
           o.rate > 0 ? "fixed" : "saturation", o.rate, o.conns, total, errors, end - start,
           total / (end - start), PCT(0.50), PCT(0.99), PCT(0.999), PCT(1.0));
    return errors ? 1 : 0;
}
