/* Storing one setting: text (from a flag, the environment or a file scalar) parsed and validated
 * by the option's kind into its field of inj_config; defaults and freeing walk the same table. */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_options.h"
#include "podprof/setting_value.h"

void inj_cfg_err(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

void *inj_cfg_field(inj_config *cfg, const struct opt *o)
{
    return (char *)cfg + o->off;
}

void inj_cfg_strlist_free(inj_strlist *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->items[i]);
    free(l->items);
    l->items = NULL;
    l->n = 0;
}

int inj_cfg_strlist_add(inj_strlist *l, const char *s, size_t n)
{
    char **items = realloc(l->items, (l->n + 1) * sizeof *items);
    if (!items)
        return -1;
    l->items = items;
    if (!(items[l->n] = strndup(s, n)))
        return -1;
    l->n++;
    return 0;
}

static int set_list(inj_strlist *l, const char *v, bool env, const char *name, char *err,
                    size_t errlen)
{
    inj_cfg_strlist_free(l);
    const char *p = v;
    while (*p) {
        const char *e = strchr(p, ',');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        while (n && isspace((unsigned char)*p)) {
            p++;
            n--;
        }
        while (n && isspace((unsigned char)p[n - 1]))
            n--;
        if (n) {
            if (env) {
                const char *eq = memchr(p, '=', n);
                if (!eq || !inj_cfg_env_name_ok(p, (size_t)(eq - p))) {
                    inj_cfg_err(err, errlen, "--%s: '%.*s' is not NAME=VALUE with a valid env name",
                                name, (int)n, p);
                    return -1;
                }
            } else if (!inj_cfg_dns_label_ok(p, n)) {
                inj_cfg_err(err, errlen, "--%s: '%.*s' is not a valid container name", name, (int)n,
                            p);
                return -1;
            }
            if (inj_cfg_strlist_add(l, p, n) < 0) {
                inj_cfg_err(err, errlen, "out of memory");
                return -1;
            }
        }
        if (!e)
            break;
        p = e + 1;
    }
    return 0;
}

int inj_cfg_set_value(inj_config *cfg, const struct opt *o, const char *v, char *err, size_t errlen)
{
    if (o->off == NO_FIELD)
        return 0;
    void *f = inj_cfg_field(cfg, o);
    switch (o->kind) {
    case K_STR:
    case K_FILE:
    case K_QUANTITY:
    case K_IMAGE: {
        if (o->kind == K_QUANTITY && !inj_cfg_quantity_ok(v)) {
            inj_cfg_err(err, errlen, "--%s: '%s' is not a Kubernetes quantity (e.g. 50m, 32Mi)",
                        o->name, v);
            return -1;
        }
        if (o->kind == K_IMAGE && (v[0] == '\0' || strpbrk(v, " \t\n\r"))) {
            inj_cfg_err(err, errlen, "--%s: '%s' is not an image reference", o->name, v);
            return -1;
        }
        char *copy = strdup(v);
        if (!copy) {
            inj_cfg_err(err, errlen, "out of memory");
            return -1;
        }
        free(*(char **)f);
        *(char **)f = copy;
        return 0;
    }
    case K_INT: {
        long x;
        if (pp_value_long(v, o->min, o->max, &x) != 0) {
            inj_cfg_err(err, errlen, "--%s: '%s' is not an integer in [%ld, %ld]", o->name, v,
                        o->min, o->max);
            return -1;
        }
        *(int *)f = (int)x;
        return 0;
    }
    case K_BOOL:
        if (pp_value_bool(v, (bool *)f) == 0)
            return 0;
        inj_cfg_err(err, errlen, "--%s: '%s' is not true or false", o->name, v);
        return -1;
    case K_ENUM:
        for (int i = 0; o->choices[i]; i++) {
            if (!strcmp(v, o->choices[i])) {
                if (o->off == offsetof(inj_config, image_pull_policy)) {
                    char *copy = strdup(v);
                    if (!copy)
                        return -1;
                    free(*(char **)f);
                    *(char **)f = copy;
                } else {
                    *(int *)f = i;
                }
                return 0;
            }
        }
        {
            char choices[256] = "";
            for (int i = 0; o->choices[i]; i++) {
                strncat(choices, i ? ", " : "", sizeof choices - strlen(choices) - 1);
                strncat(choices, o->choices[i], sizeof choices - strlen(choices) - 1);
            }
            inj_cfg_err(err, errlen, "--%s: '%s' is not one of: %s", o->name, v, choices);
        }
        return -1;
    case K_LIST:
    case K_ENV:
        return set_list(f, v, o->kind == K_ENV, o->name, err, errlen);
    }
    return -1;
}

void inj_config_defaults(inj_config *cfg)
{
    char err[256];
    memset(cfg, 0, sizeof *cfg);
    for (size_t i = 0; i < inj_n_opts; i++)
        if (inj_cfg_set_value(cfg, &inj_opts[i], inj_opts[i].def, err, sizeof err) < 0)
            abort(); /* a bad default is a programming error caught by every test */
}

void inj_config_free(inj_config *cfg)
{
    for (size_t i = 0; i < inj_n_opts; i++) {
        const struct opt *o = &inj_opts[i];
        if (o->off == NO_FIELD)
            continue;
        if (o->kind == K_LIST || o->kind == K_ENV)
            inj_cfg_strlist_free(inj_cfg_field(cfg, o));
        else if (o->kind == K_STR || o->kind == K_QUANTITY || o->kind == K_IMAGE ||
                 o->kind == K_FILE ||
                 (o->kind == K_ENUM && o->off == offsetof(inj_config, image_pull_policy)))
            free(*(char **)inj_cfg_field(cfg, o));
    }
    memset(cfg, 0, sizeof *cfg);
}
