#include "uploader.h"

#include <curl/curl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "code_provenance.h"
#include "event.h"
#include "podprof/version.h"

typedef struct response {
    char head[160]; /* start of the body, for the log line */
    size_t len;
} response;

static size_t on_body(char *data, size_t size, size_t nmemb, void *ctx)
{
    response *r = ctx;
    size_t n = size * nmemb;
    size_t room = sizeof r->head - 1 - r->len;
    size_t take = n < room ? n : room;
    memcpy(r->head + r->len, data, take);
    r->len += take;
    r->head[r->len] = '\0';
    return n;
}

static int on_progress(void *ctx, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
    (void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
    const ex_upload_req *req = ctx;
    return req->should_abort && req->should_abort(req->abort_ctx);
}

/* A part whose bytes stay the caller's for the upload: curl_mime_data would copy the whole
 * profile (megabytes at most, on top of what the memory budget counts) until the upload ends. */
typedef struct borrowed_part {
    const char *data;
    size_t len, pos;
} borrowed_part;

static size_t read_borrowed(char *buf, size_t size, size_t nitems, void *arg)
{
    borrowed_part *b = arg;
    size_t n = size * nitems, left = b->len - b->pos;
    if (n > left)
        n = left;
    memcpy(buf, b->data + b->pos, n);
    b->pos += n;
    return n;
}

/* curl rewinds a part to send it again (a redirect or an authentication round). */
static int seek_borrowed(void *arg, curl_off_t offset, int origin)
{
    borrowed_part *b = arg;
    if (origin != SEEK_SET || offset < 0 || (curl_off_t)b->len < offset)
        return CURL_SEEKFUNC_FAIL;
    b->pos = (size_t)offset;
    return CURL_SEEKFUNC_OK;
}

static void set_borrowed(curl_mimepart *part, borrowed_part *b, const char *data, size_t len)
{
    *b = (borrowed_part){.data = data, .len = len};
    curl_mime_data_cb(part, (curl_off_t)len, read_borrowed, seek_borrowed, NULL, b);
}

static bool retryable_status(long code)
{
    return code == 408 || code == 429 || code >= 500;
}

static void classify_curl_error(const ex_endpoint *ep, CURLcode rc, const char *errbuf,
                                ex_upload_result *r)
{
    r->status = EX_UP_RETRY;
    switch (rc) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
        r->fault = EX_FAULT_DNS;
        break;
    case CURLE_COULDNT_CONNECT: {
        struct stat st;
        r->fault = ep->unix_path[0] && stat(ep->unix_path, &st) ? EX_FAULT_SOCKET_MISSING
                                                                : EX_FAULT_REFUSED;
        break;
    }
    case CURLE_OPERATION_TIMEDOUT:
        r->fault = EX_FAULT_TIMEOUT;
        break;
    case CURLE_PEER_FAILED_VERIFICATION:
        /* a certificate that does not verify will not verify on the next attempt either */
        r->status = EX_UP_REJECTED;
        r->fault = EX_FAULT_TLS;
        break;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
        r->fault = EX_FAULT_TLS;
        break;
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_ABORTED_BY_CALLBACK:
        r->fault = EX_FAULT_CONNECTION;
        break;
    default:
        r->fault = EX_FAULT_OTHER;
        break;
    }
    snprintf(r->detail, sizeof r->detail, "%s", errbuf[0] ? errbuf : curl_easy_strerror(rc));
}

ex_upload_result ex_upload(const ex_endpoint *ep, const ex_upload_req *req)
{
    ex_upload_result r = {.status = EX_UP_RETRY, .fault = EX_FAULT_OTHER};
    CURL *c = curl_easy_init();
    if (!c) {
        snprintf(r.detail, sizeof r.detail, "curl_easy_init failed");
        return r;
    }
    char errbuf[CURL_ERROR_SIZE] = "";
    response resp = {.len = 0};
    struct curl_slist *headers = NULL;
    char line[512];
    headers = curl_slist_append(headers, "DD-EVP-ORIGIN: podprof");
    headers = curl_slist_append(headers, "DD-EVP-ORIGIN-VERSION: " PODPROF_VERSION);
    /* libdatadog closes after each upload: one upload a minute gains nothing from keep-alive */
    headers = curl_slist_append(headers, "Connection: close");
    /* no 100-continue round trip: the agent accepts or rejects after reading the body anyway */
    headers = curl_slist_append(headers, "Expect:");
    if (req->entity_id && *req->entity_id) {
        snprintf(line, sizeof line, "Datadog-Entity-ID: %s", req->entity_id);
        headers = curl_slist_append(headers, line);
    }
    if (ep->agentless && ep->api_key) {
        snprintf(line, sizeof line, "DD-API-KEY: %s", ep->api_key);
        headers = curl_slist_append(headers, line);
    }

    borrowed_part provenance, pprof;
    curl_mime *mime = curl_mime_init(c);
    curl_mimepart *part = curl_mime_addpart(mime);
    curl_mime_name(part, "event");
    curl_mime_filename(part, "event.json");
    curl_mime_type(part, "application/json");
    curl_mime_data(part, req->event_json, CURL_ZERO_TERMINATED);
    if (req->code_provenance) {
        part = curl_mime_addpart(mime);
        curl_mime_name(part, EX_PROVENANCE_ATTACHMENT);
        curl_mime_filename(part, EX_PROVENANCE_ATTACHMENT);
        set_borrowed(part, &provenance, (const char *)req->code_provenance,
                     req->code_provenance_len);
    }
    part = curl_mime_addpart(mime);
    curl_mime_name(part, EX_ATTACHMENT_NAME);
    curl_mime_filename(part, EX_ATTACHMENT_NAME);
    set_borrowed(part, &pprof, (const char *)req->pprof, req->pprof_len);

    curl_easy_setopt(c, CURLOPT_URL, ep->url);
    if (ep->unix_path[0])
        curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, ep->unix_path);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, req->timeout_ms);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, req->timeout_ms);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "podprof/" PODPROF_VERSION);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(c, CURLOPT_MIMEPOST, mime);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &resp);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, (void *)req);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
    if (ep->ca_file)
        curl_easy_setopt(c, CURLOPT_CAINFO, ep->ca_file);
    /* the Agent is on the node: an http_proxy meant for the outside world must not capture it
     * (agentless uploads do honour the proxy variables) */
    if (!ep->agentless)
        curl_easy_setopt(c, CURLOPT_NOPROXY, "*");

    CURLcode rc = curl_easy_perform(c);
    if (rc != CURLE_OK) {
        classify_curl_error(ep, rc, errbuf, &r);
    } else {
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.http_code);
        /* the body is for humans; keep the log line to one line */
        for (char *p = resp.head; *p; p++)
            if (*p == '\n' || *p == '\r')
                *p = ' ';
        snprintf(r.detail, sizeof r.detail, "HTTP %ld%s%s", r.http_code, resp.len ? ": " : "",
                 resp.head);
        if (r.http_code >= 200 && r.http_code < 300) {
            r.status = EX_UP_OK;
        } else if (retryable_status(r.http_code)) {
            r.status = EX_UP_RETRY;
            r.fault = EX_FAULT_HTTP_5XX;
        } else {
            r.status = EX_UP_REJECTED;
            r.fault = EX_FAULT_HTTP_4XX;
        }
    }
    curl_mime_free(mime);
    curl_slist_free_all(headers);
    curl_easy_cleanup(c);
    return r;
}
