#include "podshape.h"

#include <stdio.h>
#include <string.h>

#include "names.h"
#include "passthrough.h"
#include "pod_json.h"

static cJSON *mount(const char *name, const char *path, int read_only)
{
    cJSON *m = cJSON_CreateObject();
    cJSON_AddStringToObject(m, "name", name);
    cJSON_AddStringToObject(m, "mountPath", path);
    if (read_only)
        cJSON_AddBoolToObject(m, "readOnly", 1);
    return m;
}

static cJSON *empty_dir(const char *name, const char *size)
{
    cJSON *v = cJSON_CreateObject();
    cJSON_AddStringToObject(v, "name", name);
    cJSON *ed = cJSON_AddObjectToObject(v, "emptyDir");
    cJSON_AddStringToObject(ed, "sizeLimit", size);
    return v;
}

cJSON *inj_shape_volumes(const inj_config *cfg)
{
    cJSON *vols = cJSON_CreateArray();
    cJSON_AddItemToArray(vols, empty_dir(PP_VOLUME_LIBRARY, cfg->library_volume_size));
    cJSON_AddItemToArray(vols, empty_dir(PP_VOLUME_SPOOL, cfg->spool_volume_size));

    cJSON *info = cJSON_CreateObject();
    cJSON_AddStringToObject(info, "name", PP_VOLUME_PODINFO);
    cJSON *dapi = cJSON_AddObjectToObject(info, "downwardAPI");
    cJSON *items = cJSON_AddArrayToObject(dapi, "items");
    cJSON *item = cJSON_CreateObject();
    cJSON_AddStringToObject(item, "path", PP_PODINFO_LABELS);
    cJSON *ref = cJSON_AddObjectToObject(item, "fieldRef");
    cJSON_AddStringToObject(ref, "fieldPath", "metadata.labels");
    cJSON_AddItemToArray(items, item);
    cJSON_AddItemToArray(vols, info);
    return vols;
}

/* Passes Pod Security "restricted": non-root, no escalation, no capabilities, read-only root,
 * RuntimeDefault seccomp. */
static cJSON *security_context(const inj_config *cfg)
{
    cJSON *sc = cJSON_CreateObject();
    cJSON_AddBoolToObject(sc, "runAsNonRoot", 1);
    cJSON_AddNumberToObject(sc, "runAsUser", cfg->run_as_user);
    cJSON_AddNumberToObject(sc, "runAsGroup", cfg->run_as_user);
    cJSON_AddBoolToObject(sc, "allowPrivilegeEscalation", 0);
    cJSON_AddBoolToObject(sc, "readOnlyRootFilesystem", 1);
    cJSON *caps = cJSON_AddObjectToObject(sc, "capabilities");
    cJSON *drop = cJSON_AddArrayToObject(caps, "drop");
    cJSON_AddItemToArray(drop, cJSON_CreateString("ALL"));
    cJSON *seccomp = cJSON_AddObjectToObject(sc, "seccompProfile");
    cJSON_AddStringToObject(seccomp, "type", "RuntimeDefault");
    return sc;
}

/* requests = limits, so the pod's QoS class and LimitRanges see exactly what we use. */
static cJSON *resources(const char *cpu, const char *memory)
{
    cJSON *r = cJSON_CreateObject();
    const char *const kinds[] = {"requests", "limits"};
    for (int i = 0; i < 2; i++) {
        cJSON *k = cJSON_AddObjectToObject(r, kinds[i]);
        cJSON_AddStringToObject(k, "cpu", cpu);
        cJSON_AddStringToObject(k, "memory", memory);
    }
    return r;
}

static cJSON *base_container(const inj_config *cfg, const char *name, const char *const *cmd,
                             const char *cpu, const char *memory)
{
    cJSON *c = cJSON_CreateObject();
    cJSON_AddStringToObject(c, "name", name);
    cJSON_AddStringToObject(c, "image", cfg->sampler_image);
    cJSON_AddStringToObject(c, "imagePullPolicy", inj_pull_policies[cfg->image_pull_policy]);
    cJSON *command = cJSON_AddArrayToObject(c, "command");
    for (int i = 0; cmd[i]; i++)
        cJSON_AddItemToArray(command, cJSON_CreateString(cmd[i]));
    cJSON_AddItemToObject(c, "resources", resources(cpu, memory));
    cJSON_AddItemToObject(c, "securityContext", security_context(cfg));
    return c;
}

cJSON *inj_shape_init_container(const inj_config *cfg)
{
    static const char *const cmd[] = {PP_PODPROF_BINARY, "install", PP_PATH_LIBRARY_DIR, NULL};
    cJSON *c = base_container(cfg, PP_INIT_CONTAINER, cmd, cfg->init_cpu, cfg->init_memory);
    cJSON *mounts = cJSON_AddArrayToObject(c, "volumeMounts");
    cJSON_AddItemToArray(mounts, mount(PP_VOLUME_LIBRARY, PP_PATH_LIBRARY_DIR, 0));
    return c;
}

cJSON *inj_shape_exporter(const inj_config *cfg, const cJSON *pod, int native)
{
    static const char *const cmd[] = {PP_PODPROF_BINARY, "export", "--spool", PP_PATH_SPOOL, NULL};
    cJSON *c =
        base_container(cfg, PP_EXPORTER_CONTAINER, cmd, cfg->exporter_cpu, cfg->exporter_memory);
    if (native)
        cJSON_AddStringToObject(c, "restartPolicy", "Always");
    cJSON *env = cJSON_AddArrayToObject(c, "env");
    if (cfg->agent_url[0])
        cJSON_AddItemToArray(env, inj_env_value(PP_ENV_AGENT_URL, cfg->agent_url));
    else
        cJSON_AddItemToArray(env, inj_env_field(PP_ENV_AGENT_HOST, "status.hostIP"));
    cJSON_AddItemToArray(env, inj_env_field(PP_ENV_ENTITY_ID, "metadata.uid"));
    cJSON_AddItemToArray(env, inj_env_field(PP_ENV_K8S_POD_NAME, "metadata.name"));
    cJSON_AddItemToArray(env, inj_env_field(PP_ENV_K8S_NAMESPACE, "metadata.namespace"));
    cJSON_AddItemToArray(env, inj_env_field(PP_ENV_K8S_NODE, "spec.nodeName"));
    cJSON_AddItemToArray(env, inj_env_value(PP_ENV_K8S_LABELS_FILE, PP_PATH_LABELS_FILE));
    /* "none" is spelled as an empty value, which the exporter reads as "no labels". */
    if (cfg->pod_labels_as_tags[0])
        cJSON_AddItemToArray(
            env,
            inj_env_value(PP_ENV_POD_LABELS_AS_TAGS,
                          strcmp(cfg->pod_labels_as_tags, "none") ? cfg->pod_labels_as_tags : ""));
    if (cfg->agentless) {
        cJSON_AddItemToArray(env, inj_env_value(PP_ENV_AGENTLESS, "true"));
        cJSON_AddItemToArray(env, inj_env_value(PP_ENV_SITE, cfg->site));
        cJSON *key = cJSON_CreateObject();
        cJSON_AddStringToObject(key, "name", PP_ENV_API_KEY);
        cJSON *from = cJSON_AddObjectToObject(key, "valueFrom");
        cJSON *ref = cJSON_AddObjectToObject(from, "secretKeyRef");
        cJSON_AddStringToObject(ref, "name", cfg->api_key_secret);
        cJSON_AddStringToObject(ref, "key", cfg->api_key_secret_key);
        cJSON_AddItemToArray(env, key);
    }
    inj_passthrough_env(pod, INJ_PASS_EXPORTER, env, NULL, 0);
    cJSON *mounts = cJSON_AddArrayToObject(c, "volumeMounts");
    cJSON_AddItemToArray(mounts, mount(PP_VOLUME_SPOOL, PP_PATH_SPOOL, 0));
    cJSON_AddItemToArray(mounts, mount(PP_VOLUME_PODINFO, PP_PATH_PODINFO, 1));
    return c;
}

cJSON *inj_shape_app_mounts(void)
{
    cJSON *mounts = cJSON_CreateArray();
    cJSON_AddItemToArray(mounts, mount(PP_VOLUME_LIBRARY, PP_PATH_LIBRARY_DIR, 1));
    cJSON_AddItemToArray(mounts, mount(PP_VOLUME_SPOOL, PP_PATH_SPOOL, 0));
    return mounts;
}
