/* podprof flamegraph PROFILE...: one flame graph (SVG, or HTML) of any pprof files, for any
 * sample type they declare; also what `podprof run --flamegraph` draws. */
#include <stdio.h>
#include <string.h>

#include "call_tree.h"
#include "cli_options.h"
#include "commands.h"
#include "flame_svg.h"
#include "picture_job.h"
#include "sample_types.h"

#define FLAME_HEADING "Flame graph: " /* the default heading, before the type */
static const pp_setting flame_table[] = {
    PICTURE_DRAWING_OPTIONS(FLAME_HEADING),
};
static const cli_spec flame_spec = {
    "flamegraph",
    "[OPTIONS] PROFILE...",
    "Merges the given pprof files (gzip or raw protobuf, podprof's or any with Python-style "
    "frames) into one flame graph: a self-contained SVG (no external reference) whose boxes are "
    "sized by the chosen sample type, with hover titles giving each frame's value and share, "
    "click to zoom and a regex search that shows the matched share when opened in a browser. "
    "`podprof flamegraph --types` lists the sample types and their aliases. A bad file, or one "
    "lacking the type, stops it with one line naming the file (exit status 2) and no output.",
    flame_table,
    sizeof flame_table / sizeof flame_table[0],
    NULL,
    true,
};

typedef struct svg_job {
    const call_tree *t;
    const flame_svg_options *o;
} svg_job;

static int write_svg(void *ctx, FILE *f)
{
    const svg_job *s = ctx;
    return flame_svg_write(s->t, s->o, f);
}

/* Draws files with the job's filters; returns the exit status. */
static int draw(const picture_job *job, char **files, size_t n, const char *title)
{
    call_tree *t = picture_tree(job);
    if (!t)
        return 1;
    int rc = picture_load(job, t, 0, files, n);
    if (rc == 0 && call_tree_sort(t) != 0) {
        fprintf(stderr, "podprof %s: out of memory\n", job->cmd);
        rc = 1;
    }
    if (rc == 0) {
        char type_title[160], heading[256], subtitle[1024];
        picture_type_title(t, type_title, sizeof type_title);
        snprintf(heading, sizeof heading, FLAME_HEADING "%s", type_title);
        picture_subtitle(job, t, 0, subtitle, sizeof subtitle);
        flame_svg_options o = {title ? title : heading, subtitle, 0, -1, picture_wants_html(job)};
        svg_job s = {t, &o};
        rc = picture_output(job, false, write_svg, &s);
        if (rc == 0 && call_tree_node(t, CALL_TREE_ROOT)->total[0] <= 0)
            fprintf(stderr, "podprof %s: no %s samples%s: the picture is empty\n", job->cmd,
                    call_tree_get_info(t)->type,
                    job->filter.thread || job->filter.focus || job->filter.ignore
                        ? " left after the filters"
                        : "");
        else if (rc == 0 && job->output)
            fprintf(stderr, "podprof %s: wrote %s (%s)\n", job->cmd, job->output, subtitle);
    }
    call_tree_free(t);
    return rc;
}

int podprof_write_flamegraph(char **files, size_t n_files, const char *output)
{
    picture_options o = {0};
    picture_job job;
    if (pp_settings_defaults(&o, flame_table, sizeof flame_table / sizeof flame_table[0]) != 0)
        return 1; /* a mistake in the table, caught by every test */
    o.output = output;
    if (picture_job_init(&job, "run", &o) != 0)
        return 2;
    int rc = draw(&job, files, n_files, NULL);
    picture_job_free(&job);
    return rc;
}

int podprof_cmd_flamegraph(int argc, char **argv)
{
    if (argc == 2 && (!strcmp(argv[1], "--types") || !strcmp(argv[1], "--types-markdown"))) {
        sample_types_print(stdout, !strcmp(argv[1], "--types-markdown"));
        return 0;
    }
    picture_options o;
    picture_job job;
    int first = picture_parse(&job, &flame_spec, argc, argv, &o, 1, argc);
    if (first < 0)
        return first == PICTURE_HELP_SHOWN ? 0 : 2;
    int rc = draw(&job, argv + first, (size_t)(argc - first), o.title);
    picture_job_free(&job);
    return rc;
}
