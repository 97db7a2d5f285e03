/* Poisson sampling by bytes: sample points fall on the stream of allocated bytes at exponentially
 * distributed distances of mean R, and an allocation is sampled when at least one point falls in
 * it, i.e. with probability 1 - exp(-size / R). Weighting a sampled allocation by the inverse of
 * that probability (Horvitz-Thompson) makes sums over samples unbiased estimates of the true
 * bytes and counts, for small and large allocations alike.
 *
 * libpodprof.so links libc only, so the two transcendental functions it needs are computed here
 * by series to full double precision. */
#ifndef PODPROF_SAMPLER_BYTE_SAMPLING_H
#define PODPROF_SAMPLER_BYTE_SAMPLING_H

#include <stdint.h>

/* splitmix64: one state word per thread, no syscall. */
uint64_t pp_rng_next(uint64_t *state);

/* Seeds this process's per-thread generators from the clock and the pid (each hook family's
 * setup calls it; calling it again is harmless). */
void pp_rng_seed_process(void);
/* A thread's first generator state: the process seed, the address of the thread's own
 * thread-local state and a counter shared by every thread, so no two threads draw alike. */
uint64_t pp_rng_thread_seed(const void *thread_state);

/* A distance drawn from the exponential distribution of this mean (> 0). */
double pp_exp_draw(uint64_t *state, double mean);

/* 1 - exp(-size / mean): the chance an allocation of size bytes is sampled. */
double pp_sample_probability(double size, double mean);

/* Natural logarithm of x > 0, and exp(-x) - 1 for x >= 0 (exposed for tests). */
double pp_ln(double x);
double pp_expm1_neg(double x);

#endif
