#include "cli_options.h"

#include <string.h>

#include "podprof/settings_doc.h"

static int store_argument(void *field, const char *text)
{
    *(const char **)field = text;
    return 0;
}
const pp_setting_type cli_argument = {"any text", NULL, store_argument, NULL};

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
    int i = 1;
    for (; i < argc; i++) {
        const char *arg = argv[i], *value = NULL;
        int used = 0;
        if (!strcmp(arg, "--"))
            return i + 1;
        if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) {
            cli_help(spec, stdout);
            return CLI_PARSE_HELP;
        }
        if (!strcmp(arg, "--help-markdown")) {
            cli_markdown(spec, stdout);
            return CLI_PARSE_HELP;
        }
        if (arg[0] != '-' || !arg[1])
            return i;
        const pp_setting *o =
            pp_settings_match_flag(spec->options, spec->n_options, argc, argv, i, &value, &used);
        if (!o) {
            fprintf(stderr, "podprof %s: unknown option '%.*s' (try 'podprof %s --help')\n",
                    spec->name, (int)strcspn(arg, "="), arg, spec->name);
            return CLI_PARSE_ERROR;
        }
        if (!value || pp_setting_set(opts, o, value) != 0) {
            char label[80], line[256];
            snprintf(label, sizeof label, "--%s", o->name);
            pp_setting_refusal(line, sizeof line, label, o, value);
            fprintf(stderr, "podprof %s: %s (try 'podprof %s --help')\n", spec->name, line,
                    spec->name);
            return CLI_PARSE_ERROR;
        }
        i += used - 1;
    }
    return i;
}
