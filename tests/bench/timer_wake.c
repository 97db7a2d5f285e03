/* The floor under any sampler's cost per pass on this machine: the CPU a thread spends only
 * waking up at 100 Hz, doing nothing else. The sampler thread sleeps between passes, and on a
 * virtual machine the switch back in is charged to the woken thread; a pass can never cost less.
 * Measured beside `busy` threads that only spin (the benchmark's workload keeps every core busy,
 * and a wake that preempts a running thread costs differently from one that leaves the idle
 * loop).
 *
 *     timer_wake BUSY_THREADS WAKES  ->  prints the waking thread's CPU per wake in µs */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static atomic_int stop;

static int64_t now_ns(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void *spin(void *arg)
{
    (void)arg;
    volatile uint64_t x = 0;
    while (!atomic_load_explicit(&stop, memory_order_relaxed))
        x++;
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: timer_wake BUSY_THREADS WAKES\n");
        return 2;
    }
    int busy = atoi(argv[1]), wakes = atoi(argv[2]);
    if (busy < 0 || busy > 256 || wakes < 1) {
        fprintf(stderr, "timer_wake: bad arguments\n");
        return 2;
    }
    pthread_t threads[256];
    for (int i = 0; i < busy; i++)
        if (pthread_create(&threads[i], NULL, spin, NULL) != 0) {
            fprintf(stderr, "timer_wake: pthread_create failed\n");
            return 1;
        }
    const struct timespec interval = {0, 10000000};
    nanosleep(&interval, NULL); /* the spinners are running */
    int64_t cpu0 = now_ns(CLOCK_THREAD_CPUTIME_ID);
    for (int i = 0; i < wakes; i++)
        nanosleep(&interval, NULL);
    int64_t cpu = now_ns(CLOCK_THREAD_CPUTIME_ID) - cpu0;
    atomic_store(&stop, 1);
    for (int i = 0; i < busy; i++)
        pthread_join(threads[i], NULL);
    printf("%.2f\n", (double)cpu / wakes / 1e3);
    return 0;
}
