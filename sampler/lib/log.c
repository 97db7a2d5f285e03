#include "log.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* Linux 5.3 and 5.6; the numbers are the same on every architecture. */
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd 438
#endif

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

/* Set on a thread that moved to a descriptor table of its own (private_pipe.c): its number 2 is
 * not the application's stderr. */
static __thread int own_table __attribute__((tls_model("initial-exec")));

void pp_log_own_table(void)
{
    own_table = 1;
}

/* The application's stderr as it is now, from a thread with a table of its own: a copy of its
 * descriptor 2 (the same open file, whatever it is), else, where pidfd_getfd is refused, a new
 * open of it (not possible for a socket), never blocking on a FIFO without a reader. Closed after
 * the line, so the thread never keeps a stderr the application has since replaced. -1: none. */
static int app_stderr(void)
{
    int pidfd = (int)syscall(SYS_pidfd_open, getpid(), 0);
    if (pidfd >= 0) {
        int fd = (int)syscall(SYS_pidfd_getfd, pidfd, STDERR_FILENO, 0);
        close(pidfd);
        if (fd >= 0)
            return fd;
    }
    return open("/proc/self/fd/2", O_WRONLY | O_APPEND | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
}

/* One whole line on the application's stderr; lost when it is closed. */
static void emit(const char *line, size_t len)
{
    int fd = own_table ? app_stderr() : STDERR_FILENO;
    if (fd < 0)
        return;
    if (write(fd, line, len) < 0) {
        /* stderr closed or full: the line is lost, the process is not disturbed */
    }
    if (fd != STDERR_FILENO)
        close(fd);
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
            if (n > 0)
                emit(note, (size_t)n);
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
    emit(line, len);
}
