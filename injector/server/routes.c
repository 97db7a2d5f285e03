/* Routing of one request: the admission paths (the namespace mode is in the path), health,
 * readiness (503 while draining) and metrics, each with its allowed methods. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <event2/buffer.h>
#include <event2/keyvalq_struct.h>

#include "admission.h"
#include "arena.h"
#include "log.h"
#include "metrics.h"
#include "optin.h"
#include "server_internal.h"

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
    evhttp_request_set_on_complete_cb(req, inj_conn_response_sent, NULL);
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
    bool internal = r.status == 500;
    if (internal) {
        /* the request's memory ran out: release it, then admit the pod unchanged */
        inj_review_free(&r);
        inj_arena_end();
        r.status = 500;
        inj_review_fail_open(&r);
        inj_metrics_internal_error();
        inj_log(PP_LOG_WARN,
                "internal error, pod admitted unchanged" PP_LOG_FIELD("uid") "%s" PP_LOG_FIELD(
                    "namespace") "%s" PP_LOG_FIELD("pod") "%s",
                r.uid, r.ns, r.name);
    }
    if (r.status == 200) {
        reply(w, req, 200, "OK", "application/json", r.body, strlen(r.body));
    } else {
        reply_text(w, req, r.status, r.status == 400 ? "Bad Request" : "Internal Server Error",
                   r.body          ? r.body
                   : r.m.detail[0] ? r.m.detail
                                   : "out of memory");
    }
    double dt = now_mono() - t0;
    inj_metrics_admission(r.status == 200 ? r.m.outcome : INJ_RESULT_BAD_REQUEST, r.m.reason, dt);
    if (r.status != 200) {
        inj_log(PP_LOG_WARN, "bad admission request" PP_LOG_FIELD("error") "%s",
                r.body ? r.body : r.m.detail);
    } else {
        /* what was decided is worth a line; the untouched pods only when debugging */
        inj_log(
            r.m.outcome == INJ_INJECTED || r.m.outcome == INJ_SKIPPED ? PP_LOG_INFO : PP_LOG_DEBUG,
            "admission" PP_LOG_FIELD("uid") "%s" PP_LOG_FIELD("namespace") "%s" PP_LOG_FIELD(
                "pod") "%s" PP_LOG_FIELD("result") "%s" PP_LOG_FIELD("detail") "%s" PP_LOG_FIELD("m"
                                                                                                 "i"
                                                                                                 "c"
                                                                                                 "r"
                                                                                                 "o"
                                                                                                 "s") "%.0f",
            r.uid, r.ns, r.name, inj_outcome_name(r.m.outcome), r.m.detail, dt * 1e6);
    }
    inj_review_free(&r);
    inj_arena_end();
}

void inj_route(struct evhttp_request *req, void *arg)
{
    struct worker *w = arg;
    struct conn *c = inj_conn_of(req);
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
