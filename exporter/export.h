/* The export loop as a library: `podprof export` runs it in the foreground, `podprof run` in a
 * thread beside the profiled command when an agent is configured. */
#ifndef PODPROF_EXPORTER_EXPORT_H
#define PODPROF_EXPORTER_EXPORT_H

#include <stdbool.h>

typedef struct podprof_export_opts {
    const char *spool_dir;
    const char *name_prefix; /* only "<prefix>.<pid>.<seq>" pairs; NULL for any */
    bool once;               /* upload what is there (with retries), then return */
    bool keep_pprof;         /* delete only the .json of a handled pair (see spool.h) */
    int stop_fd;             /* readable = stop: upload what is complete within the drain time */
} podprof_export_opts;

/* Runs until stopped (or, with once, until the spool is empty). Returns 0 on a clean stop, or
 * with once when every profile was delivered; 1 when once dropped a profile or the spool
 * cannot be watched. */
int podprof_export_loop(const podprof_export_opts *opts);

/* True when DD_TRACE_AGENT_URL, DD_AGENT_HOST or agentless upload is configured, or the Agent's
 * socket /var/run/datadog/apm.socket exists. */
bool podprof_export_configured(void);

typedef struct podprof_exporter podprof_exporter;

/* Starts the loop on a thread; NULL (one line logged) when it cannot. */
podprof_exporter *podprof_exporter_start(const char *spool_dir, const char *name_prefix,
                                         bool keep_pprof);
/* Asks the loop to upload what is complete (bounded by PODPROF_EXPORT_DRAIN_MS), joins it and
 * frees everything. Returns the loop's status. */
int podprof_exporter_stop(podprof_exporter *ex);

#endif
