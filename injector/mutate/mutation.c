#include "mutation.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app_env.h"
#include "containers.h"
#include "names.h"
#include "optin.h"
#include "passthrough.h"
#include "patch.h"
#include "pod_json.h"
#include "podshape.h"
#include "podprof/version.h"
#include "service_name.h"

static const char *const outcome_names[INJ_OUTCOME_COUNT] = {"injected", "skipped", "not_opted_in",
                                                             "already_injected", "ignored"};
static const char *const reason_names[INJ_SKIP_REASON_COUNT] = {
    "none",           "ld_preload_value_from", "no_container", "volume_conflict",
    "mount_conflict", "container_conflict",    "not_linux",    "disabled_by_env"};

const char *inj_outcome_name(int outcome)
{
    return outcome >= 0 && outcome < INJ_OUTCOME_COUNT ? outcome_names[outcome] : "unknown";
}

const char *inj_skip_reason_name(int reason)
{
    return reason >= 0 && reason < INJ_SKIP_REASON_COUNT ? reason_names[reason] : "unknown";
}

void inj_mutation_warn(inj_mutation *m, const char *fmt, ...)
{
    if (m->n_warnings >= INJ_MAX_WARNINGS)
        return;
    va_list ap;
    va_start(ap, fmt);
    char *w = m->warnings[m->n_warnings++];
    int n = snprintf(w, INJ_WARNING_LEN, "podprof: ");
    vsnprintf(w + n, INJ_WARNING_LEN - (size_t)n, fmt, ap);
    va_end(ap);
}

void inj_mutation_free(inj_mutation *m)
{
    cJSON_Delete(m->patch);
    m->patch = NULL;
}

static bool has_named(const cJSON *list, const char *name)
{
    return inj_find_by_name(list, name, NULL) != NULL;
}

static bool mounts_path(const cJSON *container, const char *path)
{
    const cJSON *m;
    cJSON_ArrayForEach(m, cJSON_GetObjectItemCaseSensitive(container, "volumeMounts"))
    {
        const cJSON *p = cJSON_GetObjectItemCaseSensitive(m, "mountPath");
        if (cJSON_IsString(p) && !strcmp(p->valuestring, path))
            return true;
    }
    return false;
}

/* Absent, null, or of the expected type (the API server decodes pods before calling webhooks,
 * so a mismatch means the review was not made by one). */
static bool absent_or(const cJSON *v, cJSON_bool (*is)(const cJSON *))
{
    return !v || cJSON_IsNull(v) || is(v);
}

static bool list_of_named_objects(const cJSON *list)
{
    const cJSON *e;
    if (!absent_or(list, cJSON_IsArray))
        return false;
    cJSON_ArrayForEach(e, list)
    {
        if (!cJSON_IsObject(e) || !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(e, "name")))
            return false;
    }
    return true;
}

/* The fields the patch touches must have the types the patch assumes. */
static const char *malformed(const cJSON *pod, const cJSON *spec)
{
    const cJSON *meta = cJSON_GetObjectItemCaseSensitive(pod, "metadata");
    if (!absent_or(meta, cJSON_IsObject) ||
        !absent_or(cJSON_GetObjectItemCaseSensitive(meta, "annotations"), cJSON_IsObject) ||
        !absent_or(cJSON_GetObjectItemCaseSensitive(meta, "labels"), cJSON_IsObject))
        return "metadata, its annotations or labels are not objects";
    if (!list_of_named_objects(cJSON_GetObjectItemCaseSensitive(spec, "containers")) ||
        !list_of_named_objects(cJSON_GetObjectItemCaseSensitive(spec, "initContainers")) ||
        !list_of_named_objects(cJSON_GetObjectItemCaseSensitive(spec, "volumes")))
        return "containers, initContainers or volumes are not lists of named objects";
    const cJSON *c;
    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(spec, "containers"))
    {
        if (!list_of_named_objects(cJSON_GetObjectItemCaseSensitive(c, "env")) ||
            !absent_or(cJSON_GetObjectItemCaseSensitive(c, "volumeMounts"), cJSON_IsArray))
            return "a container's env or volumeMounts is malformed";
    }
    return NULL;
}

static void skip(inj_mutation *m, int reason, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void skip(inj_mutation *m, int reason, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m->detail, sizeof m->detail, fmt, ap);
    va_end(ap);
    m->outcome = INJ_SKIPPED;
    m->reason = reason;
}

static bool string_is(const cJSON *j, const char *s)
{
    return cJSON_IsString(j) && !strcmp(j->valuestring, s);
}

/* A node selector term that can only match Windows nodes: kubernetes.io/os In [windows]. */
static bool term_requires_windows(const cJSON *term)
{
    const cJSON *e;
    cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(term, "matchExpressions"))
    {
        const cJSON *values = cJSON_GetObjectItemCaseSensitive(e, "values");
        if (!string_is(cJSON_GetObjectItemCaseSensitive(e, "key"), "kubernetes.io/os") ||
            !string_is(cJSON_GetObjectItemCaseSensitive(e, "operator"), "In") ||
            !cJSON_IsArray(values) || cJSON_GetArraySize(values) == 0)
            continue;
        bool only_windows = true;
        const cJSON *v;
        cJSON_ArrayForEach(v, values) only_windows &= string_is(v, "windows");
        if (only_windows)
            return true;
    }
    return false;
}

/* A pod that can only run on Windows nodes (spec.os.name, the kubernetes.io/os node selector, or
 * a required node affinity whose every term asks for Windows): our init container, sidecar and
 * library are Linux's, and would keep it from starting. */
static bool windows_pod(const cJSON *spec)
{
    if (string_is(
            cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(spec, "os"), "name"),
            "windows"))
        return true;
    if (string_is(cJSON_GetObjectItemCaseSensitive(
                      cJSON_GetObjectItemCaseSensitive(spec, "nodeSelector"), "kubernetes.io/os"),
                  "windows"))
        return true;
    const cJSON *terms = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(spec, "affinity"),
                                             "nodeAffinity"),
            "requiredDuringSchedulingIgnoredDuringExecution"),
        "nodeSelectorTerms");
    if (!cJSON_IsArray(terms) || cJSON_GetArraySize(terms) == 0)
        return false;
    const cJSON *t;
    cJSON_ArrayForEach(t, terms) if (!term_requires_windows(t)) return false;
    return true;
}

/* The pre-checks that make a pod decline: returns true when m was set to SKIPPED. */
static bool find_conflict(const cJSON *spec, const cJSON *containers, const bool *selected,
                          inj_mutation *m)
{
    if (windows_pod(spec)) {
        skip(m, INJ_SKIP_NOT_LINUX, "a Windows pod (podprof's containers and library are Linux's)");
        return true;
    }
    static const char *const ours[] = {PP_INIT_CONTAINER, PP_EXPORTER_CONTAINER};
    const char *lists[] = {"containers", "initContainers"};
    for (size_t l = 0; l < 2; l++) {
        const cJSON *list = cJSON_GetObjectItemCaseSensitive(spec, lists[l]);
        for (size_t i = 0; i < sizeof ours / sizeof ours[0]; i++) {
            if (has_named(list, ours[i])) {
                skip(m, INJ_SKIP_CONTAINER_CONFLICT, "the pod already has %s named %s",
                     l ? "an init container" : "a container", ours[i]);
                return true;
            }
        }
    }
    static const char *const volumes[] = {PP_VOLUME_LIBRARY, PP_VOLUME_SPOOL, PP_VOLUME_PODINFO};
    const cJSON *vols = cJSON_GetObjectItemCaseSensitive(spec, "volumes");
    for (size_t i = 0; i < sizeof volumes / sizeof volumes[0]; i++) {
        if (has_named(vols, volumes[i])) {
            skip(m, INJ_SKIP_VOLUME_CONFLICT, "the pod already has a volume named %s", volumes[i]);
            return true;
        }
    }
    const cJSON *c;
    size_t i = 0;
    cJSON_ArrayForEach(c, containers)
    {
        if (!selected[i++])
            continue;
        const char *name = inj_container_name(c);
        if (inj_ld_preload_from_ref(c)) {
            skip(m, INJ_SKIP_LD_PRELOAD_VALUE_FROM,
                 PP_ENV_LD_PRELOAD " of container %s comes from valueFrom", name);
            return true;
        }
        if (mounts_path(c, PP_PATH_LIBRARY_DIR) || mounts_path(c, PP_PATH_SPOOL)) {
            skip(m, INJ_SKIP_MOUNT_CONFLICT, "container %s already mounts %s or %s", name,
                 PP_PATH_LIBRARY_DIR, PP_PATH_SPOOL);
            return true;
        }
    }
    return false;
}

static void add_containers(inj_patch *p, const cJSON *pod, const cJSON *spec, const char *spath,
                           const inj_config *cfg)
{
    char path[INJ_PATH_MAX];
    const cJSON *inits = cJSON_GetObjectItemCaseSensitive(spec, "initContainers");
    bool native = cfg->sidecar_mode == INJ_SIDECAR_NATIVE;
    if (!cJSON_IsArray(inits)) {
        cJSON *list = cJSON_CreateArray();
        cJSON_AddItemToArray(list, inj_shape_init_container(cfg));
        if (native)
            cJSON_AddItemToArray(list, inj_shape_exporter(cfg, pod, 1));
        snprintf(path, sizeof path, "%s/initContainers", spath);
        inj_patch_op(p, "add", path, list);
    } else {
        /* First, so the library is in place before any other init container runs Python; the
         * native exporter right after it, so it also outlives the other init containers. */
        snprintf(path, sizeof path, "%s/initContainers/0", spath);
        inj_patch_op(p, "add", path, inj_shape_init_container(cfg));
        if (native) {
            snprintf(path, sizeof path, "%s/initContainers/1", spath);
            inj_patch_op(p, "add", path, inj_shape_exporter(cfg, pod, 1));
        }
    }
    if (!native) {
        cJSON *one = cJSON_CreateArray();
        cJSON_AddItemToArray(one, inj_shape_exporter(cfg, pod, 0));
        inj_patch_append_all(p, spec, spath, "containers", one);
    }
}

static void annotate(inj_patch *p, const cJSON *pod, const char *prefix, const char *key,
                     const char *value)
{
    char path[INJ_PATH_MAX];
    const cJSON *meta = cJSON_GetObjectItemCaseSensitive(pod, "metadata");
    if (!cJSON_IsObject(meta)) {
        cJSON *obj = cJSON_CreateObject();
        cJSON *ann = cJSON_AddObjectToObject(obj, "annotations");
        cJSON_AddStringToObject(ann, key, value);
        snprintf(path, sizeof path, "%s/metadata", prefix);
        inj_patch_op(p, "add", path, obj);
        return;
    }
    snprintf(path, sizeof path, "%s/metadata", prefix);
    inj_patch_set_in_map(p, meta, path, "annotations", key, value);
}

static int finish(inj_mutation *m, inj_patch *p)
{
    if (!p->ops) {
        snprintf(m->detail, sizeof m->detail, "out of memory");
        m->outcome = INJ_IGNORED;
        return -1;
    }
    m->patch = p->ops;
    return 0;
}

int inj_mutate_pod(const inj_config *cfg, const cJSON *pod, const inj_pod_ctx *ctx, inj_mutation *m)
{
    memset(m, 0, sizeof *m);
    const char *prefix = ctx->path_prefix ? ctx->path_prefix : "";
    const cJSON *spec = cJSON_GetObjectItemCaseSensitive(pod, "spec");
    const cJSON *containers = cJSON_GetObjectItemCaseSensitive(spec, "containers");
    int n_containers = cJSON_GetArraySize(containers);
    if (!cJSON_IsObject(pod) || !cJSON_IsArray(containers) || n_containers == 0) {
        m->outcome = INJ_IGNORED;
        snprintf(m->detail, sizeof m->detail, "object has no spec.containers");
        return 0;
    }
    const char *bad = malformed(pod, spec);
    if (bad) {
        m->outcome = INJ_IGNORED;
        snprintf(m->detail, sizeof m->detail, "malformed pod: %s", bad);
        return 0;
    }
    const cJSON *inits = cJSON_GetObjectItemCaseSensitive(spec, "initContainers");
    if (has_named(inits, PP_INIT_CONTAINER) || has_named(containers, PP_INIT_CONTAINER)) {
        m->outcome = INJ_ALREADY_INJECTED;
        snprintf(m->detail, sizeof m->detail, "already has %s", PP_INIT_CONTAINER);
        return 0;
    }
    inj_optin opt = inj_optin_decide(pod, ctx->namespace_, ctx->mode, cfg->namespace_);
    if (opt.bad_value)
        inj_mutation_warn(m, "%s must be \"true\" or \"false\"; ignored", PP_ANN_ENABLED);
    if (!opt.inject) {
        m->outcome = INJ_NOT_OPTED_IN;
        snprintf(m->detail, sizeof m->detail, "%s", opt.why);
        return 0;
    }

    bool *selected = calloc((size_t)n_containers, sizeof *selected);
    inj_patch p;
    if (!selected || inj_patch_init(&p) < 0) {
        free(selected);
        snprintf(m->detail, sizeof m->detail, "out of memory");
        m->outcome = INJ_IGNORED;
        return -1;
    }
    char unknown[128], ignored[128];
    size_t n_selected = inj_select_containers(pod, cfg, selected, unknown, sizeof unknown);
    if (unknown[0])
        inj_mutation_warn(m, "%s names no container called %s", PP_ANN_CONTAINERS, unknown);
    cJSON *probe = cJSON_CreateArray();
    inj_passthrough_env(pod, INJ_PASS_APP, probe, ignored, sizeof ignored);
    cJSON_Delete(probe);
    if (ignored[0])
        inj_mutation_warn(m, "unsupported config annotations ignored: %s", ignored);

    char disabled[128];
    size_t n_disabled = inj_drop_disabled_containers(pod, selected, disabled, sizeof disabled);
    if (n_disabled && n_disabled < n_selected)
        inj_mutation_warn(m, "not profiled: %s sets %s=false", disabled, PP_ENV_PROFILING_ENABLED);
    if (n_disabled && n_disabled == n_selected)
        skip(m, INJ_SKIP_DISABLED_BY_ENV, "every selected container sets %s=false (%s)",
             PP_ENV_PROFILING_ENABLED, disabled);
    else if (n_selected == 0)
        skip(m, INJ_SKIP_NO_CONTAINER, "no container selected for profiling");
    else
        find_conflict(spec, containers, selected, m);
    n_selected -= n_disabled;
    if (m->outcome == INJ_SKIPPED) {
        inj_mutation_warn(m, "not injected: %s", m->detail);
        annotate(&p, pod, prefix, PP_ANN_SKIPPED, m->detail);
        free(selected);
        return finish(m, &p);
    }

    char spath[INJ_PATH_MAX / 2], cpath[INJ_PATH_MAX], service[256];
    snprintf(spath, sizeof spath, "%s/spec", prefix);
    inj_service_fallback(pod, ctx->workload, service, sizeof service);

    inj_patch_append_all(&p, spec, spath, "volumes", inj_shape_volumes(cfg));
    add_containers(&p, pod, spec, spath, cfg);
    const cJSON *c;
    int i = 0;
    cJSON_ArrayForEach(c, containers)
    {
        if (selected[i]) {
            snprintf(cpath, sizeof cpath, "%s/containers/%d", spath, i);
            inj_patch_append_all(&p, c, cpath, "volumeMounts", inj_shape_app_mounts());
            inj_app_env_patch(&p, c, cpath,
                              inj_app_env_wanted(pod, cfg, inj_container_name(c), service));
        }
        i++;
    }
    annotate(&p, pod, prefix, PP_ANN_INJECTED, PODPROF_VERSION);
    free(selected);
    m->outcome = INJ_INJECTED;
    snprintf(m->detail, sizeof m->detail, "%zu container%s profiled", n_selected,
             n_selected == 1 ? "" : "s");
    return finish(m, &p);
}
