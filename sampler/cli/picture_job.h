/* What `flamegraph`, `diff` and `collapse` share: their common options (one definition for the
 * three option tables), the filters built from them, loading profiles into a call tree with a
 * one-line error per bad file, the subtitle that says what a picture shows, and writing the
 * output so that a failure never leaves a half-written file behind. */
#ifndef PODPROF_CLI_PICTURE_JOB_H
#define PODPROF_CLI_PICTURE_JOB_H

#include <regex.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "call_tree.h"
#include "cli_options.h"

/* The common options come first in each command's table, in this order. */
enum {
    PIC_OPT_OUTPUT,
    PIC_OPT_TYPE,
    PIC_OPT_THREAD,
    PIC_OPT_FOCUS,
    PIC_OPT_IGNORE,
    PIC_OPT_LINES,
    PIC_OPT_MAX_NODES,
    PIC_N_COMMON
};

#define PICTURE_COMMON_OPTIONS(output_default, output_help)                                        \
    [PIC_OPT_OUTPUT] = {"-o, --output", "OUT", output_default, output_help},                       \
    [PIC_OPT_TYPE] = {"--type", "TYPE", "cpu-time, else wall-time, else the profile's default",    \
                      "the sample type that sizes the frames: its pprof name (alloc-space, "       \
                      "lock-acquire-wait, ...) or an alias (cpu, wall, alloc, heap, lock-wait, "   \
                      "gil, ...); `podprof flamegraph --types` lists them"},                       \
    [PIC_OPT_THREAD] = {"--thread", "NAME", NULL,                                                  \
                        "only samples of threads so named (a shell pattern: 'worker-*')"},         \
    [PIC_OPT_FOCUS] = {"--focus", "REGEX", NULL,                                                   \
                       "only samples with a frame whose name matches (POSIX extended regex)"},     \
    [PIC_OPT_IGNORE] = {"--ignore", "REGEX", NULL,                                                 \
                        "leave out samples with a frame whose name matches"},                      \
    [PIC_OPT_LINES] = {"--lines", NULL, NULL,                                                      \
                       "one frame per function and line, \"function (file:line)\", rather than "   \
                       "per function"},                                                            \
    [PIC_OPT_MAX_NODES] = {"--max-nodes", "N", "1048576",                                          \
                           "bound on the call tree's nodes, so memory stays bounded on huge "      \
                           "profiles; a path needing more ends at its deepest node (the subtitle " \
                           "says how much)"}

typedef struct picture_job {
    const char *cmd; /* "flamegraph": names the command in messages */
    call_tree_filter filter;
    regex_t focus, ignore;
    bool has_focus, has_ignore;
    const char *focus_text, *ignore_text;
    const char *output; /* NULL: stdout */
    size_t max_nodes;
} picture_job;

/* Builds the filters from the parsed common option values; returns 0, or 2 after a one-line
 * error (a bad regex or number). */
int picture_job_init(picture_job *j, const char *cmd, const char **values);

enum { PICTURE_HELP_SHOWN = -1, PICTURE_BAD_USAGE = -2 };

/* Parses a picture command's arguments (options anywhere) into values and j, checking it got
 * min_profiles to max_profiles profiles. Returns the index of the first profile in argv, or
 * PICTURE_HELP_SHOWN (exit 0) or PICTURE_BAD_USAGE (exit 2, after one line). */
int picture_parse(picture_job *j, const cli_spec *spec, int argc, char **argv, const char **values,
                  int min_profiles, int max_profiles);
void picture_job_free(picture_job *j);

/* A tree for the job's filters and node bound, or NULL after a line on stderr. */
call_tree *picture_tree(const picture_job *j);

/* Adds files to series of t; returns 0, or 2 after one line naming the first bad file. */
int picture_load(const picture_job *j, call_tree *t, int series, char **files, size_t n);

/* "2 profiles, 600 samples, 6.00s of cpu-time | thread: w-* | ..." for series. */
void picture_subtitle(const picture_job *j, const call_tree *t, int series, char *buf, size_t len);

/* The title of the sample type: "CPU time (cpu-time)". */
void picture_type_title(const call_tree *t, char *buf, size_t len);

/* Writes the output: write(ctx, f) into a temporary file beside OUT, renamed over OUT once
 * complete, or straight to stdout without -o (refused, when terminal_ok is false, if stdout is
 * a terminal). Returns 0, 2 (usage) or 1 (write failure) after one line on stderr. */
int picture_output(const picture_job *j, bool terminal_ok, int (*write)(void *ctx, FILE *f),
                   void *ctx);

/* True when OUT ends in .html or .htm. */
bool picture_wants_html(const picture_job *j);

#endif
