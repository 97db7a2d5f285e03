/* The injector's log sink (the shape every podprof program shares is in podprof/log.h): one JSON
 * object per line on stderr, {"ts", "level", "msg", and a field per PP_LOG_FIELD}, written with a
 * single write(2) so lines from different threads never interleave. */
#ifndef PODPROF_INJECTOR_LOG_H
#define PODPROF_INJECTOR_LOG_H

#include "podprof/log.h"

void inj_log_set_level(int level);
int inj_log_enabled(int level);
void inj_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
