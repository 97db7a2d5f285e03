/* The GIL wait observer: how long each thread of a GIL build waits to take the GIL, charged to
 * its own Python stack.
 *
 * Every CPython with a GIL (3.8-3.15) waits for it in take_gil (Python/ceval_gil.c) with
 * pthread_cond_timedwait on the `cond` of its struct _gil_runtime_state (a timed wait of the
 * switch interval, repeated until the GIL is free), and a thread asked to drop the GIL waits in
 * drop_gil with pthread_cond_wait on its `switch_cond` until another thread has taken it
 * (FORCE_SWITCHING, defined in every version), then queues in take_gil: both are time the thread
 * cannot run because of the GIL. CPython calls both through the PLT into libc: libpython and the
 * statically linked executables (Debian's python3) all import them at GLIBC_2.3.2. The library,
 * preloaded, exports its own two functions, which forward every call to the next definition
 * (libc's). A call on any other condition variable costs one compare against the published
 * address of the GIL's. Only CPython's own calls are observed: code compiled into a binary that
 * calls libc directly (no PLT) is not, and nothing else changes for it.
 *
 * A wait on the GIL's condition variable is timed on the waiting thread (CLOCK_MONOTONIC, vDSO).
 * Waiting time is sampled as allocation bytes are (byte_sampling.h): sample points fall on each
 * thread's stream of waited nanoseconds at exponentially distributed distances of a mean interval,
 * and a wait holding at least one point is recorded with weight wait / P(sampled), so sums
 * estimate the true waiting time without bias, whatever the lengths of the waits. A recorded wait
 * carries the waiting thread's stack, read in place (own_stack.h): the thread waits before it runs
 * bytecode again, so its frames are the ones it stopped at, and only it changes them. Its thread
 * state is found with PyGILState_GetThisThreadState (a thread-specific key, valid while the thread
 * does not hold the GIL, unlike PyThreadState_GetUnchecked). Nothing is recorded once the
 * interpreter finalizes (it frees the thread states of daemon threads still waiting).
 *
 * The GIL's address is published by an installer that runs with the GIL held (inproc_hooks.h):
 * _PyRuntime.ceval.gil before 3.12, the main interpreter's ceval.gil pointer from 3.12 (an
 * interpreter with a GIL of its own, PEP 684, is not observed). Free-threaded builds have no GIL:
 * the profile is off there. */
#ifndef PODPROF_SAMPLER_GIL_HOOKS_H
#define PODPROF_SAMPLER_GIL_HOOKS_H

#include <stddef.h>
#include <stdint.h>

#include "alloc_ring.h"
#include "runtime.h"

typedef struct pp_gil_hooks_options {
    double interval_ns;  /* mean waited nanoseconds between two sample points (> 0) */
    size_t max_frames;   /* frames recorded per sample */
    size_t ring_records; /* samples in flight to the sampler thread */
} pp_gil_hooks_options;

/* Sampler thread, before pp_inproc_schedule: checks the layout, resolves the C API the observer
 * needs, preallocates the ring and registers the installer. -1 (one log line) when the build has
 * no GIL, a function is missing or memory is short. A record's size is its weight in ns. */
int pp_gil_hooks_setup(const pp_runtime *rt, const pp_gil_hooks_options *opt);

/* NULL before setup. */
pp_alloc_ring *pp_gil_hooks_ring(void);
/* 1 once the GIL's address is published. */
int pp_gil_hooks_installed(void);

#endif
