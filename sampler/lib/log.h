/* One-line stderr messages from the library, prefixed "podprof: ". Formatting uses a stack
 * buffer and one write(2), so it never allocates; lines are rate-limited so a broken environment
 * cannot flood the application's stderr. */
#ifndef PODPROF_SAMPLER_LOG_H
#define PODPROF_SAMPLER_LOG_H

enum { PP_LOG_ERROR = 0, PP_LOG_WARN = 1, PP_LOG_INFO = 2, PP_LOG_DEBUG = 3 };

void pp_log_set_level(int level);
void pp_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
