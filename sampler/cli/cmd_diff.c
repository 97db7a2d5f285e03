/* podprof diff BASE NEW -o OUT.svg: a differential flame graph, the picture for "what got
 * slower": NEW's flame graph with every frame coloured by how its share of the total changed
 * since BASE. */
#include <stdio.h>
#include <string.h>

#include "call_tree.h"
#include "cli_options.h"
#include "commands.h"
#include "flame_svg.h"
#include "picture_job.h"
#include "value_units.h"

enum { SERIES_BASE, SERIES_NEW };
#define DIFF_HEADING "Differential flame graph: " /* the default heading, before the type */
static const pp_setting diff_table[] = {
    PICTURE_DRAWING_OPTIONS(DIFF_HEADING),
};
static const cli_spec diff_spec = {
    "diff",
    "[OPTIONS] BASE NEW",
    "Draws NEW's flame graph (its frames sized by NEW's values) and colours each frame by the "
    "change of its share of the total from BASE to NEW: red when it takes a larger share in NEW, "
    "blue when a smaller one, white when unchanged, the deepest colour marking the largest change "
    "in the picture. Shares, not raw values, are compared, so profiles of different lengths or "
    "load compare fairly. Hover titles give both values and the change in percentage points. "
    "The subtitle says how much of BASE is in call paths NEW no longer has.",
    diff_table,
    sizeof diff_table / sizeof diff_table[0],
    NULL,
    true,
};

typedef struct diff_job {
    const call_tree *t;
    const flame_svg_options *o;
    int64_t gone; /* BASE's value in call paths NEW lacks */
} diff_job;

static int write_svg(void *ctx, FILE *f)
{
    const diff_job *d = ctx;
    return flame_svg_write(d->t, d->o, f);
}

static int count_gone(void *ctx, uint32_t id, size_t depth)
{
    diff_job *d = ctx;
    const call_node *n = call_tree_node(d->t, id);
    (void)depth;
    if (n->total[SERIES_NEW] > 0)
        return 0;
    d->gone += n->total[SERIES_BASE];
    return 1;
}

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash && slash[1] ? slash + 1 : path;
}

static int draw(const picture_job *job, char **files, const char *title)
{
    call_tree *t = picture_tree(job);
    if (!t)
        return 1;
    int rc = picture_load(job, t, SERIES_BASE, files, 1);
    if (rc == 0)
        rc = picture_load(job, t, SERIES_NEW, files + 1, 1);
    const call_tree_info *info = call_tree_get_info(t);
    const call_node *root = call_tree_node(t, CALL_TREE_ROOT);
    for (int s = SERIES_BASE; rc == 0 && s <= SERIES_NEW; s++) {
        if (root->total[s] <= 0) {
            fprintf(stderr, "podprof diff: %s: no %s samples%s, nothing to compare\n", files[s],
                    info->type,
                    job->filter.thread || job->filter.focus || job->filter.ignore
                        ? " left after the filters"
                        : "");
            rc = 2;
        }
    }
    if (rc == 0 && call_tree_sort(t) != 0) {
        fprintf(stderr, "podprof diff: out of memory\n");
        rc = 1;
    }
    if (rc == 0) {
        diff_job d = {t, NULL, 0};
        call_tree_walk(t, count_gone, &d);
        char type_title[160], heading[256], subtitle[1024], base_total[48], new_total[48];
        picture_type_title(t, type_title, sizeof type_title);
        snprintf(heading, sizeof heading, DIFF_HEADING "%s", type_title);
        value_format(base_total, sizeof base_total, root->total[SERIES_BASE], info->unit);
        value_format(new_total, sizeof new_total, root->total[SERIES_NEW], info->unit);
        snprintf(subtitle, sizeof subtitle,
                 "NEW %s: %s | BASE %s: %s | red: larger share in NEW, blue: smaller | %.2f%% of "
                 "BASE is in call paths NEW lacks",
                 base_name(files[1]), new_total, base_name(files[0]), base_total,
                 100.0 * (double)d.gone / (double)root->total[SERIES_BASE]);
        flame_svg_options o = {title ? title : heading, subtitle, SERIES_NEW, SERIES_BASE,
                               picture_wants_html(job)};
        d.o = &o;
        rc = picture_output(job, false, write_svg, &d);
        if (rc == 0 && job->output)
            fprintf(stderr, "podprof diff: wrote %s (%s)\n", job->output, subtitle);
    }
    call_tree_free(t);
    return rc;
}

int podprof_cmd_diff(int argc, char **argv)
{
    picture_options o;
    picture_job job;
    int first = picture_parse(&job, &diff_spec, argc, argv, &o, 2, 2);
    if (first < 0)
        return first == PICTURE_HELP_SHOWN ? 0 : 2;
    int rc = draw(&job, argv + first, o.title);
    picture_job_free(&job);
    return rc;
}
