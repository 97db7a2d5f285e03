/* The seam where `podprof run` hands profiles to the exporter: when an agent (or agentless
 * intake) is configured, run uploads what CMD writes as the sidecar would, with the export loop on
 * a thread (run_exporter.c); otherwise profiles only stay on disk for the summary. */
#ifndef PODPROF_CLI_RUN_EXPORTER_H
#define PODPROF_CLI_RUN_EXPORTER_H

typedef struct run_exporter run_exporter;

/* Called before CMD starts, with the prefix the profiles will be written under. Returns NULL
 * when no agent is configured: run then only summarises. Must not block. */
run_exporter *run_exporter_start(const char *output_prefix);

/* Called after CMD exited and the summary was printed: upload what is left, then stop. Returns
 * 0, or 1 when uploads failed (run still returns CMD's status; this only logs). */
int run_exporter_finish(run_exporter *ex);

#endif
