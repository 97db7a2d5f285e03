#include "cli_options.h"

#include <string.h>

#include "podprof/settings_doc.h"

int cli_store_argument(void *field, const char *text)
{
    *(const char **)field = text;
    return 0;
}
const pp_setting_type cli_argument = CLI_ARGUMENT_TYPE("any text");
const pp_setting_type cli_sample_type = CLI_ARGUMENT_TYPE("a sample type's pprof name or alias");

static pp_settings_view view_of(const cli_spec *spec)
{
    return (pp_settings_view){spec->options, spec->n_options, 0, true, NULL, NULL};
}

void cli_help(const cli_spec *spec, FILE *out)
{
    fprintf(out, "usage: podprof %s %s\n\n%s\n\noptions:\n", spec->name, spec->usage, spec->about);
    pp_settings_view v = view_of(spec);
    pp_settings_help(out, &v);
    fprintf(out, "  --help\n      show this help\n");
    if (spec->more_help) {
        fputc('\n', out);
        spec->more_help(out);
    }
}

void cli_markdown(const cli_spec *spec, FILE *out)
{
    fprintf(out, "`podprof %s %s`\n\n%s\n", spec->name, spec->usage, spec->about);
    if (!spec->n_options)
        return;
    fputc('\n', out);
    pp_settings_view v = view_of(spec);
    pp_settings_markdown(out, &v);
}

int cli_parse(const cli_spec *spec, int argc, char **argv, void *opts)
{
    if (pp_settings_defaults(opts, spec->options, spec->n_options) != 0)
        return CLI_PARSE_ERROR; /* a mistake in the table, caught by every test */
    pp_flags_stop stop;
    int first = pp_settings_parse_flags(opts, spec->options, spec->n_options, argc, argv,
                                        spec->anywhere, &stop);
    if (first >= 0)
        return first;
    const char *arg = argv[stop.arg];
    if (!stop.row && (!strcmp(arg, "--help") || !strcmp(arg, "-h"))) {
        cli_help(spec, stdout);
        return CLI_PARSE_HELP;
    }
    if (!stop.row && !strcmp(arg, "--help-markdown")) {
        cli_markdown(spec, stdout);
        return CLI_PARSE_HELP;
    }
    if (!stop.row) {
        fprintf(stderr, "podprof %s: unknown option '%.*s' (try 'podprof %s --help')\n", spec->name,
                (int)strcspn(arg, "="), arg, spec->name);
        return CLI_PARSE_ERROR;
    }
    char label[80], line[256]; /* the flag as the user spelled it: "-o" or "--output" */
    snprintf(label, sizeof label, "%.*s", (int)strcspn(arg, "="), arg);
    pp_setting_refusal(line, sizeof line, label, stop.row, stop.value);
    fprintf(stderr, "podprof %s: %s (try 'podprof %s --help')\n", spec->name, line, spec->name);
    return CLI_PARSE_ERROR;
}
