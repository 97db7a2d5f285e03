/* Where DD_SERVICE comes from when the pod has no tags.datadoghq.com/service label. Pods created
 * by controllers have no name at admission (only generateName), so the fallback is the owning
 * workload's name: ReplicaSet minus its pod-template-hash, a CronJob's Job minus its schedule
 * suffix, or the owner itself. */
#ifndef PODPROF_INJECTOR_SERVICE_NAME_H
#define PODPROF_INJECTOR_SERVICE_NAME_H

#include <stddef.h>
#include <cjson/cJSON.h>

/* Writes the fallback service name of pod into out: app.kubernetes.io/name, else workload_hint
 * (the workload's own name when mutating a template offline), else the owner's name, else
 * generateName, else metadata.name. Returns 0, or -1 when none is known (out = ""). */
int inj_service_fallback(const cJSON *pod, const char *workload_hint, char *out, size_t outlen);

#endif
