#include "pod_json.h"

#include <string.h>

const char *inj_container_name(const cJSON *c)
{
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(c, "name");
    return cJSON_IsString(n) ? n->valuestring : "";
}

const cJSON *inj_find_by_name(const cJSON *list, const char *name, int *index)
{
    const cJSON *e;
    int i = 0;
    cJSON_ArrayForEach(e, list)
    {
        const cJSON *n = cJSON_GetObjectItemCaseSensitive(e, "name");
        if (cJSON_IsString(n) && !strcmp(n->valuestring, name)) {
            if (index)
                *index = i;
            return e;
        }
        i++;
    }
    return NULL;
}

const cJSON *inj_env_last(const cJSON *container, const char *name, int *index)
{
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(container, "env"), *e, *found = NULL;
    int i = 0;
    cJSON_ArrayForEach(e, list)
    {
        const cJSON *n = cJSON_GetObjectItemCaseSensitive(e, "name");
        if (cJSON_IsString(n) && !strcmp(n->valuestring, name)) {
            found = e;
            if (index)
                *index = i;
        }
        i++;
    }
    return found;
}

static const char *meta_string(const cJSON *pod, const char *map, const char *key)
{
    const cJSON *meta = cJSON_GetObjectItemCaseSensitive(pod, "metadata");
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(meta, map);
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(m, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

const char *inj_pod_annotation(const cJSON *pod, const char *key)
{
    return meta_string(pod, "annotations", key);
}

const char *inj_pod_label(const cJSON *pod, const char *key)
{
    return meta_string(pod, "labels", key);
}

cJSON *inj_env_value(const char *name, const char *value)
{
    cJSON *e = cJSON_CreateObject();
    if (e && (!cJSON_AddStringToObject(e, "name", name) ||
              !cJSON_AddStringToObject(e, "value", value))) {
        cJSON_Delete(e);
        return NULL;
    }
    return e;
}

cJSON *inj_env_field(const char *name, const char *field_path)
{
    cJSON *e = cJSON_CreateObject();
    cJSON *from = cJSON_AddObjectToObject(e, "valueFrom");
    cJSON *ref = cJSON_AddObjectToObject(from, "fieldRef");
    if (!e || !cJSON_AddStringToObject(e, "name", name) || !ref ||
        !cJSON_AddStringToObject(ref, "fieldPath", field_path)) {
        cJSON_Delete(e);
        return NULL;
    }
    return e;
}
