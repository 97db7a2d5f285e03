/* podprof top FILE.pprof...: the top functions by CPU and wall time, or by any one sample type, of
 * any pprof files. */
#include <stdio.h>

#include "cli_options.h"
#include "commands.h"
#include "pprof_summary.h"

enum { OPT_LIMIT, OPT_TYPE, N_TOP_OPTIONS };
static const cli_option top_options[N_TOP_OPTIONS] = {
    [OPT_LIMIT] = {"--limit", "N", "20", "functions listed per table"},
    [OPT_TYPE] = {"--type", "TYPE", "CPU and wall time side by side",
                  "one table for this sample type: its pprof name (alloc-space) or alias (alloc); "
                  "`podprof flamegraph --types` lists them"},
};
static const cli_spec top_spec = {
    "top",
    "[OPTIONS] FILE.pprof...",
    "Prints the top functions by CPU time and by wall time (or by the sample type --type names), "
    "flat and cumulative, summed over the given pprof files (gzip or raw protobuf). A file that "
    "cannot be read, or lacks the type, is reported on one line and skipped; the exit status is "
    "then 2.",
    top_options,
    N_TOP_OPTIONS,
};

int podprof_cmd_top(int argc, char **argv)
{
    const char *values[N_TOP_OPTIONS];
    int first = cli_parse(&top_spec, argc, argv, values);
    if (first == CLI_PARSE_HELP)
        return 0;
    if (first == CLI_PARSE_ERROR)
        return 2;
    double limit = 20;
    if (values[OPT_LIMIT] &&
        cli_number(&top_spec, "--limit", values[OPT_LIMIT], 1, 100000, &limit) != 0)
        return 2;
    if (first >= argc) {
        fprintf(stderr, "podprof top: no profile given (usage: podprof top FILE.pprof...)\n");
        return 2;
    }
    return podprof_print_top(argv + first, (size_t)(argc - first), values[OPT_TYPE], stdout,
                             (size_t)limit);
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
