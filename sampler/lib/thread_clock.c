#include "thread_clock.h"

#include <pthread.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "safe_read.h"

/* How far into struct pthread to look for the tid (glibc 2.36 x86_64: 720). */
#define PTHREAD_SCAN_BYTES 2048

static long tid_offset = -1;

static clockid_t clock_for_tid(int32_t tid)
{
    /* Linux's per-thread CPUCLOCK_SCHED encoding, as glibc's pthread_getcpuclockid builds it. */
    return (clockid_t)((~(unsigned)tid << 3) | 6);
}

int pp_thread_clock_init(void)
{
    int32_t self_tid = (int32_t)syscall(SYS_gettid);
    clockid_t expected;
    if (pthread_getcpuclockid(pthread_self(), &expected) != 0 ||
        expected != clock_for_tid(self_tid))
        return -1;
    int32_t words[PTHREAD_SCAN_BYTES / 4];
    if (pp_read(words, (uintptr_t)pthread_self(), sizeof words) == 0) {
        for (size_t i = 0; i < PTHREAD_SCAN_BYTES / 4; i++) {
            if (words[i] == self_tid) {
                tid_offset = (long)(i * 4);
                break;
            }
        }
    }
    return 0;
}

uintptr_t pp_tid_field(uint64_t pthread_id)
{
    return tid_offset < 0 || !pthread_id ? 0 : (uintptr_t)pthread_id + (uintptr_t)tid_offset;
}

int32_t pp_tid_from_pthread(uint64_t pthread_id, pp_read_fn read, void *ctx)
{
    int32_t tid;
    uintptr_t at = pp_tid_field(pthread_id);
    if (!at || pp_read_with(read, ctx, &tid, at, sizeof tid) != 0 || tid <= 0)
        return 0;
    return tid;
}

int64_t pp_thread_cpu_ns(int32_t tid)
{
    struct timespec ts;
    if (tid <= 0 || clock_gettime(clock_for_tid(tid), &ts) != 0)
        return -1;
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}
