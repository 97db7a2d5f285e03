#include "passthrough.h"

#include <string.h>

#include "names.h"
#include "pod_json.h"
#include "podprof/settings_tables.h"

/* The library's and the exporter's own tables mark the settings a pod may choose (PP_SETTING_POD):
 * ones that only tune profiling. Nothing can redirect the output, the library or the agent
 * endpoint, which stay the injector's. */
static int targets_of(const char *name)
{
    int targets = 0;
    for (size_t i = 0; i < pp_sampler_settings_len; i++)
        if ((pp_sampler_settings[i].flags & PP_SETTING_POD) &&
            !strcmp(pp_sampler_settings[i].name, name))
            targets |= INJ_PASS_APP;
    for (size_t i = 0; i < pp_exporter_settings_len; i++)
        if ((pp_exporter_settings[i].flags & PP_SETTING_POD) &&
            !strcmp(pp_exporter_settings[i].name, name))
            targets |= INJ_PASS_EXPORTER;
    return targets;
}

void inj_passthrough_env(const cJSON *pod, int target, cJSON *env_items, char *ignored,
                         size_t ignored_len)
{
    static const size_t plen = sizeof PP_ANN_CONFIG_PREFIX - 1;
    const cJSON *meta = cJSON_GetObjectItemCaseSensitive(pod, "metadata");
    const cJSON *ann = cJSON_GetObjectItemCaseSensitive(meta, "annotations");
    const cJSON *a;
    if (ignored && ignored_len)
        ignored[0] = '\0';
    cJSON_ArrayForEach(a, ann)
    {
        if (!a->string || strncmp(a->string, PP_ANN_CONFIG_PREFIX, plen) != 0)
            continue;
        const char *name = a->string + plen;
        int targets = targets_of(name);
        if (!targets || !cJSON_IsString(a)) {
            if (ignored) {
                size_t used = strlen(ignored), n = strlen(name);
                if (used + n + 2 < ignored_len) {
                    if (used)
                        ignored[used++] = ',';
                    memcpy(ignored + used, name, n + 1);
                }
            }
            continue;
        }
        if (targets & target)
            cJSON_AddItemToArray(env_items, inj_env_value(name, a->valuestring));
    }
}
