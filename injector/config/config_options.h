/* What the files of the injector's configuration share: the table (config_table.c), the kinds of
 * value only the injector has (config_lists.c: container lists and NAME=VALUE lists), the checks
 * of values and of their combinations (config_validate.c). config_load.c applies the file, the
 * environment and the flags over the defaults; config_doc.c writes --help and the markdown. */
#ifndef PODPROF_INJECTOR_CONFIG_OPTIONS_H
#define PODPROF_INJECTOR_CONFIG_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "podprof/settings.h"

/* The one table. Keep flag names stable: the Helm chart writes them into a config file. */
extern const pp_setting inj_opts[];
extern const size_t inj_n_opts;

/* Comma-separated lists stored as inj_strlist (a config file may also give an array, or for
 * NAME=VALUE a mapping, which config_load.c adds item by item with inj_cfg_list_add). */
extern const pp_setting_type inj_container_list; /* RFC 1123 container names */
extern const pp_setting_type inj_env_list;       /* NAME=VALUE with valid environment names */
/* Adds one item (checked against the list's type); 0, or -1 when it is not valid or memory ran
 * out (*bad tells which). */
int inj_cfg_list_add(const pp_setting_type *type, inj_strlist *l, const char *item, bool *bad);
void inj_cfg_strlist_free(inj_strlist *l);

bool inj_cfg_quantity_ok(const char *s);
bool inj_cfg_image_ok(const char *s);
bool inj_cfg_env_name_ok(const char *s, size_t n);
bool inj_cfg_dns_label_ok(const char *s, size_t n);
/* Checks the settings that depend on one another, once every layer was applied. */
int inj_cfg_validate(const inj_config *cfg, char *err, size_t errlen);

#endif
