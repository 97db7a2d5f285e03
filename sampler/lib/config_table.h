/* The library's settings table, shared by the parser (config.c) and the generator of
 * docs/config-sampler.md (tests/sampler/config_doc.c), so the two cannot drift. */
#ifndef PODPROF_SAMPLER_CONFIG_TABLE_H
#define PODPROF_SAMPLER_CONFIG_TABLE_H

#include <stddef.h>
#include <stdio.h>

#include "config.h"

typedef enum { PP_CFG_BOOL, PP_CFG_DOUBLE, PP_CFG_INT, PP_CFG_STRING, PP_CFG_LOGLEVEL } pp_cfg_kind;

typedef struct pp_cfg_entry {
    const char *name;
    pp_cfg_kind kind;
    size_t offset;   /* into pp_config */
    const char *def; /* default, as a user would write it; NULL = unset */
    double min, max; /* numeric range, inclusive */
    const char *help;
} pp_cfg_entry;

extern const pp_cfg_entry pp_cfg_table[];
extern const size_t pp_cfg_table_len;

/* Parses the environment into cfg (defaults first); a bad value logs one line and keeps the
 * default. Returns the number of rejected values. */
int pp_config_load(pp_config *cfg);
void pp_config_free(pp_config *cfg);

/* Writes the markdown reference of every setting. */
void pp_config_write_doc(FILE *out);

#endif
