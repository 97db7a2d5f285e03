#include "wake_word.h"

#include <limits.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

uint32_t pp_wake_seen(pp_wake_word *w)
{
    return atomic_load(&w->seq);
}

void pp_wake_up(pp_wake_word *w)
{
    atomic_fetch_add(&w->seq, 1);
    syscall(SYS_futex, &w->seq, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
}

void pp_wake_wait(pp_wake_word *w, uint32_t seen, int64_t deadline_ns)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    int64_t left = deadline_ns - ((int64_t)now.tv_sec * 1000000000 + now.tv_nsec);
    if (left <= 0)
        return;
    struct timespec rel = {(time_t)(left / 1000000000), (long)(left % 1000000000)};
    /* Returns at once (EAGAIN) when seq is no longer `seen`: the wake-up already happened. */
    syscall(SYS_futex, &w->seq, FUTEX_WAIT_PRIVATE, seen, &rel, NULL, 0);
}
