/* Deriving the server's memory budget (budget.h) and reading the container's limits from its
 * cgroup. */
#include "budget.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "podprof/read_bounded.h"

int inj_budget_derive(const inj_config *cfg, long cgroup_memory, double cgroup_cpus,
                      long online_cpus, inj_budget *b, char *err, size_t errlen)
{
    memset(b, 0, sizeof *b);
    if (cfg->memory_limit_bytes > 0) {
        b->limit = cfg->memory_limit_bytes;
        b->limit_from = "setting";
    } else if (cgroup_memory > 0) {
        b->limit = cgroup_memory;
        b->limit_from = "cgroup";
    } else {
        b->limit = INJ_DEFAULT_MEMORY_LIMIT;
        b->limit_from = "default";
    }
    long room = b->limit - INJ_BASELINE_BYTES;
    if (room < INJ_MIN_WORKER_SHARE) {
        snprintf(err, errlen,
                 "memory limit %ld bytes leaves no room for a request (at least %ld needed)",
                 b->limit, INJ_BASELINE_BYTES + INJ_MIN_WORKER_SHARE);
        return -1;
    }
    int workers = cfg->workers;
    if (workers <= 0) {
        double cpus = online_cpus > 0 ? (double)online_cpus : 1;
        if (cgroup_cpus > 0 && cgroup_cpus < cpus)
            cpus = cgroup_cpus;
        workers = (int)ceil(cpus);
        if (workers > INJ_MAX_AUTO_WORKERS)
            workers = INJ_MAX_AUTO_WORKERS;
    }
    if (workers < 1)
        workers = 1;
    /* Fewer workers rather than shares too thin to parse a pod. */
    if (room / workers < INJ_MIN_WORKER_SHARE)
        workers = (int)(room / INJ_MIN_WORKER_SHARE);
    b->workers = workers;
    size_t share = (size_t)(room / workers);
    /* A share: half for the JSON working memory, an eighth for the body (twice, while it is made
     * contiguous), the last quarter for the requests still arriving. */
    b->body_max = share / 8;
    if (cfg->max_body_bytes > 0 && (size_t)cfg->max_body_bytes < b->body_max)
        b->body_max = (size_t)cfg->max_body_bytes;
    b->arena_max = share / 2;
    size_t ingress = share - b->arena_max - 2 * (share / 8);
    /* one tick (a second) more than the timeout: the bucket refills in whole ticks */
    b->ingress_rate = ingress / (size_t)(cfg->request_timeout_s + 1);
    return 0;
}

/* The first line of a small file under /sys/fs/cgroup, or "" when unreadable. */
static void read_line(const char *path, char *buf, size_t size)
{
    buf[0] = '\0';
    FILE *f = fopen(path, "re");
    if (!f)
        return;
    size_t len = 0;
    const char *why = NULL;
    char *text = pp_read_bounded(f, 256, &len, &why);
    fclose(f);
    if (text) {
        snprintf(buf, size, "%.*s", (int)strcspn(text, "\n"), text);
        free(text);
    }
}

long inj_cgroup_memory_limit(void)
{
    char line[300];
    read_line("/sys/fs/cgroup/memory.max", line, sizeof line);
    if (!line[0])
        read_line("/sys/fs/cgroup/memory/memory.limit_in_bytes", line, sizeof line);
    char *end = NULL;
    long long v = strtoll(line, &end, 10);
    /* "max", or v1's "unlimited" (a page-rounded LLONG_MAX) */
    if (end == line || v <= 0 || v >= (1LL << 50))
        return 0;
    return (long)v;
}

double inj_cgroup_cpu_quota(void)
{
    char line[300];
    read_line("/sys/fs/cgroup/cpu.max", line, sizeof line);
    long long quota = 0, period = 0;
    if (line[0]) {
        if (sscanf(line, "%lld %lld", &quota, &period) != 2) /* "max 100000" */
            return 0;
    } else {
        char q[300], p[300];
        read_line("/sys/fs/cgroup/cpu/cpu.cfs_quota_us", q, sizeof q);
        read_line("/sys/fs/cgroup/cpu/cpu.cfs_period_us", p, sizeof p);
        quota = strtoll(q, NULL, 10);
        period = strtoll(p, NULL, 10);
    }
    return quota > 0 && period > 0 ? (double)quota / (double)period : 0;
}
