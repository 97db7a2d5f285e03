/* The injector's option table and the helpers its files share: config_table.c holds the table,
 * config_set.c stores one value, config_validate.c checks values and their combinations,
 * config_load.c applies the layers in order, config_doc.c writes --help and the markdown. */
#ifndef PODPROF_INJECTOR_CONFIG_OPTIONS_H
#define PODPROF_INJECTOR_CONFIG_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

enum opt_kind { K_STR, K_INT, K_BOOL, K_ENUM, K_QUANTITY, K_IMAGE, K_LIST, K_ENV, K_FILE };

struct opt {
    const char *name; /* flag --name; env PODPROF_INJECTOR_NAME; file key name */
    enum opt_kind kind;
    size_t off;                 /* into inj_config; (size_t)-1 for --config itself */
    const char *def;            /* default, in the same text form a flag takes */
    int scope;                  /* INJ_SCOPE_* */
    long min, max;              /* K_INT bounds */
    const char *const *choices; /* K_ENUM, NULL-terminated; the value stored is the index */
    const char *meta;           /* placeholder in --help */
    const char *help;
};

#define NO_FIELD ((size_t)-1)

/* The one table (config_table.c). Keep flag names stable: the Helm chart writes them into a
 * config file. */
extern const struct opt inj_opts[];
extern const size_t inj_n_opts;

/* The environment variable (PODPROF_INJECTOR_<NAME>) and config file key (<name> with '-' as '_')
 * of an option. */
void inj_cfg_env_name_of(const struct opt *o, char *buf, size_t n);
void inj_cfg_file_key_of(const struct opt *o, char *buf, size_t n);

void inj_cfg_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void *inj_cfg_field(inj_config *cfg, const struct opt *o);
void inj_cfg_strlist_free(inj_strlist *l);
int inj_cfg_strlist_add(inj_strlist *l, const char *s, size_t n);
/* Parses text v into the option's field (validated); 0, or -1 with err set. */
int inj_cfg_set_value(inj_config *cfg, const struct opt *o, const char *v, char *err,
                      size_t errlen);

bool inj_cfg_quantity_ok(const char *s);
bool inj_cfg_env_name_ok(const char *s, size_t n);
bool inj_cfg_dns_label_ok(const char *s, size_t n);
/* Checks the settings that depend on one another, once every layer was applied. */
int inj_cfg_validate(const inj_config *cfg, char *err, size_t errlen);

#endif
