/* --help text and the markdown reference (docs/config-*.md, docs/cli.md) written from a settings
 * table (podprof/settings.h), one format for every program. Separate from the engine because it
 * needs stdio streams, which the preloaded library never writes to. */
#ifndef PODPROF_SETTINGS_DOC_H
#define PODPROF_SETTINGS_DOC_H

#include <stdio.h>

#include "podprof/settings.h"

/* How a program shows its table. */
typedef struct pp_settings_view {
    const pp_setting *table;
    size_t n;
    unsigned mask;          /* only rows whose flags share a bit with mask; 0: every row */
    bool flags;             /* the names are flags (--name META), not environment variables */
    const char *env_prefix; /* flags: also read from prefix + NAME and from a file as name_key */
    /* Names of the program bits (PP_SETTING_PROGRAM << i), NULL-terminated: a "used by" column. */
    const char *const *scopes;
} pp_settings_view;

static inline bool pp_settings_shown(const pp_settings_view *v, const pp_setting *s)
{
    return !v->mask || (s->flags & v->mask);
}

/* "DD_X", "--name META", "--name", or with a short alias "-n, --name META". */
static inline const char *pp_settings_label(const pp_settings_view *v, const pp_setting *s,
                                            char *buf, size_t len)
{
    if (!v->flags)
        return s->name;
    char alias[8] = "";
    if (s->short_name)
        snprintf(alias, sizeof alias, "-%c, ", s->short_name);
    snprintf(buf, len, "%s--%s%s%s", alias, s->name, s->meta ? " " : "", s->meta ? s->meta : "");
    return buf;
}

/* The config file key of a flag: its name with '-' written as '_'. */
static inline const char *pp_settings_file_key(const pp_setting *s, char *buf, size_t len)
{
    size_t i = 0;
    for (const char *p = s->name; *p && i + 1 < len; p++)
        buf[i++] = *p == '-' ? '_' : *p;
    buf[i] = '\0';
    return buf;
}

/* Each row as "  LABEL\n      HELP (default: D; environment: E)\n". */
static inline void pp_settings_help(FILE *out, const pp_settings_view *v)
{
    for (size_t i = 0; i < v->n; i++) {
        const pp_setting *s = &v->table[i];
        char label[96], env[96];
        if (!pp_settings_shown(v, s))
            continue;
        fprintf(out, "  %s\n      %s", pp_settings_label(v, s, label, sizeof label), s->help);
        bool notes = s->def || v->env_prefix;
        if (notes)
            fputs(" (", out);
        if (s->def)
            fprintf(out, "default: %s", s->def[0] ? s->def : "empty");
        if (v->env_prefix)
            fprintf(out, "%senvironment: %s", s->def ? "; " : "",
                    pp_setting_env_name(v->env_prefix, s, env, sizeof env));
        fprintf(out, "%s\n", notes ? ")" : "");
    }
}

/* The markdown table: name, [environment, file key,] default, accepted values, [used by,]
 * meaning. */
static inline void pp_settings_markdown(FILE *out, const pp_settings_view *v)
{
    bool file = v->flags && v->env_prefix;
    fprintf(out, "| %s |%s default | accepted values |%s meaning |\n",
            !v->flags ? "variable"
            : file    ? "flag"
                      : "option",
            file ? " environment | file key |" : "", v->scopes ? " used by |" : "");
    fprintf(out, "|---|%s---|---|%s---|\n", file ? "---|---|" : "", v->scopes ? "---|" : "");
    for (size_t i = 0; i < v->n; i++) {
        const pp_setting *s = &v->table[i];
        char label[96], buf[160];
        if (!pp_settings_shown(v, s))
            continue;
        fprintf(out, "| `%s` |", pp_settings_label(v, s, label, sizeof label));
        if (file) {
            fprintf(out, " `%s` |", pp_setting_env_name(v->env_prefix, s, buf, sizeof buf));
            if (s->kind == PP_SETTING_NONE)
                fprintf(out, " - |");
            else
                fprintf(out, " `%s` |", pp_settings_file_key(s, buf, sizeof buf));
        }
        if (!s->def)
            fprintf(out, " unset |");
        else
            fprintf(out, s->def[0] ? " `%s` |" : " (empty) |", s->def);
        fprintf(out, " %s |", pp_setting_expected(s, buf, sizeof buf));
        if (v->scopes) {
            const char *sep = " ";
            for (int b = 0; v->scopes[b]; b++)
                if (s->flags & (PP_SETTING_PROGRAM << b)) {
                    fprintf(out, "%s%s", sep, v->scopes[b]);
                    sep = ", ";
                }
            fprintf(out, " |");
        }
        fprintf(out, " %s |\n", s->help);
    }
}

#endif
