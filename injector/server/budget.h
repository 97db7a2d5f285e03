/* The server's memory, bounded by construction: from the container's memory limit and CPU quota
 * it derives how many event-loop workers run, the largest body and the JSON working memory one
 * request may use, and how fast each worker may read from all its connections together.
 *
 * Per worker, at most one request is parsed at a time (a worker parses synchronously), so the
 * server's memory is at most
 *
 *     baseline + workers × (arena + 2 × body + ingress_rate × (request_timeout + 1 s))
 *
 * where 2 × body is the body's buffers while it is made contiguous, and ingress_rate ×
 * (request_timeout + 1 s) bounds the bytes of every request still arriving on that worker (the
 * bucket refills once a second): the read rate of all its connections together is capped (a
 * libevent rate-limit group), and a request not complete request_timeout after its first byte is
 * cut off, its buffers freed. Idle connections read nothing and cost only their TLS state, which
 * the baseline covers. */
#ifndef PODPROF_INJECTOR_BUDGET_H
#define PODPROF_INJECTOR_BUDGET_H

#include <stddef.h>

#include "config.h"

/* What the process needs besides requests: code, libraries, TLS context, the event loops and a
 * few thousand idle TLS connections (measured: tests/injector/test_hostile.py). */
#define INJ_BASELINE_BYTES (20L << 20)
/* The limit assumed when neither the setting nor the cgroup gives one: the chart's default. */
#define INJ_DEFAULT_MEMORY_LIMIT (64L << 20)
/* More workers would only split the memory thinner: admission is a few requests per pod. */
#define INJ_MAX_AUTO_WORKERS 4
/* The least one worker's share may be: a typical pod's review parses in well under this. */
#define INJ_MIN_WORKER_SHARE (4L << 20)

typedef struct inj_budget {
    long limit;             /* bytes: the memory limit the budget fits */
    const char *limit_from; /* "setting", "cgroup" or "default" */
    int workers;
    size_t body_max;     /* largest request body; larger gets 413 */
    size_t arena_max;    /* JSON working memory of one request */
    size_t ingress_rate; /* bytes per second one worker reads from all its connections */
} inj_budget;

/* Derives the budget. cgroup_memory: the cgroup's memory limit in bytes, 0 when none;
 * cgroup_cpus: the CPU quota in CPUs (e.g. 0.5), 0 when none; online_cpus: the CPUs online.
 * Returns 0, or -1 with err set when the limit cannot hold even one worker. */
int inj_budget_derive(const inj_config *cfg, long cgroup_memory, double cgroup_cpus,
                      long online_cpus, inj_budget *b, char *err, size_t errlen);

/* The container's limits from its cgroup (v2, else v1): memory in bytes and CPUs, 0 when
 * unlimited or unreadable. */
long inj_cgroup_memory_limit(void);
double inj_cgroup_cpu_quota(void);

#endif
