#include "service_name.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "names.h"
#include "pod_json.h"

static int copy_out(const char *s, size_t n, char *out, size_t outlen)
{
    if (n == 0 || n >= outlen) {
        out[0] = '\0';
        return -1;
    }
    memcpy(out, s, n);
    out[n] = '\0';
    return 0;
}

static bool all_digits(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return false;
    return true;
}

/* "<deployment>-<hash>" -> "<deployment>" when the pod's pod-template-hash label says so. */
static size_t strip_hash(const char *name, size_t n, const char *hash)
{
    size_t h = hash ? strlen(hash) : 0;
    if (h && n > h + 1 && name[n - h - 1] == '-' && !strncmp(name + n - h, hash, h))
        return n - h - 1;
    return n;
}

static const cJSON *controller_owner(const cJSON *meta)
{
    const cJSON *owners = cJSON_GetObjectItemCaseSensitive(meta, "ownerReferences");
    const cJSON *o, *first = NULL;
    cJSON_ArrayForEach(o, owners)
    {
        if (!cJSON_IsObject(o))
            continue;
        if (!first)
            first = o;
        if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "controller")))
            return o;
    }
    return first;
}

int inj_service_fallback(const cJSON *pod, const char *workload_hint, char *out, size_t outlen)
{
    const char *app = inj_pod_label(pod, PP_LABEL_APP_NAME);
    if (app && app[0])
        return copy_out(app, strlen(app), out, outlen);
    if (workload_hint && workload_hint[0])
        return copy_out(workload_hint, strlen(workload_hint), out, outlen);

    const char *hash = inj_pod_label(pod, PP_LABEL_POD_TEMPLATE_HASH);
    const cJSON *meta = cJSON_GetObjectItemCaseSensitive(pod, "metadata");
    const cJSON *owner = controller_owner(meta);
    if (owner) {
        const cJSON *kind = cJSON_GetObjectItemCaseSensitive(owner, "kind");
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(owner, "name");
        if (cJSON_IsString(name) && name->valuestring[0]) {
            const char *n = name->valuestring;
            size_t len = strlen(n);
            const char *k = cJSON_IsString(kind) ? kind->valuestring : "";
            if (!strcmp(k, "ReplicaSet")) {
                len = strip_hash(n, len, hash);
            } else if (!strcmp(k, "Job")) {
                /* CronJob-created Jobs are "<cronjob>-<scheduled minute>". */
                const char *dash = strrchr(n, '-');
                if (dash && dash != n && strlen(dash + 1) >= 8 && all_digits(dash + 1))
                    len = (size_t)(dash - n);
            }
            return copy_out(n, len, out, outlen);
        }
    }
    const cJSON *gen = cJSON_GetObjectItemCaseSensitive(meta, "generateName");
    if (cJSON_IsString(gen) && gen->valuestring[0]) {
        const char *g = gen->valuestring;
        size_t len = strlen(g);
        while (len && g[len - 1] == '-')
            len--;
        return copy_out(g, strip_hash(g, len, hash), out, outlen);
    }
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(meta, "name");
    if (cJSON_IsString(name))
        return copy_out(name->valuestring, strlen(name->valuestring), out, outlen);
    out[0] = '\0';
    return -1;
}
