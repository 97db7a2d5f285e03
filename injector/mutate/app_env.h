/* The environment of a profiled application container: each variable only where the container
 * does not set it already, LD_PRELOAD prepended to an existing literal value. */
#ifndef PODPROF_INJECTOR_APP_ENV_H
#define PODPROF_INJECTOR_APP_ENV_H

#include <stdbool.h>
#include <cjson/cJSON.h>

#include "config.h"
#include "patch.h"

/* True when the container's LD_PRELOAD comes from valueFrom (its value is unknowable here, so
 * the pod is skipped rather than risk replacing or duplicating it). */
bool inj_ld_preload_from_ref(const cJSON *container);

/* The environment entries the injector wants in container `name`, in priority order: pod config
 * annotations, the fixed sampler settings, DD_SERVICE/ENV/VERSION, the configured default env. */
cJSON *inj_app_env_wanted(const cJSON *pod, const inj_config *cfg, const char *container_name,
                          const char *service_fallback);

/* Emits the operations that merge `wanted` (consumed) into container at cpath. */
void inj_app_env_patch(inj_patch *p, const cJSON *container, const char *cpath, cJSON *wanted);

#endif
