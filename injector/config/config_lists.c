/* The two kinds of value only the injector has, as settings-engine types: a list of container
 * names and a list of NAME=VALUE environment entries, both written comma-separated on a flag or in
 * a variable (a config file may give an array or a mapping instead). */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "config_options.h"

void inj_cfg_strlist_free(inj_strlist *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->items[i]);
    free(l->items);
    l->items = NULL;
    l->n = 0;
}

static bool item_ok(const pp_setting_type *type, const char *item, size_t n)
{
    if (type == &inj_env_list) {
        const char *eq = memchr(item, '=', n);
        return eq && inj_cfg_env_name_ok(item, (size_t)(eq - item));
    }
    return inj_cfg_dns_label_ok(item, n);
}

static int add_n(const pp_setting_type *type, inj_strlist *l, const char *item, size_t n, bool *bad)
{
    *bad = !item_ok(type, item, n);
    if (*bad)
        return -1;
    char **items = realloc(l->items, (l->n + 1) * sizeof *items);
    if (!items)
        return -1;
    l->items = items;
    if (!(items[l->n] = strndup(item, n)))
        return -1;
    l->n++;
    return 0;
}

int inj_cfg_list_add(const pp_setting_type *type, inj_strlist *l, const char *item, bool *bad)
{
    return add_n(type, l, item, strlen(item), bad);
}

/* Comma-separated items, spaces around them ignored; the list is replaced only when every item
 * is valid. */
static int parse_list(const pp_setting_type *type, void *field, const char *text)
{
    inj_strlist fresh = {0};
    bool bad = false;
    for (const char *p = text; *p;) {
        const char *e = strchr(p, ',');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        while (n && isspace((unsigned char)*p))
            p++, n--;
        while (n && isspace((unsigned char)p[n - 1]))
            n--;
        if (n && add_n(type, &fresh, p, n, &bad) != 0) {
            inj_cfg_strlist_free(&fresh);
            return -1;
        }
        if (!e)
            break;
        p = e + 1;
    }
    inj_cfg_strlist_free(field);
    *(inj_strlist *)field = fresh;
    return 0;
}

static int parse_containers(void *field, const char *text)
{
    return parse_list(&inj_container_list, field, text);
}

static int parse_env(void *field, const char *text)
{
    return parse_list(&inj_env_list, field, text);
}

static void release(void *field)
{
    inj_cfg_strlist_free(field);
}

const pp_setting_type inj_container_list = {"comma-separated container names (RFC 1123 labels)",
                                            NULL, parse_containers, release};
const pp_setting_type inj_env_list = {"comma-separated NAME=VALUE with valid environment names",
                                      NULL, parse_env, release};
