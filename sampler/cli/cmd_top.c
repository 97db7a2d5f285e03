/* podprof top FILE.pprof...: the top functions by CPU and wall time, or by any one sample type, of
 * any pprof files. */
#include <stdio.h>

#include "cli_options.h"
#include "commands.h"
#include "pprof_summary.h"

typedef struct top_options {
    int limit;
    const char *type; /* NULL: CPU and wall time */
} top_options;

static const pp_setting top_table[] = {
    {.name = "limit",
     .meta = "N",
     .kind = PP_SETTING_INT,
     .offset = offsetof(top_options, limit),
     .def = "20",
     .min = 1,
     .max = 100000,
     .help = "functions listed per table"},
    {.name = "type",
     .meta = "TYPE",
     .kind = PP_SETTING_CUSTOM,
     .type = &cli_sample_type,
     .offset = offsetof(top_options, type),
     .help = "one table for this sample type: its pprof name (alloc-space) or alias (alloc); "
             "`podprof flamegraph --types` lists them (default: CPU and wall time side by side)"},
};
static const cli_spec top_spec = {
    "top",
    "[OPTIONS] FILE.pprof...",
    "Prints the top functions by CPU time and by wall time (or by the sample type --type names), "
    "flat and cumulative, summed over the given pprof files (gzip or raw protobuf). A file that "
    "cannot be read, or lacks the type, is reported on one line and skipped; the exit status is "
    "then 2.",
    top_table,
    sizeof top_table / sizeof top_table[0],
    NULL,
    false,
};

int podprof_cmd_top(int argc, char **argv)
{
    top_options opts = {0};
    int first = cli_parse(&top_spec, argc, argv, &opts);
    if (first == CLI_PARSE_HELP)
        return 0;
    if (first == CLI_PARSE_ERROR)
        return 2;
    if (first >= argc) {
        fprintf(stderr, "podprof top: no profile given (usage: podprof top FILE.pprof...)\n");
        return 2;
    }
    return podprof_print_top(argv + first, (size_t)(argc - first), opts.type, stdout,
                             (size_t)opts.limit);
}

int podprof_print_top(char **files, size_t n_files, const char *type, FILE *out, size_t limit)
{
    pp_summary *s = pp_summary_new(type);
    if (!s) {
        fprintf(stderr, "podprof top: out of memory\n");
        return 1;
    }
    int status = 0;
    for (size_t i = 0; i < n_files; i++) {
        char err[256];
        if (pp_summary_add_file(s, files[i], err, sizeof err) != 0) {
            fprintf(stderr, "podprof top: %s: %s\n", files[i], err);
            status = 2;
        }
    }
    if (pp_summary_files(s) > 0)
        pp_summary_print(s, out, limit);
    pp_summary_free(s);
    return status;
}
