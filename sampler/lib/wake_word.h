/* A word one thread sleeps on, with a deadline, and any thread or signal handler wakes: a Linux
 * futex. The library holds no descriptor the application could close and reuse, so timed waits
 * and wake-ups never go through a pipe or an eventfd. The wait's timeout is relative, and Linux
 * measures a relative FUTEX_WAIT timeout on CLOCK_MONOTONIC, so a wall-clock step never shortens
 * or stretches a sleep (sem_timedwait only takes a CLOCK_REALTIME deadline, and sem_clockwait is
 * newer than the glibc 2.17 baseline). */
#ifndef PODPROF_SAMPLER_WAKE_WORD_H
#define PODPROF_SAMPLER_WAKE_WORD_H

#include <stdatomic.h>
#include <stdint.h>

typedef struct pp_wake_word {
    _Atomic uint32_t seq; /* bumped by every wake-up */
} pp_wake_word;

/* The value to pass to pp_wake_wait: read it before checking whatever the waker changes, so a
 * wake-up between the check and the wait is not lost. */
uint32_t pp_wake_seen(pp_wake_word *w);

/* Wakes every waiter. Async-signal-safe (an atomic add and one system call). */
void pp_wake_up(pp_wake_word *w);

/* Sleeps until a wake-up after `seen`, or until deadline_ns on CLOCK_MONOTONIC, or a signal.
 * Returns at once when woken since `seen` or when the deadline has passed. */
void pp_wake_wait(pp_wake_word *w, uint32_t seen, int64_t deadline_ns);

#endif
