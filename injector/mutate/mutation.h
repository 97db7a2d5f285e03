/* The decision and the patch for one pod: opt-in, idempotency, conflicts, container selection,
 * then the narrow operations that add the pod shape. Shared by `serve` and `mutate`. */
#ifndef PODPROF_INJECTOR_MUTATION_H
#define PODPROF_INJECTOR_MUTATION_H

#include <cjson/cJSON.h>

#include "config.h"

enum inj_outcome {
    INJ_INJECTED,         /* patch adds the profiler */
    INJ_SKIPPED,          /* opted in but declined: patch adds only the skipped annotation */
    INJ_NOT_OPTED_IN,     /* untouched */
    INJ_ALREADY_INJECTED, /* untouched (reinvocation, re-admission) */
    INJ_IGNORED,          /* not something we mutate (not a pod CREATE, no containers...) */
    INJ_OUTCOME_COUNT
};

enum inj_skip_reason {
    INJ_SKIP_NONE,
    INJ_SKIP_LD_PRELOAD_VALUE_FROM,
    INJ_SKIP_NO_CONTAINER,
    INJ_SKIP_VOLUME_CONFLICT,
    INJ_SKIP_MOUNT_CONFLICT,
    INJ_SKIP_CONTAINER_CONFLICT, /* a container or init container already has one of our names */
    INJ_SKIP_NOT_LINUX,          /* a Windows pod: our containers and library are Linux's */
    INJ_SKIP_DISABLED_BY_ENV,    /* every selected container sets DD_PROFILING_ENABLED=false */
    INJ_SKIP_REASON_COUNT
};

const char *inj_outcome_name(int outcome);
const char *inj_skip_reason_name(int reason);

#define INJ_MAX_WARNINGS 4
#define INJ_WARNING_LEN 160

typedef struct inj_pod_ctx {
    const char *namespace_;  /* request namespace (or the object's) */
    int mode;                /* enum inj_ns_mode */
    const char *path_prefix; /* "" for a Pod, "/spec/template" for a workload */
    const char *workload;    /* the workload's name when mutating a template, else NULL */
} inj_pod_ctx;

typedef struct inj_mutation {
    int outcome;
    int reason;       /* enum inj_skip_reason when outcome == INJ_SKIPPED */
    char detail[200]; /* one line: why (for logs, the skipped annotation, warnings) */
    cJSON *patch;     /* JSON Patch array (NULL = no patch) */
    int n_warnings;
    char warnings[INJ_MAX_WARNINGS][INJ_WARNING_LEN];
} inj_mutation;

/* Decides and builds the patch for pod (a Pod or a pod template object). Returns 0, or -1 when
 * memory ran out (m->detail says so; no patch). */
int inj_mutate_pod(const inj_config *cfg, const cJSON *pod, const inj_pod_ctx *ctx,
                   inj_mutation *m);
void inj_mutation_free(inj_mutation *m);
void inj_mutation_warn(inj_mutation *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
