/* The library's log sink (the shape every podprof program shares is in podprof/log.h): one line on
 * stderr prefixed "podprof: ", formatted in a stack buffer and written with one write(2), so it
 * never allocates; lines are rate-limited so a broken environment cannot flood the application's
 * stderr. */
#ifndef PODPROF_SAMPLER_LOG_H
#define PODPROF_SAMPLER_LOG_H

#include "podprof/log.h"

void pp_log_set_level(int level);
/* The calling thread has moved to a descriptor table of its own: its lines go to the
 * application's stderr as it is at each line, not to its own number 2. */
void pp_log_own_table(void);
void pp_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
