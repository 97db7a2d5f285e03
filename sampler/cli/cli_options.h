/* Each subcommand of the podprof CLI describes its options as a settings table (podprof/settings.h)
 * over a struct of its own: parsing, --help and the markdown in docs/cli.md all come from it
 * (`podprof CMD --help-markdown` prints the docs block; a test compares them). */
#ifndef PODPROF_CLI_OPTIONS_H
#define PODPROF_CLI_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "podprof/settings.h"

typedef struct cli_spec {
    const char *name;  /* "run" */
    const char *usage; /* "[OPTIONS] -- CMD [ARGS...]" */
    const char *about; /* one paragraph */
    const pp_setting *options;
    size_t n_options;
    void (*more_help)(FILE *out); /* printed after the options (the exporter's environment) */
    bool anywhere; /* options may also follow the positional arguments (`diff BASE NEW -o X`) */
} cli_spec;

/* An option's text as given on the command line (a const char * field, NULL when absent). The
 * arguments live as long as the process, so nothing is copied or freed. CLI_ARGUMENT_TYPE makes
 * one whose docs say what the text is ("a POSIX extended regular expression"). */
int cli_store_argument(void *field, const char *text);
#define CLI_ARGUMENT_TYPE(expected)                                                                \
    {                                                                                              \
        (expected), NULL, cli_store_argument, NULL                                                 \
    }
extern const pp_setting_type cli_argument;    /* "any text" */
extern const pp_setting_type cli_sample_type; /* --type of top and the pictures */

enum { CLI_PARSE_ERROR = -1, CLI_PARSE_HELP = -2 };

/* Stores the options' defaults in opts, then the options of argv (argv[0] is the subcommand):
 * the leading ones, or with spec->anywhere all of them, the positional arguments being moved
 * behind them. Returns the index of the first positional argument (after "--" if given),
 * CLI_PARSE_HELP after printing help, or CLI_PARSE_ERROR after a one-line error on stderr. */
int cli_parse(const cli_spec *spec, int argc, char **argv, void *opts);

void cli_help(const cli_spec *spec, FILE *out);
void cli_markdown(const cli_spec *spec, FILE *out);

#endif
