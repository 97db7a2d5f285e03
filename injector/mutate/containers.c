#include "containers.h"

#include <stdio.h>
#include <string.h>

#include "names.h"
#include "pod_json.h"
#include "podprof/setting_value.h"

static bool in_list(const inj_strlist *l, const char *name)
{
    for (size_t i = 0; i < l->n; i++)
        if (!strcmp(l->items[i], name))
            return true;
    return false;
}

/* Is `name` one of the comma-separated items of `list` (spaces around items ignored)? */
static bool in_csv(const char *list, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = list; p && *p;) {
        while (*p == ' ')
            p++;
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        while (len && p[len - 1] == ' ')
            len--;
        if (len == n && n && !strncmp(p, name, n))
            return true;
        p = e ? e + 1 : NULL;
    }
    return false;
}

size_t inj_select_containers(const cJSON *pod, const inj_config *cfg, bool *selected, char *unknown,
                             size_t unknown_len)
{
    const cJSON *spec = cJSON_GetObjectItemCaseSensitive(pod, "spec");
    const cJSON *containers = cJSON_GetObjectItemCaseSensitive(spec, "containers");
    const char *wanted = inj_pod_annotation(pod, PP_ANN_CONTAINERS);
    size_t count = 0, i = 0;
    const cJSON *c;
    if (unknown_len)
        unknown[0] = '\0';
    cJSON_ArrayForEach(c, containers)
    {
        const char *name = inj_container_name(c);
        bool pick = wanted ? in_csv(wanted, name) : !in_list(&cfg->skip_containers, name);
        /* Our own containers are never application containers. */
        if (!strcmp(name, PP_EXPORTER_CONTAINER) || !strcmp(name, PP_INIT_CONTAINER))
            pick = false;
        selected[i++] = pick;
        count += pick;
    }
    if (!wanted)
        return count;
    /* Report annotation names that matched nothing (typos are the usual cause of "not profiled").
     */
    for (const char *p = wanted; *p;) {
        while (*p == ' ' || *p == ',')
            p++;
        const char *e = p;
        while (*e && *e != ',')
            e++;
        size_t len = (size_t)(e - p);
        while (len && p[len - 1] == ' ')
            len--;
        bool found = false;
        cJSON_ArrayForEach(c, containers)
        {
            const char *name = inj_container_name(c);
            if (strlen(name) == len && !strncmp(name, p, len))
                found = true;
        }
        if (len && !found) {
            size_t used = strlen(unknown);
            if (used + len + 2 < unknown_len) {
                if (used)
                    unknown[used++] = ',';
                memcpy(unknown + used, p, len);
                unknown[used + len] = '\0';
            }
        }
        p = e;
    }
    return count;
}

size_t inj_drop_disabled_containers(const cJSON *pod, bool *selected, char *names, size_t names_len)
{
    const cJSON *spec = cJSON_GetObjectItemCaseSensitive(pod, "spec");
    const cJSON *c;
    size_t dropped = 0, i = 0, used = 0;
    if (names_len)
        names[0] = '\0';
    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(spec, "containers"))
    {
        const cJSON *e = inj_env_last(c, PP_ENV_PROFILING_ENABLED, NULL);
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(e, "value");
        bool on = true;
        if (selected[i] && cJSON_IsString(v) && pp_value_bool(v->valuestring, &on) == 0 && !on) {
            selected[i] = false;
            dropped++;
            int n = snprintf(names + used, names_len - used, "%s%s", used ? "," : "",
                             inj_container_name(c));
            if (n > 0 && used + (size_t)n < names_len)
                used += (size_t)n;
        }
        i++;
    }
    return dropped;
}
