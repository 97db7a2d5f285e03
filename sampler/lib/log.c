#include "log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

/* At most this many lines per window; one "suppressed" note says when lines were dropped. */
#define PP_LOG_BURST 20
#define PP_LOG_WINDOW_S 60

static atomic_int log_level = PP_LOG_WARN;
static atomic_long window_start;
static atomic_int window_count;
static atomic_int window_dropped;

void pp_log_set_level(int level)
{
    atomic_store(&log_level, level);
}

static int log_admit(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    long start = atomic_load(&window_start);
    if (ts.tv_sec - start >= PP_LOG_WINDOW_S &&
        atomic_compare_exchange_strong(&window_start, &start, (long)ts.tv_sec)) {
        int dropped = atomic_exchange(&window_dropped, 0);
        atomic_store(&window_count, 0);
        if (dropped > 0) {
            char note[96];
            int n = snprintf(note, sizeof note, "podprof: %d log lines suppressed\n", dropped);
            if (n > 0 && write(STDERR_FILENO, note, (size_t)n) < 0) {
                /* stderr closed: nothing else to do */
            }
        }
    }
    if (atomic_fetch_add(&window_count, 1) >= PP_LOG_BURST) {
        atomic_fetch_add(&window_dropped, 1);
        return 0;
    }
    return 1;
}

void pp_log(int level, const char *fmt, ...)
{
    if (level > atomic_load(&log_level) || !log_admit())
        return;
    char line[512];
    int n = snprintf(line, sizeof line, "podprof: ");
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
    va_end(ap);
    if (m < 0)
        return;
    size_t len =
        (size_t)n +
        ((size_t)m < sizeof line - (size_t)n - 1 ? (size_t)m : sizeof line - (size_t)n - 2);
    line[len++] = '\n';
    if (write(STDERR_FILENO, line, len) < 0) {
        /* stderr closed: the message is lost, the process is not disturbed */
    }
}
