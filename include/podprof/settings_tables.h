/* The settings tables of the two programs a pod configures through its environment: libpodprof.so
 * (sampler/lib/config_table.c) and the exporter (exporter/export_settings.c). Each program reads
 * its own; the injector links both, so the settings a pod may choose through its
 * profiling.datadoghq.com/config.<NAME> annotations are exactly their rows marked PP_SETTING_POD,
 * and a renamed or removed setting cannot leave a dead annotation behind. */
#ifndef PODPROF_SETTINGS_TABLES_H
#define PODPROF_SETTINGS_TABLES_H

#include <stddef.h>

#include "podprof/settings.h"

extern const pp_setting pp_sampler_settings[];
extern const size_t pp_sampler_settings_len;

extern const pp_setting pp_exporter_settings[];
extern const size_t pp_exporter_settings_len;

#endif
