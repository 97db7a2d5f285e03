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

/* The summary `top` prints, shared with `run`; returns 0, or 2 when a file was unreadable. */
int podprof_print_top(char **files, size_t n_files, FILE *out, size_t limit);

#endif
