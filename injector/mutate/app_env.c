#include "app_env.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "names.h"
#include "podprof/ld_preload.h"
#include "passthrough.h"
#include "pod_json.h"

bool inj_ld_preload_from_ref(const cJSON *container)
{
    const cJSON *e = inj_env_last(container, PP_ENV_LD_PRELOAD, NULL);
    return e && cJSON_GetObjectItemCaseSensitive(e, "valueFrom") != NULL;
}

static void add_label_ref(cJSON *want, const cJSON *pod, const char *env, const char *label)
{
    char path[128];
    if (!inj_pod_label(pod, label))
        return;
    snprintf(path, sizeof path, "metadata.labels['%s']", label);
    cJSON_AddItemToArray(want, inj_env_field(env, path));
}

cJSON *inj_app_env_wanted(const cJSON *pod, const inj_config *cfg, const char *container_name,
                          const char *service_fallback)
{
    cJSON *want = cJSON_CreateArray();
    if (!want)
        return NULL;
    cJSON_AddItemToArray(want, inj_env_value(PP_ENV_LD_PRELOAD, PP_PATH_LIBRARY));
    inj_passthrough_env(pod, INJ_PASS_APP, want, NULL, 0);
    cJSON_AddItemToArray(want, inj_env_value(PP_ENV_PROFILING_ENABLED, "true"));
    cJSON_AddItemToArray(want, inj_env_value(PP_ENV_OUTPUT_PPROF, PP_PATH_OUTPUT_PREFIX));
    cJSON_AddItemToArray(want, inj_env_value(PP_ENV_K8S_CONTAINER, container_name));
    if (inj_pod_label(pod, PP_LABEL_TAG_SERVICE))
        add_label_ref(want, pod, PP_ENV_SERVICE, PP_LABEL_TAG_SERVICE);
    else if (service_fallback && service_fallback[0])
        cJSON_AddItemToArray(want, inj_env_value(PP_ENV_SERVICE, service_fallback));
    add_label_ref(want, pod, PP_ENV_ENV, PP_LABEL_TAG_ENV);
    add_label_ref(want, pod, PP_ENV_VERSION, PP_LABEL_TAG_VERSION);
    for (size_t i = 0; i < cfg->default_env.n; i++) {
        const char *item = cfg->default_env.items[i];
        const char *eq = strchr(item, '=');
        char name[256];
        size_t n = (size_t)(eq - item);
        if (n >= sizeof name)
            continue;
        memcpy(name, item, n);
        name[n] = '\0';
        cJSON_AddItemToArray(want, inj_env_value(name, eq + 1));
    }
    return want;
}

/* LD_PRELOAD already set to a literal: ours goes first, unless the list names it already. */
static void merge_ld_preload(inj_patch *p, const cJSON *entry, int index, const char *cpath)
{
    char path[INJ_PATH_MAX];
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(entry, "value");
    const char *old = cJSON_IsString(v) ? v->valuestring : "";
    if (pp_ld_preload_has(old, PP_PATH_LIBRARY))
        return;
    char *merged = pp_ld_preload_prepend(PP_PATH_LIBRARY, old);
    if (!merged) {
        inj_patch_free(p);
        return;
    }
    snprintf(path, sizeof path, "%s/env/%d/value", cpath, index);
    inj_patch_op(p, v ? "replace" : "add", path, cJSON_CreateString(merged));
    free(merged);
}

void inj_app_env_patch(inj_patch *p, const cJSON *container, const char *cpath, cJSON *wanted)
{
    cJSON *add = cJSON_CreateArray();
    if (!add || !wanted) {
        cJSON_Delete(add);
        cJSON_Delete(wanted);
        inj_patch_free(p);
        return;
    }
    while (wanted->child) {
        cJSON *e = cJSON_DetachItemViaPointer(wanted, wanted->child);
        const cJSON *n = cJSON_GetObjectItemCaseSensitive(e, "name");
        const char *name = cJSON_IsString(n) ? n->valuestring : "";
        int index = 0;
        const cJSON *existing = inj_env_last(container, name, &index);
        if (existing && !strcmp(name, PP_ENV_LD_PRELOAD))
            merge_ld_preload(p, existing, index, cpath);
        if (existing || inj_find_by_name(add, name, NULL))
            cJSON_Delete(e);
        else
            cJSON_AddItemToArray(add, e);
    }
    cJSON_Delete(wanted);
    inj_patch_append_all(p, container, cpath, "env", add);
}
