/* Small readers and builders of the Kubernetes JSON every mutation step shares: list elements by
 * name, a pod's annotations and labels, and env entries. No decisions live here, so every other
 * file of the mutation can use it without depending on one another. */
#ifndef PODPROF_INJECTOR_POD_JSON_H
#define PODPROF_INJECTOR_POD_JSON_H

#include <cjson/cJSON.h>

/* The element of a Kubernetes list (containers, env, volumes...) whose "name" is name, or NULL;
 * its position goes to *index when index is non-NULL. */
const cJSON *inj_find_by_name(const cJSON *list, const char *name, int *index);
/* The env entry of container named name that the kubelet uses: the last one (a name given twice
 * takes its last value), with its index; NULL when none. */
const cJSON *inj_env_last(const cJSON *container, const char *name, int *index);

/* The container's "name" or "" when absent. */
const char *inj_container_name(const cJSON *container);

/* A string annotation or label of pod (metadata.annotations / metadata.labels), or NULL. */
const char *inj_pod_annotation(const cJSON *pod, const char *key);
const char *inj_pod_label(const cJSON *pod, const char *key);

/* {"name": name, "value": value} and {"name": name, "valueFrom": {"fieldRef": {"fieldPath": p}}}.
 */
cJSON *inj_env_value(const char *name, const char *value);
cJSON *inj_env_field(const char *name, const char *field_path);

#endif
