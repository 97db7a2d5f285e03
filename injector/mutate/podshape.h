/* The objects the injector adds to a pod: volumes, the podprof-init container, the exporter
 * sidecar and the application containers' mounts. Each returns a new cJSON (NULL only on
 * out-of-memory). */
#ifndef PODPROF_INJECTOR_PODSHAPE_H
#define PODPROF_INJECTOR_PODSHAPE_H

#include <cjson/cJSON.h>

#include "config.h"

cJSON *inj_shape_volumes(const inj_config *cfg);
cJSON *inj_shape_init_container(const inj_config *cfg);
/* native: an init container with restartPolicy Always; else a plain container. */
cJSON *inj_shape_exporter(const inj_config *cfg, const cJSON *pod, int native);
cJSON *inj_shape_app_mounts(void);

#endif
