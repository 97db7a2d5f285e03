/* One table of options per subcommand: parsing, --help and the markdown in docs/cli.md all come
 * from it (`podprof CMD --help-markdown` prints the docs block; a test compares them). */
#ifndef PODPROF_CLI_OPTIONS_H
#define PODPROF_CLI_OPTIONS_H

#include <stddef.h>
#include <stdio.h>

typedef struct cli_option {
    const char *name;    /* "--output", or "-o, --output" for a short alias as well */
    const char *metavar; /* "PREFIX", or NULL for a flag that takes no value (value "1") */
    const char *def;     /* default as shown to users, or NULL */
    const char *help;
} cli_option;

typedef struct cli_spec {
    const char *name;  /* "run" */
    const char *usage; /* "[OPTIONS] -- CMD [ARGS...]" */
    const char *about; /* one paragraph */
    const cli_option *options;
    size_t n_options;
} cli_spec;

enum { CLI_PARSE_ERROR = -1, CLI_PARSE_HELP = -2 };

/* Reads leading options of argv (argv[0] is the subcommand) into values[i] for options[i] (NULL
 * when absent). Returns the index of the first positional argument (after "--" if given),
 * CLI_PARSE_HELP after printing help, or CLI_PARSE_ERROR after a one-line error on stderr. */
int cli_parse(const cli_spec *spec, int argc, char **argv, const char **values);

/* As cli_parse, but options may also follow the positional arguments (`diff BASE NEW -o X`):
 * the positional arguments (all after "--") are moved, in order, to the end of argv and the
 * index of the first is returned. */
int cli_parse_anywhere(const cli_spec *spec, int argc, char **argv, const char **values);

void cli_help(const cli_spec *spec, FILE *out);
void cli_markdown(const cli_spec *spec, FILE *out);

/* Parses a positive decimal (integer when max_int); one-line error naming the option on failure. */
int cli_number(const cli_spec *spec, const char *option, const char *text, double min, double max,
               double *out);

#endif
