#include "cli_options.h"

#include <errno.h>
#include <stdbool.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "podprof/setting_value.h"

void cli_help(const cli_spec *spec, FILE *out)
{
    fprintf(out, "usage: podprof %s %s\n\n%s\n", spec->name, spec->usage, spec->about);
    if (spec->n_options)
        fprintf(out, "\noptions:\n");
    for (size_t i = 0; i < spec->n_options; i++) {
        const cli_option *o = &spec->options[i];
        char lhs[64];
        snprintf(lhs, sizeof lhs, "%s%s%s", o->name, o->metavar ? " " : "",
                 o->metavar ? o->metavar : "");
        fprintf(out, "  %-20s %s", lhs, o->help);
        if (o->def)
            fprintf(out, " (default: %s)", o->def);
        fputc('\n', out);
    }
    fprintf(out, "  %-20s %s\n", "--help", "show this help");
}

void cli_markdown(const cli_spec *spec, FILE *out)
{
    fprintf(out, "`podprof %s %s`\n\n%s\n", spec->name, spec->usage, spec->about);
    if (!spec->n_options)
        return;
    fprintf(out, "\n| option | default | meaning |\n|---|---|---|\n");
    for (size_t i = 0; i < spec->n_options; i++) {
        const cli_option *o = &spec->options[i];
        fprintf(out, "| `%s%s%s` | %s | %s |\n", o->name, o->metavar ? " " : "",
                o->metavar ? o->metavar : "", o->def ? o->def : "", o->help);
    }
}

/* An option's name is one spelling or several separated by ", " ("-o, --output"). */
static bool option_named(const cli_option *o, const char *arg, size_t len)
{
    for (const char *n = o->name; *n;) {
        size_t nl = strcspn(n, ",");
        if (nl == len && !strncmp(n, arg, len))
            return true;
        n += nl;
        n += strspn(n, ", ");
    }
    return false;
}

static const cli_option *find_option(const cli_spec *spec, const char *arg, size_t len)
{
    for (size_t i = 0; i < spec->n_options; i++)
        if (option_named(&spec->options[i], arg, len))
            return &spec->options[i];
    return NULL;
}

/* Parses options from argv[i]; returns the index of the first argument that is not an option
 * ("--" included), or a CLI_PARSE_* code. */
static int parse_options(const cli_spec *spec, int i, int argc, char **argv, const char **values)
{
    for (; i < argc; i++) {
        const char *arg = argv[i];
        if (!strcmp(arg, "--"))
            return i;
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
        const char *eq = strchr(arg, '=');
        size_t len = eq ? (size_t)(eq - arg) : strlen(arg);
        const cli_option *o = find_option(spec, arg, len);
        if (!o) {
            fprintf(stderr, "podprof %s: unknown option '%.*s' (try 'podprof %s --help')\n",
                    spec->name, (int)len, arg, spec->name);
            return CLI_PARSE_ERROR;
        }
        const char *value = eq ? eq + 1 : NULL;
        if (!o->metavar) {
            if (value) {
                fprintf(stderr, "podprof %s: option %s takes no value\n", spec->name, o->name);
                return CLI_PARSE_ERROR;
            }
            value = "1";
        } else if (!value) {
            if (i + 1 >= argc) {
                fprintf(stderr, "podprof %s: option %s needs a value (%s)\n", spec->name, o->name,
                        o->metavar);
                return CLI_PARSE_ERROR;
            }
            value = argv[++i];
        }
        values[o - spec->options] = value;
    }
    return i;
}

int cli_parse(const cli_spec *spec, int argc, char **argv, const char **values)
{
    for (size_t i = 0; i < spec->n_options; i++)
        values[i] = NULL;
    int i = parse_options(spec, 1, argc, argv, values);
    return i >= 0 && i < argc && !strcmp(argv[i], "--") ? i + 1 : i;
}

int cli_parse_anywhere(const cli_spec *spec, int argc, char **argv, const char **values)
{
    for (size_t i = 0; i < spec->n_options; i++)
        values[i] = NULL;
    /* Options keep their order at the front; positionals are collected, then appended. */
    char **positional = malloc((size_t)argc * sizeof *positional);
    if (!positional) {
        fprintf(stderr, "podprof %s: out of memory\n", spec->name);
        return CLI_PARSE_ERROR;
    }
    int n_pos = 0, w = 1, i = 1;
    while (i < argc) {
        int next = parse_options(spec, i, argc, argv, values);
        if (next < 0) {
            free(positional);
            return next;
        }
        for (int k = i; k < next; k++)
            argv[w++] = argv[k];
        if (next >= argc)
            break;
        if (!strcmp(argv[next], "--")) {
            for (int k = next + 1; k < argc; k++)
                positional[n_pos++] = argv[k];
            break;
        }
        positional[n_pos++] = argv[next];
        i = next + 1;
    }
    memcpy(argv + w, positional, (size_t)n_pos * sizeof *positional);
    free(positional);
    return w;
}

int cli_number(const cli_spec *spec, const char *option, const char *text, double min, double max,
               double *out)
{
    double v;
    if (pp_value_double(text, min, max, &v) != 0) {
        fprintf(stderr, "podprof %s: %s must be a number from %g to %g, not '%s'\n", spec->name,
                option, min, max, text);
        return -1;
    }
    *out = v;
    return 0;
}
