/* The sampler thread's private pipe (private_pipe.h). */
#include "private_pipe.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "log.h"
#include "safe_read.h"

/* Linux 5.9; the number is the same on every architecture (system calls from 424 on are). */
#ifndef SYS_close_range
#define SYS_close_range 436
#endif
#define CLOSE_RANGE_UNSHARE_FLAG (1u << 1)

/* The first number left out of the new table. A sanitizer build keeps the standard three (their
 * reports from this thread must be seen), and with them the stderr of the moment the table was
 * made; the released build keeps none. */
#ifdef __SANITIZE_ADDRESS__
#define FIRST_LEFT 3u
#else
#define FIRST_LEFT 0u
#endif

/* The pipe's ends in the thread's own table (-1: none), and what one copy may move. Thread-local:
 * the numbers mean nothing in any other thread's table. (Initial-exec, as all of the library's
 * thread-locals: the general model would call __tls_get_addr in the dynamic loader, which the
 * library must not need.) */
static __thread int rd __attribute__((tls_model("initial-exec"))) = -1;
static __thread int wr __attribute__((tls_model("initial-exec"))) = -1;
static __thread size_t capacity __attribute__((tls_model("initial-exec")));

int pp_private_pipe_open(void)
{
    if (wr >= 0)
        return PP_PIPE_OPEN;
    /* Every number from FIRST_LEFT, so the kernel copies none of them into the new table (it
     * copies only those below the range): no reference to any of the application's files is held
     * here. */
    if (syscall(SYS_close_range, FIRST_LEFT, ~0u, CLOSE_RANGE_UNSHARE_FLAG) != 0)
        return PP_PIPE_SHARED_TABLE;
    pp_log_own_table();
    /* 0-2 name /dev/null, so that nothing written to a standard number from this thread (by
     * libc or anything else) can land in a file the thread opens later. */
    if (FIRST_LEFT == 0) {
        int null = open("/dev/null", O_RDWR | O_CLOEXEC);
        for (int fd = 1; null == 0 && fd <= STDERR_FILENO; fd++)
            if (fcntl(null, F_DUPFD_CLOEXEC, fd) != fd)
                null = -1;
        /* (without them the pipe could get a standard number: then no pipe) */
        if (null != 0)
            return PP_PIPE_NONE;
    }
    int p[2];
    if (pipe2(p, O_CLOEXEC | O_NONBLOCK) != 0)
        return PP_PIPE_NONE;
    /* The kernel may grant less (a user over its pipe allowance gets a one-page pipe): the
     * capacity is what it reports. */
    if (fcntl(p[1], F_SETPIPE_SZ, (int)PP_PIPE_WANT_BYTES) < 0) {
        /* keep the default size */
    }
    int size = fcntl(p[1], F_GETPIPE_SZ);
    if (size <= 0) {
        close(p[0]);
        close(p[1]);
        return PP_PIPE_NONE;
    }
    rd = p[0];
    wr = p[1];
    capacity = (size_t)size;
    return PP_PIPE_OPEN;
}

size_t pp_private_pipe_capacity(void)
{
    return wr >= 0 ? capacity : 0;
}

static void close_pipe(void)
{
    close(rd);
    close(wr);
    rd = wr = -1;
    capacity = 0;
}

/* Destinations read in a row into one buffer (a snapshot's copies) as one range: the kernel then
 * neither allocates nor walks an array of them (it does above 8 ranges). The pipe is read in
 * order, so merging ranges that follow each other in memory changes nothing of where bytes go.
 * Returns how many ranges out holds (at most max; 0: too many, read dst as it is). */
static int merge_contiguous(const struct iovec *dst, size_t n, struct iovec *out, size_t max)
{
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (m > 0 && (char *)out[m - 1].iov_base + out[m - 1].iov_len == (char *)dst[i].iov_base) {
            out[m - 1].iov_len += dst[i].iov_len;
        } else {
            if (m == max)
                return 0;
            out[m++] = dst[i];
        }
    }
    return (int)m;
}

ssize_t pp_private_pipe_copy(const struct iovec *dst, const struct iovec *src, size_t n)
{
    if (wr < 0)
        return -1;
    /* The kernel fills the pipe page by page and keeps only whole pages of a copy that faulted,
     * so what it reports is exactly what the pipe holds: a prefix of the ranges. */
    /* (the system call itself: a sanitizer's writev would check the ranges, which may lie in
     * memory the application freed, as any read of the sampler's may) */
    ssize_t in = syscall(SYS_writev, wr, src, (int)n);
    if (in < 0)
        return errno == EFAULT ? 0 : (close_pipe(), -1);
    struct iovec merged[PP_READ_BATCH];
    int m = in > 0 ? merge_contiguous(dst, n, merged, PP_READ_BATCH) : 0;
    ssize_t out = in <= 0 ? 0 : m > 0 ? readv(rd, merged, m) : readv(rd, dst, (int)n);
    if (out != in) {
        /* what went in did not all come out: the pipe is no longer known to be empty */
        pp_log(PP_LOG_WARN, "the private pipe lost bytes; reading without it from now on");
        close_pipe();
        return -1;
    }
    return out;
}
