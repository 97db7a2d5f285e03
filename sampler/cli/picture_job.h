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

/* The options of a picture command: one struct for the three tables. */
typedef struct picture_options {
    const char *output; /* NULL or "-": stdout */
    const char *type, *thread, *focus, *ignore;
    bool lines;
    int max_nodes;
    const char *title; /* flamegraph and diff */
} picture_options;

/* The --output help of the commands that draw. */
#define PICTURE_OUTPUT_HELP                                                                        \
    "write the picture to OUT (default: stdout, unless it is a terminal): an SVG, or an HTML "     \
    "page with a search box when OUT ends in .html"

/* What the options' values are, for the docs. */
extern const pp_setting_type picture_path_argument, picture_pattern_argument,
    picture_regex_argument;

#define PICTURE_ROW(field) .offset = offsetof(picture_options, field)
#define PICTURE_TEXT_OPTION(name_, meta_, type_, field, help_)                                     \
    {                                                                                              \
        .name = name_, .meta = meta_, .kind = PP_SETTING_CUSTOM, .type = type_,                    \
        PICTURE_ROW(field), .help = help_                                                          \
    }

#define PICTURE_TYPE_HELP                                                                          \
    "the sample type that sizes the frames: its pprof name (alloc-space, lock-acquire-wait, ...) " \
    "or an alias (cpu, wall, alloc, heap, lock-wait, gil, ...); `podprof flamegraph --types` "     \
    "lists them (default: cpu-time, else wall-time, else the profile's default)"
#define PICTURE_LINES_HELP                                                                         \
    "one frame per function and line, \"function (file:line)\", rather than per function"
/* The default is the largest bound, CALL_TREE_MAX_NODES. */
#define PICTURE_MAX_NODES_OPTION                                                                   \
    {                                                                                              \
        .name = "max-nodes", .meta = "N", .kind = PP_SETTING_INT, PICTURE_ROW(max_nodes),          \
        .def = "1048576", .min = 2, .max = CALL_TREE_MAX_NODES,                                    \
        .help =                                                                                    \
            "bound on the call tree's nodes, so memory stays bounded on huge profiles; a path "    \
            "needing more ends at its deepest node (the subtitle says how much)"                   \
    }

/* The rows every picture command's table starts with, in this order; one definition for the
 * three tables. */
#define PICTURE_COMMON_OPTIONS(output_help)                                                        \
    {.name = "output",                                                                             \
     .short_name = 'o',                                                                            \
     .meta = "OUT",                                                                                \
     .kind = PP_SETTING_CUSTOM,                                                                    \
     .type = &picture_path_argument,                                                               \
     PICTURE_ROW(output),                                                                          \
     .help = output_help},                                                                         \
        PICTURE_TEXT_OPTION("type", "TYPE", &cli_sample_type, type, PICTURE_TYPE_HELP),            \
        PICTURE_TEXT_OPTION("thread", "NAME", &picture_pattern_argument, thread,                   \
                            "only samples of threads so named ('worker-*' matches worker-1, "      \
                            "worker-2, ...)"),                                                     \
        PICTURE_TEXT_OPTION("focus", "REGEX", &picture_regex_argument, focus,                      \
                            "only samples with a frame whose name matches"),                       \
        PICTURE_TEXT_OPTION("ignore", "REGEX", &picture_regex_argument, ignore,                    \
                            "leave out samples with a frame whose name matches"),                  \
        {.name = "lines",                                                                          \
         .kind = PP_SETTING_BOOL,                                                                  \
         PICTURE_ROW(lines),                                                                       \
         .help = PICTURE_LINES_HELP},                                                              \
        PICTURE_MAX_NODES_OPTION

/* The table of a command that draws: the common rows and --title, whose default is heading
 * followed by the sample type. */
#define PICTURE_DRAWING_OPTIONS(heading)                                                           \
    PICTURE_COMMON_OPTIONS(PICTURE_OUTPUT_HELP),                                                   \
        PICTURE_TEXT_OPTION("title", "TEXT", &cli_argument, title,                                 \
                            "the picture's heading (default: \"" heading                           \
                            "\" and the sample type)")

typedef struct picture_job {
    const char *cmd; /* "flamegraph": names the command in messages */
    call_tree_filter filter;
    regex_t focus, ignore;
    bool has_focus, has_ignore;
    const char *focus_text, *ignore_text;
    const char *output; /* NULL: stdout */
    size_t max_nodes;
} picture_job;

/* Builds the filters from the parsed options; returns 0, or 2 after a one-line error (a bad
 * regex). */
int picture_job_init(picture_job *j, const char *cmd, const picture_options *o);

enum { PICTURE_HELP_SHOWN = -1, PICTURE_BAD_USAGE = -2 };

/* Parses a picture command's arguments (options anywhere: spec->anywhere) into o and j, checking
 * it got min_profiles to max_profiles profiles. Returns the index of the first profile in argv,
 * or PICTURE_HELP_SHOWN (exit 0) or PICTURE_BAD_USAGE (exit 2, after one line). */
int picture_parse(picture_job *j, const cli_spec *spec, int argc, char **argv, picture_options *o,
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
