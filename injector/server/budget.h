/* The server's memory, bounded by construction: from the container's memory limit and CPU quota
 * it derives how many event-loop workers run, how many connections each keeps open, the largest
 * body and the JSON working memory one request may use, and how many bytes of requests still
 * arriving each worker may hold.
 *
 * Per worker, at most one request is parsed at a time (a worker parses synchronously), at most
 * conn_max connections are open and at most in_flight bytes of unanswered requests are held, so
 * the server's memory is at most
 *
 *     fixed + workers × (conn_max × conn + arena + 2 × body + in_flight) ≤ 7/8 × limit
 *
 * where 2 × body is the body's buffers while it is made contiguous. in_flight is a count of bytes,
 * not a rate: every byte a connection reads is taken from its lane's allowance and given back when
 * its request is answered or the connection closes (a request not complete request_timeout after
 * its first byte is cut off), and a lane with nothing left reads nothing until bytes come back;
 * answered reviews therefore flow at full speed. The allowance is split in two lanes, a quarter
 * for requests up to 64 KiB that arrive within a second, the rest for larger or slower ones, so
 * clients sending large, slow or endless bodies exhaust only their own lane while ordinary reviews
 * keep arriving. Idle connections read nothing and cost only their TLS state (conn); a quarter of
 * what the limit leaves beyond the fixed part is theirs, and at the bound the longest-idle
 * connection is closed for a new one (or, all being busy, accepting pauses). */
#ifndef PODPROF_INJECTOR_BUDGET_H
#define PODPROF_INJECTOR_BUDGET_H

#include <stddef.h>

#include "config.h"

/* What the process needs besides connections and requests: code, libraries, TLS context and
 * session cache, the event loops (measured peak under TLS garbage: 8.3 MiB,
 * tests/injector/test_hostile.py). */
#define INJ_FIXED_BYTES (10L << 20)
/* One open connection: its TLS state (buffers released while idle), libevent's connection and
 * buffers (measured: 3,000 idle connections cost 48 MiB, 16 KiB each). */
#define INJ_CONN_BYTES (20L << 10)
/* The worst case fills the limit less 1/INJ_MARGIN_DIVISOR of it. */
#define INJ_MARGIN_DIVISOR 8
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
    size_t body_max;   /* largest request body; larger gets 413 */
    size_t arena_max;  /* JSON working memory of one request */
    size_t in_flight;  /* bytes of unanswered requests one worker holds */
    size_t small_lane; /* of which for requests still small, the rest for large ones */
    int conn_max;      /* open connections per worker */
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
