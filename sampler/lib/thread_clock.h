/* Per-thread CPU clocks from a kernel tid. The clock id is the one pthread_getcpuclockid()
 * returns, computed from the tid rather than by dereferencing a pthread_t that may belong to a
 * thread that already exited (its struct pthread may be unmapped). Before 3.11 PyThreadState
 * records only the pthread_t, so the tid is read from glibc's struct pthread at an offset
 * calibrated on the sampler's own thread. */
#ifndef PODPROF_SAMPLER_THREAD_CLOCK_H
#define PODPROF_SAMPLER_THREAD_CLOCK_H

#include <stdint.h>
#include <time.h>

#include "safe_read.h"

/* Calibrates and cross-checks against pthread_getcpuclockid(); call on the sampler thread.
 * Returns 0 when per-thread clocks can be used. */
int pp_thread_clock_init(void);

/* Where the tid of the thread pthread_id lives in its struct pthread (0: not known), for a caller
 * that reads it together with other memory of the thread: a value read there > 0 is its tid. */
uintptr_t pp_tid_field(uint64_t pthread_id);

/* The tid of a live thread from its pthread_t, read with read(ctx, ...) (NULL: pp_read); 0 when
 * unknown or exited. */
int32_t pp_tid_from_pthread(uint64_t pthread_id, pp_read_fn read, void *ctx);

/* CPU time consumed by thread tid in ns, or -1 when the thread no longer exists. */
int64_t pp_thread_cpu_ns(int32_t tid);

#endif
