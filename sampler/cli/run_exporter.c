/* `podprof run` uploads like the sidecar when an agent is configured (run_exporter.h): the export
 * loop runs on a thread over the prefix's directory, limited to the prefix's own files, and keeps
 * the .pprof files so the summary printed after CMD exits still finds them. */
#include "run_exporter.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "export.h"

struct run_exporter {
    podprof_exporter *loop;
};

run_exporter *run_exporter_start(const char *output_prefix)
{
    if (!podprof_export_configured())
        return NULL;
    /* the same split the writer does: "dir/base", "base" in ".", an empty base is "profile" */
    char dir[PATH_MAX];
    const char *slash = strrchr(output_prefix, '/');
    const char *base = slash ? slash + 1 : output_prefix;
    if (!slash)
        snprintf(dir, sizeof dir, ".");
    else if (slash == output_prefix)
        snprintf(dir, sizeof dir, "/");
    else
        snprintf(dir, sizeof dir, "%.*s", (int)(slash - output_prefix), output_prefix);
    run_exporter *ex = calloc(1, sizeof *ex);
    if (!ex)
        return NULL;
    ex->loop = podprof_exporter_start(dir, base[0] ? base : "profile", true);
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
