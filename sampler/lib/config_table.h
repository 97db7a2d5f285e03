/* Loading the library's settings: the table (config_table.c, declared in
 * podprof/settings_tables.h) parsed by config.c. docs/config-sampler.md is written from the same
 * table (tests/sampler/config_doc.c), so the two cannot drift. */
#ifndef PODPROF_SAMPLER_CONFIG_TABLE_H
#define PODPROF_SAMPLER_CONFIG_TABLE_H

#include "config.h"
#include "podprof/settings_tables.h"

/* Parses the environment into cfg (defaults first); a bad value logs one line and keeps the
 * default. Returns the number of refused values. The strings stay for the life of the process. */
int pp_config_load(pp_config *cfg);

#endif
