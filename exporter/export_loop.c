#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "code_provenance.h"
#include "endpoint.h"
#include "event.h"
#include "export.h"
#include "export_config.h"
#include "faults.h"
#include "labels.h"
#include "memory_budget.h"
#include "profile_payload.h"
#include "retry.h"
#include "spool.h"
#include "spool_meta.h"
#include "tags.h"
#include "uploader.h"
#include "podprof/names.h"
#include "podprof/read_bounded.h"
#include "podprof/spool_format.h"
#include "podprof/version.h"

#define EX_META_MAX_BYTES (1 << 20)
#define EX_MMAP_THRESHOLD (256 * 1024)
#define EX_DEFAULT_SERVICE "unnamed-python-service"

typedef struct ex_state {
    ex_config cfg;
    ex_endpoint ep;
    ex_faults faults;
    ex_memory_budget budget;
    ex_spool *spool;
    const char *dir;
    ex_retry_table retries;
    ex_retry_table handled; /* pairs done with but not deletable: never sent twice */
    uint64_t rng;
    int stop_fd;
    bool draining;
    int64_t drain_deadline_ms;
    uint64_t dropped; /* profiles given up on, for --once's exit status */
    bool curl_ready;
} ex_state;

static bool stop_requested(ex_state *st)
{
    if (st->stop_fd < 0)
        return false;
    struct pollfd p = {.fd = st->stop_fd, .events = POLLIN};
    return poll(&p, 1, 0) > 0;
}

static void maybe_start_drain(ex_state *st)
{
    if (st->draining || !stop_requested(st))
        return;
    st->draining = true;
    st->drain_deadline_ms = ex_now_ms() + st->cfg.drain_ms;
    ex_log(PP_LOG_INFO, "stopping: uploading what is complete (at most %d ms)", st->cfg.drain_ms);
}

/* Aborts an upload in flight once a stop request's drain time is over. */
static bool upload_should_abort(void *ctx)
{
    ex_state *st = ctx;
    maybe_start_drain(st);
    return st->draining && ex_now_ms() >= st->drain_deadline_ms;
}

/* A pair's .json, through the spool's checks; NULL with a reason (and its fault kind). */
static char *read_meta(ex_state *st, const char *name, size_t *len, ex_fault_kind *kind, char *err,
                       size_t errcap)
{
    ex_entry_verdict v;
    const char *why = NULL;
    int fd = ex_spool_open_member(st->spool, name, PP_SPOOL_JSON, &v, err, errcap);
    *kind = v == EX_ENTRY_TOO_LARGE ? EX_FAULT_TOO_LARGE : EX_FAULT_UNSAFE_SPOOL;
    if (fd < 0)
        return NULL;
    FILE *f = fdopen(fd, "rb");
    char *text = f ? pp_read_bounded(f, EX_META_MAX_BYTES, len, &why) : NULL;
    if (f)
        fclose(f);
    else
        close(fd);
    *kind = why == pp_read_too_large ? EX_FAULT_TOO_LARGE : EX_FAULT_CORRUPT_SPOOL;
    if (!text)
        snprintf(err, errcap, "%s",
                 why == pp_read_too_large ? "larger than 1 MiB"
                 : why                    ? why
                                          : strerror(errno));
    return text;
}

static void add_pod_labels(ex_state *st, ex_tags *tags)
{
    if (!st->cfg.labels_file)
        return;
    ex_labels labels;
    if (ex_labels_read(st->cfg.labels_file, &labels)) {
        ex_fault(&st->faults, EX_FAULT_LABELS_MISSING,
                 PP_ENV_K8S_LABELS_FILE " %s: %s; uploading without pod labels",
                 st->cfg.labels_file, strerror(errno));
        return;
    }
    if (labels.malformed)
        ex_fault(&st->faults, EX_FAULT_LABELS_MALFORMED,
                 "%s: %zu malformed line(s) skipped (first: line %d), expected key=\"value\"",
                 st->cfg.labels_file, labels.malformed, labels.first_bad_line);
    ex_tags_add_labels(tags, &labels, st->cfg.labels_as_tags);
    ex_labels_free(&labels);
}

static void set_if(ex_tags *tags, const char *key, const char *value)
{
    if (value && *value)
        ex_tags_set(tags, key, value);
}

/* Layers, later wins: pod labels < DD_TAGS < DD_PROFILING_TAGS < the reserved tags. */
static char *build_tags(ex_state *st, const ex_meta *m)
{
    ex_tags tags = {0};
    add_pod_labels(st, &tags);
    ex_tags_add_list(&tags, m->tags);
    ex_tags_add_list(&tags, m->profiling_tags);
    set_if(&tags, "service", m->service);
    if (!ex_tags_get(&tags, "service"))
        ex_tags_set(&tags, "service", EX_DEFAULT_SERVICE);
    set_if(&tags, "env", m->env);
    set_if(&tags, "version", m->version);
    ex_tags_set_raw(&tags, "language", "python");
    ex_tags_set_raw(&tags, "runtime", "CPython");
    set_if(&tags, "runtime_version", m->python_version);
    set_if(&tags, "runtime-id", m->runtime_id);
    if (m->pid > 0) {
        char pid[24];
        snprintf(pid, sizeof pid, "%ld", m->pid);
        ex_tags_set(&tags, "process_id", pid);
    }
    ex_tags_set(&tags, "profiler_version", PODPROF_VERSION);
    set_if(&tags, "kube_container_name", m->container);
    set_if(&tags, "kube_namespace", st->cfg.pod_namespace);
    set_if(&tags, "pod_name", st->cfg.pod_name);
    set_if(&tags, "kube_node", st->cfg.node_name);
    char *joined = ex_tags_join(&tags);
    ex_tags_free(&tags);
    return joined;
}

/* Removes a handled pair; one the spool does not let us delete (a read-only mount, another
 * owner) is remembered so it is never uploaded twice. */
static void forget_pair(ex_state *st, const char *name)
{
    ex_retry_remove(&st->retries, name);
    if (ex_spool_remove(st->spool, name) == 0)
        return;
    ex_fault(&st->faults, EX_FAULT_OTHER, "cannot delete %s.json: %s; it will not be sent again",
             name, strerror(errno));
    ex_retry_add(&st->handled, name);
}

static void drop_pair(ex_state *st, const char *name)
{
    forget_pair(st, name);
    st->dropped++;
}

static void handle_retry(ex_state *st, const char *name, const ex_upload_result *r)
{
    ex_retry_entry *e = ex_retry_add(&st->retries, name);
    int failures = e ? ++e->failures : st->cfg.max_attempts;
    ex_fault(&st->faults, r->fault, "upload of %s to %s failed (attempt %d of %d): %s", name,
             st->ep.describe, failures, st->cfg.max_attempts, r->detail);
    if (failures >= st->cfg.max_attempts) {
        st->faults.uploads_failed++;
        ex_fault(&st->faults, EX_FAULT_GAVE_UP, "%s: giving up after %d attempts, dropped", name,
                 failures);
        drop_pair(st, name);
        return;
    }
    st->faults.retries++;
    e->next_at_ms = ex_now_ms() + ex_retry_delay_ms(failures, st->cfg.retry_base_ms, &st->rng);
}

static void process_pair(ex_state *st, const char *name)
{
    char err[256];
    if (!ex_retry_find(&st->retries, name))
        st->faults.profiles_seen++;

    size_t len = 0;
    ex_fault_kind kind;
    char *text = read_meta(st, name, &len, &kind, err, sizeof err);
    ex_meta meta;
    int parsed = -1;
    if (text) {
        ex_json_budget_begin(st->budget.max_meta);
        parsed = ex_meta_parse(text, len, &meta, err, sizeof err);
        if (ex_json_budget_end()) {
            if (!parsed)
                ex_meta_free(&meta);
            parsed = -1;
            kind = EX_FAULT_TOO_LARGE;
            snprintf(err, sizeof err,
                     "parsing it takes more than %zu KiB, more than fits in the "
                     "exporter's %zu MiB memory limit",
                     st->budget.max_meta >> 10, st->budget.limit >> 20);
        } else {
            kind = EX_FAULT_CORRUPT_SPOOL;
        }
    }
    free(text);
    if (parsed) {
        ex_fault(&st->faults, kind, "%s.json: %s, dropped", name, err);
        drop_pair(st, name);
        return;
    }

    void *pprof = NULL;
    size_t pprof_len = 0;
    ex_entry_verdict v;
    int fd = ex_spool_open_member(st->spool, name, PP_SPOOL_PPROF, &v, err, sizeof err);
    ex_payload_status ps =
        fd < 0 ? (v == EX_ENTRY_TOO_LARGE ? EX_PAYLOAD_TOO_LARGE : EX_PAYLOAD_UNSAFE)
               : ex_payload_from_fd(fd, &st->budget, &pprof, &pprof_len, err, sizeof err);
    if (ps != EX_PAYLOAD_OK) {
        ex_fault(&st->faults,
                 ps == EX_PAYLOAD_TOO_LARGE ? EX_FAULT_TOO_LARGE
                 : ps == EX_PAYLOAD_CORRUPT ? EX_FAULT_CORRUPT_SPOOL
                 : ps == EX_PAYLOAD_UNSAFE  ? EX_FAULT_UNSAFE_SPOOL
                                            : EX_FAULT_OTHER,
                 "%s.pprof: %s, dropped", name, err);
        ex_meta_free(&meta);
        drop_pair(st, name);
        return;
    }

    /* code-provenance.json, when the sampler looked (a malformed one costs only itself) */
    void *provenance = NULL;
    size_t provenance_len = 0;
    int provenance_failed = 0;
    if (meta.code_provenance) {
        ex_json_budget_begin(st->budget.max_meta);
        provenance_failed = ex_provenance_attachment(meta.code_provenance, meta.python_version,
                                                     &provenance, &provenance_len, err, sizeof err);
        if (ex_json_budget_end() && !provenance_failed) {
            free(provenance);
            provenance = NULL;
            provenance_failed = 1;
            snprintf(err, sizeof err, "more than fits in the exporter's memory limit");
        }
    }
    if (provenance_failed)
        ex_fault(&st->faults, EX_FAULT_OTHER, "%s.json: code provenance: %s; uploading without it",
                 name, err);

    char *tags = build_tags(st, &meta);
    char *event =
        tags ? ex_event_build(&meta, tags, &st->faults, &st->cfg, provenance != NULL) : NULL;
    ex_meta_free(&meta);
    free(tags);
    if (!event) {
        free(provenance);
        free(pprof);
        ex_fault(&st->faults, EX_FAULT_OTHER, "%s: out of memory building the event", name);
        return;
    }
    ex_upload_req req = {
        .event_json = event,
        .pprof = pprof,
        .pprof_len = pprof_len,
        .code_provenance = provenance,
        .code_provenance_len = provenance_len,
        .entity_id = st->cfg.entity_id,
        .timeout_ms = st->cfg.timeout_ms,
        .should_abort = upload_should_abort,
        .abort_ctx = st,
    };
    if (!st->curl_ready) {
        /* deferred to the first upload: OpenSSL's initialisation alone costs ~2 MiB of RSS, which
         * an exporter whose application never writes a profile should not pay */
        curl_global_init(CURL_GLOBAL_DEFAULT);
        st->curl_ready = true;
    }
    ex_upload_result r = ex_upload(&st->ep, &req);
    free(event);
    free(pprof);
    free(provenance);
    switch (r.status) {
    case EX_UP_OK:
        st->faults.uploads_ok++;
        st->faults.bytes_sent += pprof_len + provenance_len;
        forget_pair(st, name);
        break;
    case EX_UP_REJECTED:
        st->faults.uploads_failed++;
        ex_fault(&st->faults, r.fault, "upload of %s to %s rejected, dropped: %s", name,
                 st->ep.describe, r.detail);
        drop_pair(st, name);
        break;
    case EX_UP_RETRY:
        if (st->draining) { /* left in the spool for whoever runs next */
            ex_fault(&st->faults, r.fault, "upload of %s to %s failed while stopping: %s", name,
                     st->ep.describe, r.detail);
            break;
        }
        handle_retry(st, name, &r);
        break;
    }
}

/* One pass over the spool. Returns the earliest retry due time (0 when none is waiting) and
 * sets *remaining to the number of pairs left. */
static int64_t pass(ex_state *st, size_t *remaining)
{
    ex_pair *pairs = NULL;
    size_t n = 0;
    *remaining = 0;
    if (ex_spool_scan(st->spool, (size_t)st->cfg.spool_max_profiles,
                      (uint64_t)st->cfg.spool_max_mib << 20, &st->faults, &pairs, &n)) {
        ex_fault(&st->faults, EX_FAULT_OTHER, "spool %s: %s; waiting for it", st->dir,
                 strerror(errno));
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        ex_retry_entry *e = ex_retry_find(&st->retries, pairs[i].name);
        if (e)
            e->seen = true;
        if ((e = ex_retry_find(&st->handled, pairs[i].name)))
            e->seen = true;
    }
    ex_retry_sweep(&st->retries);
    ex_retry_sweep(&st->handled);
    int64_t next_due = 0;
    for (size_t i = 0; i < n; i++) {
        maybe_start_drain(st);
        if (st->draining && ex_now_ms() >= st->drain_deadline_ms)
            break;
        if (ex_retry_find(&st->handled, pairs[i].name))
            continue;
        ex_retry_entry *e = ex_retry_find(&st->retries, pairs[i].name);
        if (!st->draining && e && e->next_at_ms > ex_now_ms()) {
            if (!next_due || e->next_at_ms < next_due)
                next_due = e->next_at_ms;
            continue;
        }
        process_pair(st, pairs[i].name);
        e = ex_retry_find(&st->retries, pairs[i].name);
        if (e && (!next_due || e->next_at_ms < next_due))
            next_due = e->next_at_ms;
    }
    ex_pairs_free(pairs, n);
    *remaining = st->retries.n;
    return next_due;
}

int podprof_export_loop(const podprof_export_opts *opts)
{
    ex_state st;
    memset(&st, 0, sizeof st);
    ex_config_load(&st.cfg);
    ex_endpoint_from_config(&st.cfg, &st.ep);
    st.stop_fd = opts->stop_fd;
    st.dir = opts->spool_dir;
    st.rng = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
    const char *limit_source = NULL;
    ex_memory_budget_from_limit(ex_memory_limit(st.cfg.memory_limit_mib, &limit_source),
                                &st.budget);
    /* a fixed threshold (glibc's adapts upwards after a large free): a profile's buffers are
     * always mapped on their own and returned to the kernel when freed, so one large profile
     * does not leave the heap grown for the rest of the process's life */
    mallopt(M_MMAP_THRESHOLD, EX_MMAP_THRESHOLD);
    st.spool = ex_spool_open(opts->spool_dir, opts->name_prefix, opts->keep_pprof,
                             EX_META_MAX_BYTES, st.budget.max_file);
    if (!st.spool) {
        ex_log(PP_LOG_ERROR, "out of memory");
        ex_config_free(&st.cfg);
        return 1;
    }
    if (ex_spool_fd(st.spool) < 0)
        ex_log(PP_LOG_WARN, "inotify unavailable (%s): relying on the %d s rescan", strerror(errno),
               st.cfg.rescan_s);
    ex_log(PP_LOG_INFO, "watching %s, uploading to %s", opts->spool_dir, st.ep.describe);
    ex_log(PP_LOG_DEBUG,
           "memory limit %zu MiB (%s): a profile may be %zu KiB on disk, inflate to %zu KiB and "
           "decode in %zu KiB",
           st.budget.limit >> 20, limit_source, st.budget.max_file >> 10, st.budget.max_raw >> 10,
           st.budget.max_decode >> 10);

    for (;;) {
        maybe_start_drain(&st);
        bool drain_pass = st.draining;
        size_t remaining = 0;
        int64_t next_due = pass(&st, &remaining);
        if (drain_pass)
            break;
        if (st.draining)
            continue; /* stopped mid-pass: one fresh scan picks up what completed since */
        if (opts->once && !remaining)
            break;
        int timeout = st.cfg.rescan_s * 1000;
        if (next_due) {
            int64_t wait = next_due - ex_now_ms();
            if (wait < timeout)
                timeout = wait > 0 ? (int)wait : 0;
        }
        struct pollfd fds[2] = {{.fd = ex_spool_fd(st.spool), .events = POLLIN},
                                {.fd = st.stop_fd, .events = POLLIN}};
        if (poll(fds, 2, timeout) < 0 && errno != EINTR)
            ex_log(PP_LOG_ERROR, "poll: %s", strerror(errno));
        ex_spool_consume_events(st.spool);
    }
    bool lost = st.dropped || st.faults.spool_dropped || st.faults.count[EX_FAULT_CORRUPT_SPOOL] ||
                st.faults.count[EX_FAULT_UNSAFE_SPOOL] || st.faults.count[EX_FAULT_TOO_LARGE];
    int status = opts->once && lost ? 1 : 0;
    ex_log(PP_LOG_INFO,
           "stopped: %llu uploaded, %llu failed, %llu corrupt, %llu dropped from a full spool",
           (unsigned long long)st.faults.uploads_ok, (unsigned long long)st.faults.uploads_failed,
           (unsigned long long)st.faults.count[EX_FAULT_CORRUPT_SPOOL],
           (unsigned long long)st.faults.spool_dropped);
    if (st.curl_ready)
        curl_global_cleanup();
    ex_retry_free(&st.retries);
    ex_retry_free(&st.handled);
    ex_spool_close(st.spool);
    ex_config_free(&st.cfg);
    return status;
}

bool podprof_export_configured(void)
{
    return ex_config_agent_configured();
}

struct podprof_exporter {
    pthread_t thread;
    int pipe[2];
    char *dir, *prefix;
    bool keep_pprof;
    int status;
};

static void *exporter_thread(void *arg)
{
    podprof_exporter *ex = arg;
    podprof_export_opts o = {.spool_dir = ex->dir,
                             .name_prefix = ex->prefix,
                             .keep_pprof = ex->keep_pprof,
                             .stop_fd = ex->pipe[0]};
    ex->status = podprof_export_loop(&o);
    return NULL;
}

podprof_exporter *podprof_exporter_start(const char *spool_dir, const char *name_prefix,
                                         bool keep_pprof)
{
    podprof_exporter *ex = calloc(1, sizeof *ex);
    if (!ex)
        return NULL;
    ex->keep_pprof = keep_pprof;
    ex->dir = strdup(spool_dir);
    ex->prefix = name_prefix ? strdup(name_prefix) : NULL;
    if (!ex->dir || pipe2(ex->pipe, O_CLOEXEC)) {
        ex_log(PP_LOG_ERROR, "cannot start the exporter: %s", strerror(errno));
        free(ex->dir);
        free(ex->prefix);
        free(ex);
        return NULL;
    }
    int rc = pthread_create(&ex->thread, NULL, exporter_thread, ex);
    if (rc) {
        ex_log(PP_LOG_ERROR, "cannot start the exporter thread: %s", strerror(rc));
        close(ex->pipe[0]);
        close(ex->pipe[1]);
        free(ex->dir);
        free(ex->prefix);
        free(ex);
        return NULL;
    }
    return ex;
}

int podprof_exporter_stop(podprof_exporter *ex)
{
    if (!ex)
        return 0;
    ssize_t w = write(ex->pipe[1], "x", 1);
    (void)w;
    pthread_join(ex->thread, NULL);
    close(ex->pipe[0]);
    close(ex->pipe[1]);
    int status = ex->status;
    free(ex->dir);
    free(ex->prefix);
    free(ex);
    return status;
}
