/* The lock observer: contended waits, acquisitions, releases and hold times of Python locks on
 * every CPython; through 3.12 at each lock's own semaphore, from 3.13 at the wrapped methods of
 * the lock types (lock_methods.h) for all but the waits.
 *
 * What CPython calls (Python/thread_pthread.h, Python/parking_lot.c). Through 3.12, on Linux,
 * every PyThread_type_lock is a sem_t: threading.Lock, the RLock's inner lock, every Condition's
 * lock and waiter locks (so Semaphore, BoundedSemaphore, Event and queue.Queue, built on them),
 * Thread.join's lock. An acquire first calls sem_trywait with the GIL held; only when that fails
 * does it release the GIL and block in sem_wait (no timeout) or sem_clockwait (a timeout;
 * sem_timedwait in 3.8). A release is sem_post with the GIL held; freeing the lock is
 * sem_destroy. From 3.13 these locks are PyMutex: an uncontended acquire or release is an atomic
 * compare-and-swap with no libc call, and a contended one parks the thread in the parking lot on
 * a semaphore of the waiting thread (sem_wait or sem_clockwait, the GIL released); on a
 * free-threaded build it first spins, yielding the CPU with sched_yield up to 40 times (on a busy
 * machine each yield may last a time slice). The GIL itself is a mutex and condition variable
 * on every version: its waits are never semaphore waits.
 *
 * What the library does. Preloaded, it exports its own sem_wait, sem_timedwait, sem_clockwait,
 * sem_trywait, sem_post, sem_destroy and sched_yield, each forwarding to the next definition
 * (libc's). A call is a Python lock operation when its return address lies in the code of the
 * object that holds the interpreter (libpython, or a statically linked python executable): that
 * keeps out every other caller (C extensions, libraries, the app's own threads in C); such a call
 * costs one compare more. Of those, only calls by a thread with a Python thread state that does not
 * run the interpreter's finalization are recorded. What CPython's own C code waits for at a Python
 * line (io's buffer lock, the import lock, and from 3.13 every PyMutex, e.g. of a free-threaded
 * build's objects) is a lock wait too, and shows under the Python line that waited.
 *
 * - A blocking wait (sem_wait, sem_timedwait, sem_clockwait; and CPython's sched_yield, which
 *   only a free-threaded build's lock spin and mimalloc's spin locks call) is timed on the waiting
 * thread (CLOCK_MONOTONIC, vDSO) and sampled as the GIL waits are (byte_sampling.h): sample points
 * on each thread's stream of waited nanoseconds at exponential distances of a mean interval; a wait
 * holding a point is recorded with weight wait / P(sampled), so sums estimate the truth.
 * - An acquisition (through 3.12 a successful sem_trywait or blocking wait; from 3.13 a wrapped
 *   acquire that took the lock, waited or not) is sampled with probability 1/N (N = 100 /
 *   capture percentage) and counts for N.
 * - A sampled acquisition is remembered by its lock's address (the semaphore through 3.12, the
 *   lock object from 3.13) in a small fixed table (with the time); the release of that lock
 *   (sem_post; a wrapped release) records a release, with weight N and hold time (release -
 *   acquisition) * N, charged to the releasing thread's stack, and freeing the lock (sem_destroy;
 *   the wrapped tp_dealloc) forgets it. A full table skips the hold (counted).
 * A record carries the calling thread's own stack (own_stack.h): a waiting thread's frames are
 * the ones it stopped at, and a thread taking or releasing a lock with the GIL runs no other
 * code meanwhile. Nothing allocates, takes a lock or calls Python; every path forwards the call. */
#ifndef PODPROF_SAMPLER_LOCK_HOOKS_H
#define PODPROF_SAMPLER_LOCK_HOOKS_H

#include <stddef.h>
#include <stdint.h>

#include "alloc_ring.h"
#include "runtime.h"

typedef struct pp_lock_hooks_options {
    double wait_interval_ns; /* mean waited nanoseconds between two sample points (> 0) */
    double capture_pct;      /* percentage of acquisitions sampled (0, 100] */
    size_t max_frames;       /* frames recorded per sample */
    size_t ring_records;     /* samples in flight to the sampler thread */
} pp_lock_hooks_options;

/* What a record stands for (its domain); size and the second value are weighted estimates. */
enum {
    PP_LOCK_ACQUIRE, /* size: acquisitions, ptr: waited ns */
    PP_LOCK_RELEASE, /* size: releases, ptr: held ns */
};

/* Sampler thread, before pp_inproc_schedule: finds the interpreter's code, resolves the C API
 * the observer needs, preallocates the ring and registers the installer that arms it. -1 (one
 * log line) when something is missing. */
int pp_lock_hooks_setup(const pp_runtime *rt, const pp_lock_hooks_options *opt);

/* 1 when this interpreter gives each lock a semaphore of its own (3.8-3.12): acquisitions,
 * releases and holds are observed at the semaphore calls; else at the lock methods. */
int pp_lock_hooks_per_lock_semaphores(const pp_runtime *rt);

/* NULL before setup. */
pp_alloc_ring *pp_lock_hooks_ring(void);
/* 1 once armed. */
int pp_lock_hooks_installed(void);
/* Sampled acquisitions whose hold could not be remembered (the table was full). */
uint64_t pp_lock_hooks_holds_lost(void);

#endif
