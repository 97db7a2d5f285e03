/* The `event` part of an upload (event.json, intake format "version 4"), built with cJSON. */
#ifndef PODPROF_EXPORTER_EVENT_H
#define PODPROF_EXPORTER_EVENT_H

#include "export_config.h"
#include "faults.h"
#include "spool_meta.h"

#define EX_ATTACHMENT_NAME "profile.pprof"

/* Returns the serialised event (malloc'd), or NULL when out of memory. */
char *ex_event_build(const ex_meta *meta, const char *tags_profiler, const ex_faults *faults,
                     const ex_config *cfg);

#endif
