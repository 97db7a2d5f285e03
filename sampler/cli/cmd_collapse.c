/* podprof collapse PROFILE...: folded stacks ("a;b;c 42") of any pprof files, for flamegraph.pl,
 * inferno, speedscope or a diff in a text editor. */
#include <stdio.h>

#include "call_tree.h"
#include "cli_options.h"
#include "commands.h"
#include "folded_writer.h"
#include "picture_job.h"

static const pp_setting collapse_table[] = {
    PICTURE_COMMON_OPTIONS("write the folded stacks to OUT (default: stdout)"),
};
static const cli_spec collapse_spec = {
    "collapse",
    "[OPTIONS] PROFILE...",
    "Merges the given pprof files into folded stacks, one line per call path: the frames from "
    "the outermost caller to the leaf joined by ';', a space, and the path's own value of the "
    "sample type (e.g. nanoseconds of CPU time), sorted by path. Frames are named as in "
    "`podprof flamegraph`. The format flamegraph.pl, inferno and speedscope read.",
    collapse_table,
    sizeof collapse_table / sizeof collapse_table[0],
    NULL,
    true,
};

static int write_folded(void *ctx, FILE *f)
{
    return folded_write(ctx, 0, f);
}

int podprof_cmd_collapse(int argc, char **argv)
{
    picture_options o;
    picture_job job;
    int first = picture_parse(&job, &collapse_spec, argc, argv, &o, 1, argc);
    if (first < 0)
        return first == PICTURE_HELP_SHOWN ? 0 : 2;
    call_tree *t = picture_tree(&job);
    int rc = t ? picture_load(&job, t, 0, argv + first, (size_t)(argc - first)) : 1;
    if (rc == 0 && call_tree_sort(t) != 0) {
        fprintf(stderr, "podprof collapse: out of memory\n");
        rc = 1;
    }
    if (rc == 0)
        rc = picture_output(&job, true, write_folded, t);
    call_tree_free(t);
    picture_job_free(&job);
    return rc;
}
