/* The seam where `podprof run` hands profiles to the exporter (DESIGN.md §4: "runs the exporter
 * loop itself when an agent is configured"). The exporter part fills in run_exporter.c; until
 * then no agent is ever configured and profiles stay on disk for the summary. */
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
