/* Which application containers of a pod get the profiler. */
#ifndef PODPROF_INJECTOR_CONTAINERS_H
#define PODPROF_INJECTOR_CONTAINERS_H

#include <stdbool.h>
#include <stddef.h>
#include <cjson/cJSON.h>

#include "config.h"

/* Marks selected[i] for spec.containers[i] (selected has room for every container): the names of
 * the profiling.datadoghq.com/containers annotation when present, else every container that is
 * not a known sidecar (cfg->skip_containers). Returns how many were selected. A name in the
 * annotation that matches no container is reported in `unknown` (empty when none). */
size_t inj_select_containers(const cJSON *pod, const inj_config *cfg, bool *selected, char *unknown,
                             size_t unknown_len);

/* Unselects the selected containers whose own env turns profiling off (the DD_PROFILING_ENABLED
 * entry the kubelet uses has a literal false value): the library would do nothing there, so they
 * get no LD_PRELOAD. Their names go to `names` (comma-separated); returns how many. */
size_t inj_drop_disabled_containers(const cJSON *pod, bool *selected, char *names,
                                    size_t names_len);

#endif
