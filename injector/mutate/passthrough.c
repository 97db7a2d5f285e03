#include "passthrough.h"

#include <string.h>

#include "names.h"
#include "pod_json.h"

/* Settings that only tune profiling; nothing here can redirect output or disable the library's
 * safety limits' purpose (DD_PROFILING_OUTPUT_PPROF, LD_PRELOAD, agent endpoints stay ours). */
const struct inj_passthrough inj_passthrough_names[] = {
    {"DD_PROFILING_SAMPLE_RATE", INJ_PASS_APP},
    {"DD_PROFILING_UPLOAD_INTERVAL", INJ_PASS_APP},
    {"DD_PROFILING_MAX_FRAMES", INJ_PASS_APP},
    {"DD_PROFILING_MAX_TIME_USAGE_PCT", INJ_PASS_APP},
    {"DD_PROFILING_TAGS", INJ_PASS_APP},
    {"DD_PROFILING_TIMELINE_ENABLED", INJ_PASS_APP},
    {"DD_PROFILING_ENABLE_CODE_PROVENANCE", INJ_PASS_APP},
    {"DD_PROFILING_LOG_LEVEL", INJ_PASS_APP | INJ_PASS_EXPORTER},
    {"DD_PROFILING_API_TIMEOUT_MS", INJ_PASS_EXPORTER},
    {NULL, 0},
};

static int targets_of(const char *name)
{
    for (int i = 0; inj_passthrough_names[i].name; i++)
        if (!strcmp(inj_passthrough_names[i].name, name))
            return inj_passthrough_names[i].targets;
    return 0;
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
