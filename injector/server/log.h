/* Structured logs: one JSON object per line on stderr, written with a single write(2) so lines
 * from different threads never interleave. */
#ifndef PODPROF_INJECTOR_LOG_H
#define PODPROF_INJECTOR_LOG_H

#include "config.h"

/* OR'ed into a level: the line is written whatever --log-level says (start, stop, reloads). */
#define INJ_LOG_ALWAYS 0x100

void inj_log_set_level(int level);
int inj_log_enabled(int level);
/* Extra fields as NULL-terminated key, value string pairs: inj_log(INFO, "msg", "k", "v", NULL). */
void inj_log(int level, const char *msg, ...) __attribute__((sentinel));

#endif
