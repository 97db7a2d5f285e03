/* `podprof run` uploads like the sidecar when an agent is configured (run_exporter.h): the export
 * loop runs on a thread over the prefix's directory (split as the library splits it), limited to
 * the prefix's own files, and keeps the .pprof files so the summary printed after CMD exits still
 * finds them. */
#include "run_exporter.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "export.h"
#include "podprof/spool_format.h"

struct run_exporter {
    podprof_exporter *loop;
};

run_exporter *run_exporter_start(const char *output_prefix)
{
    if (!podprof_export_configured())
        return NULL;
    char dir[PATH_MAX];
    const char *base;
    if (!pp_spool_split(output_prefix, dir, sizeof dir, &base))
        return NULL;
    run_exporter *ex = calloc(1, sizeof *ex);
    if (!ex)
        return NULL;
    ex->loop = podprof_exporter_start(dir, base, true);
    if (!ex->loop) {
        free(ex);
        return NULL;
    }
    return ex;
}

int run_exporter_finish(run_exporter *ex)
{
    if (!ex)
        return 0;
    int status = podprof_exporter_stop(ex->loop);
    free(ex);
    return status;
}
