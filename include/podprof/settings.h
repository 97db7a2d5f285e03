/* The one settings engine of every podprof program: a program describes its settings in a table
 * of pp_setting rows (name, kind, field, default, range, help) and this header turns text into
 * those fields, applies the defaults and then the environment, says what a valid value looks
 * like, and reads command-line flags. libpodprof.so, the exporter, the injector and the CLI all
 * use it; --help and the docs come from the same rows (podprof/settings_doc.h).
 *
 * Header-only and libc-only, so the preloaded library uses it too and pays only for the functions
 * it calls. One return convention throughout: 0, or -1 with the field left as it was; a refused
 * value is described by pp_setting_refusal(). */
#ifndef PODPROF_SETTINGS_H
#define PODPROF_SETTINGS_H

#include <ctype.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "podprof/setting_value.h"

typedef enum {
    PP_SETTING_BOOL,   /* bool: true/1/yes/on or false/0/no/off */
    PP_SETTING_INT,    /* int: a whole number in [min, max] */
    PP_SETTING_DOUBLE, /* double: a finite number in [min, max] */
    PP_SETTING_STRING, /* char *, owned: NULL when unset or empty (see PP_SETTING_KEEP_EMPTY);
                        * type->valid, when given, checks the text first */
    PP_SETTING_CHOICE, /* int: the index of the matching choice, any case */
    PP_SETTING_CUSTOM, /* whatever type->parse stores */
    PP_SETTING_NONE,   /* no field: a flag that a program's own layer acts on (--config FILE) */
} pp_setting_kind;

enum {
    PP_SETTING_SECRET = 1 << 0,     /* the value is never echoed */
    PP_SETTING_KEEP_EMPTY = 1 << 1, /* STRING: an empty text is the value "", not unset */
    PP_SETTING_POD = 1 << 2,        /* a pod may choose it (profiling.datadoghq.com/config.NAME) */
    PP_SETTING_PROGRAM = 1 << 8,    /* this bit and those above are the program's own */
};

typedef struct pp_setting_type {
    const char *expected;                        /* what a valid value looks like */
    bool (*valid)(const char *text);             /* STRING: checked before the text is stored */
    int (*parse)(void *field, const char *text); /* CUSTOM: 0, or -1 leaving the field alone */
    void (*release)(void *field);                /* CUSTOM: frees what parse stored */
} pp_setting_type;

/* A row, written with designated initializers ({.name = ..., .kind = ..., ...}). */
typedef struct pp_setting {
    const char *name; /* the environment variable, or the flag without its "--" */
    const char *def;  /* default, written as a user would write it; NULL = unset */
    union {
        /* CHOICE: NULL-terminated; "warn|warning|1" also accepts the spellings after the first. */
        const char *const *choices;
        const pp_setting_type *type; /* STRING (optional), CUSTOM, NONE (optional) */
    };
    const char *meta; /* placeholder after a flag in help ("SECONDS"); NULL: none */
    const char *help;
    double min, max; /* INT and DOUBLE, inclusive */
    uint16_t offset; /* of the field in the program's settings struct */
    uint8_t kind;    /* pp_setting_kind */
    char short_name; /* a flag's one-letter alias: 'o' for -o; 0: none (in padding: free) */
    uint16_t flags;  /* PP_SETTING_* */
} pp_setting;

/* The field of setting s in the settings struct cfg. */
static inline void *pp_setting_field(void *cfg, const pp_setting *s)
{
    return (char *)cfg + s->offset;
}

static inline bool pp_setting_has_control(const char *text)
{
    for (const unsigned char *p = (const unsigned char *)text; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return true;
    return false;
}

/* The index of the choice text names (any case, any of its '|' spellings), or -1. */
static inline int pp_setting_choice(const char *const *choices, const char *text)
{
    size_t n = strlen(text);
    for (int i = 0; choices && choices[i]; i++)
        for (const char *c = choices[i]; c;) {
            const char *bar = strchr(c, '|');
            size_t len = bar ? (size_t)(bar - c) : strlen(c);
            if (len == n && n && strncasecmp(c, text, n) == 0)
                return i;
            c = bar ? bar + 1 : NULL;
        }
    return -1;
}

/* Parses text into s's field of cfg. Returns 0, or -1 with the field left as it was. */
static inline int pp_setting_set(void *cfg, const pp_setting *s, const char *text)
{
    void *f = pp_setting_field(cfg, s);
    long l;
    double d;
    int i;
    if (!text)
        return -1;
    switch ((pp_setting_kind)s->kind) {
    case PP_SETTING_BOOL:
        return pp_value_bool(text, (bool *)f);
    case PP_SETTING_INT:
        if (pp_value_long(text, (long)s->min, (long)s->max, &l) != 0)
            return -1;
        *(int *)f = (int)l;
        return 0;
    case PP_SETTING_DOUBLE:
        if (pp_value_double(text, s->min, s->max, &d) != 0)
            return -1;
        *(double *)f = d;
        return 0;
    case PP_SETTING_CHOICE:
        if ((i = pp_setting_choice(s->choices, text)) < 0)
            return -1;
        *(int *)f = i;
        return 0;
    case PP_SETTING_STRING: {
        if (s->type && s->type->valid && !s->type->valid(text))
            return -1;
        char *copy = NULL;
        if ((text[0] || (s->flags & PP_SETTING_KEEP_EMPTY)) && !(copy = strdup(text)))
            return -1;
        free(*(char **)f);
        *(char **)f = copy;
        return 0;
    }
    case PP_SETTING_CUSTOM:
        return s->type->parse(f, text);
    case PP_SETTING_NONE:
        return 0;
    }
    return -1;
}

/* What s accepts, for messages and docs: "true or false", "an integer from 1 to 100"... */
static inline const char *pp_setting_expected(const pp_setting *s, char *buf, size_t len)
{
    size_t used = 0;
    switch ((pp_setting_kind)s->kind) {
    case PP_SETTING_BOOL:
        return "true or false";
    case PP_SETTING_INT:
        snprintf(buf, len, "an integer from %.0f to %.0f", s->min, s->max);
        return buf;
    case PP_SETTING_DOUBLE:
        snprintf(buf, len, "a number from %g to %g", s->min, s->max);
        return buf;
    case PP_SETTING_CHOICE:
        buf[0] = '\0';
        for (int i = 0; s->choices[i] && used < len; i++) {
            int n = snprintf(buf + used, len - used, "%s%.*s", i ? ", " : "one of ",
                             (int)strcspn(s->choices[i], "|"), s->choices[i]);
            used += n > 0 ? (size_t)n : 0;
        }
        return buf;
    case PP_SETTING_STRING:
        return s->type ? s->type->expected : "any text";
    case PP_SETTING_CUSTOM:
    case PP_SETTING_NONE:
        return s->type ? s->type->expected : "a value";
    }
    return "a value";
}

/* The one line that says why text was refused for s, which the user knows as label (a variable,
 * "--flag", a file key). The text is left out when it is secret or holds control characters. */
static inline void pp_setting_refusal(char *buf, size_t len, const char *label, const pp_setting *s,
                                      const char *text)
{
    char exp[160];
    const char *e = pp_setting_expected(s, exp, sizeof exp);
    if (!text)
        snprintf(buf, len, "%s needs a value (%s)", label, e);
    else if (pp_setting_has_control(text))
        snprintf(buf, len, "%s: contains control characters", label);
    else if (s->flags & PP_SETTING_SECRET)
        snprintf(buf, len, "%s: the value is not %s", label, e);
    else
        snprintf(buf, len, "%s=%.64s is not %s", label, text, e);
}

/* Stores every default (strings unset first, so call it on a zeroed struct). Returns 0, or -1
 * when a default does not parse, which is a mistake in the table. */
static inline int pp_settings_defaults(void *cfg, const pp_setting *t, size_t n)
{
    int rc = 0;
    for (size_t i = 0; i < n; i++)
        if (t[i].def && pp_setting_set(cfg, &t[i], t[i].def) != 0)
            rc = -1;
    return rc;
}

/* Frees what the settings own and unsets them. */
static inline void pp_settings_free(void *cfg, const pp_setting *t, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        void *f = pp_setting_field(cfg, &t[i]);
        if (t[i].kind == PP_SETTING_STRING) {
            free(*(char **)f);
            *(char **)f = NULL;
        } else if (t[i].kind == PP_SETTING_CUSTOM && t[i].type->release) {
            t[i].type->release(f);
        }
    }
}

/* The environment variable of s: its name, or prefix + its name in upper case with '-' as '_'
 * (the injector's --tls-cert is PODPROF_INJECTOR_TLS_CERT). */
static inline const char *pp_setting_env_name(const char *prefix, const pp_setting *s, char *buf,
                                              size_t len)
{
    if (!prefix)
        return s->name;
    size_t i = (size_t)snprintf(buf, len, "%s", prefix);
    for (const char *p = s->name; *p && i + 1 < len; p++)
        buf[i++] = *p == '-' ? '_' : (char)toupper((unsigned char)*p);
    buf[i < len ? i : len - 1] = '\0';
    return buf;
}

/* Called with the one line of each refused value (see pp_setting_refusal). */
typedef void pp_setting_report(void *ctx, const pp_setting *s, const char *line);

/* The environment layer: every setting whose flags share a bit with mask (0: every setting) is
 * read from its variable (pp_setting_env_name with prefix). A refused value is reported and the
 * field keeps what it held, normally the default. Returns 0, or the number of refused values. */
static inline int pp_settings_from_env(void *cfg, const pp_setting *t, size_t n, const char *prefix,
                                       unsigned mask, pp_setting_report *report, void *ctx)
{
    int refused = 0;
    for (size_t i = 0; i < n; i++) {
        const pp_setting *s = &t[i];
        char buf[96], line[256];
        if (s->kind == PP_SETTING_NONE || (mask && !(s->flags & mask)))
            continue;
        const char *var = pp_setting_env_name(prefix, s, buf, sizeof buf);
        const char *text = getenv(var);
        if (text && pp_setting_set(cfg, s, text) != 0) {
            pp_setting_refusal(line, sizeof line, var, s, text);
            report(ctx, s, line);
            refused++;
        }
    }
    return refused;
}

/* The setting named by a "--name" or "--name=value" argument of a flag table, or by "-x" or
 * "-x=value" for a row whose short_name is 'x'; NULL when none is. *value is what follows '=',
 * else the next argument (*used says how many arguments were taken); a BOOL flag takes no value
 * of its own: alone it means true ("--name=false" still works). *value is NULL when a value is
 * missing. */
static inline const pp_setting *pp_settings_match_flag(const pp_setting *t, size_t n, int argc,
                                                       char **argv, int i, const char **value,
                                                       int *used)
{
    const char *a = argv[i];
    const pp_setting *s = NULL;
    size_t len = 0;
    if (a[0] != '-' || !a[1])
        return NULL;
    if (a[1] == '-') {
        a += 2;
        len = strcspn(a, "=");
        for (size_t k = 0; k < n && !s; k++)
            if (strlen(t[k].name) == len && strncmp(t[k].name, a, len) == 0)
                s = &t[k];
    } else if (a[2] == '\0' || a[2] == '=') {
        a += 1;
        len = 1;
        for (size_t k = 0; k < n && !s; k++)
            if (t[k].short_name == a[0])
                s = &t[k];
    }
    if (!s)
        return NULL;
    *used = 1;
    if (a[len] == '=')
        *value = a + len + 1;
    else if (s->kind == PP_SETTING_BOOL)
        *value = "true";
    else if (i + 1 < argc)
        *value = argv[i + 1], *used = 2;
    else
        *value = NULL;
    return s;
}

/* Moves argv[from] back to argv[to] (to <= from), shifting the arguments between one place on. */
static inline void pp_args_move_back(char **argv, int from, int to)
{
    char *a = argv[from];
    memmove(argv + to + 1, argv + to, (size_t)(from - to) * sizeof *argv);
    argv[to] = a;
}

/* Why pp_settings_parse_flags stopped early: argv[arg] starts with '-' but is not a flag of the
 * table (row NULL: the caller may know it, as a CLI knows --help), or row's value is missing
 * (value NULL) or refused. */
typedef struct pp_flags_stop {
    int arg;
    const pp_setting *row;
    const char *value;
} pp_flags_stop;

/* Sets the flags of argv[1..argc) in cfg (whose defaults the caller stored), as
 * pp_settings_match_flag reads them. "--" ends the flags and what follows is positional; a lone
 * "-" is a positional argument. Without anywhere the first positional argument ends the flags
 * too; with anywhere flags may also follow positional arguments ("diff BASE NEW -o OUT"), and
 * the positional arguments are moved, in their order, behind every flag: argv is permuted in
 * place, nothing is allocated. Returns the index of the first positional argument (argc when
 * there is none), or -1 after filling *stop. */
static inline int pp_settings_parse_flags(void *cfg, const pp_setting *t, size_t n, int argc,
                                          char **argv, bool anywhere, pp_flags_stop *stop)
{
    int flags_end = 1; /* argv[1..flags_end) are flags; then come the positional ones seen */
    for (int i = 1; i < argc;) {
        const char *a = argv[i], *value = NULL;
        int used = 0;
        if (!strcmp(a, "--")) {
            pp_args_move_back(argv, i, flags_end);
            return flags_end + 1;
        }
        if (a[0] != '-' || !a[1]) {
            if (!anywhere)
                return i;
            i++;
            continue;
        }
        const pp_setting *s = pp_settings_match_flag(t, n, argc, argv, i, &value, &used);
        if (!s || !value || pp_setting_set(cfg, s, value) != 0) {
            *stop = (pp_flags_stop){i, s, value};
            return -1;
        }
        for (int k = 0; k < used; k++)
            pp_args_move_back(argv, i + k, flags_end++);
        i += used;
    }
    return flags_end;
}

#endif
