/* The podprof CLI's subcommands. Each returns the process exit status: 0 success, 2 bad usage or
 * input (with a one-line reason on stderr), 1 any other failure. */
#ifndef PODPROF_CLI_COMMANDS_H
#define PODPROF_CLI_COMMANDS_H

#include <stddef.h>
#include <stdio.h>

int podprof_cmd_install(int argc, char **argv); /* podprof install DIR */
int podprof_cmd_export(int argc, char **argv);  /* podprof export --spool DIR [--once] */
int podprof_cmd_run(int argc, char **argv);     /* podprof run [--output P] [--rate HZ] -- CMD... */
int podprof_cmd_top(int argc, char **argv);     /* podprof top FILE.pprof... */
int podprof_cmd_flamegraph(int argc, char **argv); /* podprof flamegraph [-o OUT] PROFILE... */
int podprof_cmd_diff(int argc, char **argv);       /* podprof diff BASE NEW [-o OUT] */
int podprof_cmd_collapse(int argc, char **argv);   /* podprof collapse PROFILE... */

/* The summary `top` prints, shared with `run` (type NULL: CPU and wall time); returns 0, or 2
 * when a file was unreadable. */
int podprof_print_top(char **files, size_t n_files, const char *type, FILE *out, size_t limit);

/* The flame graph (default sample type, no filters) of files into output, for `run`; returns the
 * exit status of `flamegraph`. */
int podprof_write_flamegraph(char **files, size_t n_files, const char *output);

#endif
