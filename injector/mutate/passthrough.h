/* profiling.datadoghq.com/config.<NAME> annotations: the settings of the library and of the
 * exporter that a pod may choose, passed through as env. Which ones is said by their own tables
 * (PP_SETTING_POD in podprof/settings_tables.h); anything else is ignored with a warning. */
#ifndef PODPROF_INJECTOR_PASSTHROUGH_H
#define PODPROF_INJECTOR_PASSTHROUGH_H

#include <stddef.h>
#include <cjson/cJSON.h>

enum { INJ_PASS_APP = 1, INJ_PASS_EXPORTER = 2 };

/* Appends {name, value} to env_items for every config annotation of pod that names a setting a
 * pod may choose for `target`. When `ignored` is non-NULL, the names of the other config
 * annotations are written there (comma-separated, truncated to ignored_len). */
void inj_passthrough_env(const cJSON *pod, int target, cJSON *env_items, char *ignored,
                         size_t ignored_len);

#endif
