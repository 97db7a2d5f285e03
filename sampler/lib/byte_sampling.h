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

/* A thread's countdown to its next sample point on its stream of amounts (waited nanoseconds):
 * points fall at exponentially distributed distances of a mean, so an amount holding one or more
 * points is sampled with probability pp_sample_probability(amount, mean). Zeroed static TLS is a
 * valid start. The caller's fast path is `if ((c->left -= amount) <= 0 && pp_countdown_crossed(c,
 * amount, mean))`. */
typedef struct pp_countdown {
    double left;
    uint64_t rng;
    uint8_t seeded;
} pp_countdown;
/* 1 when a point fell within amount (then the countdown restarts past it). A fresh countdown is
 * seeded here, its first point drawn before amount. */
int pp_countdown_crossed(pp_countdown *c, double amount, double mean);

/* The same for events (raised exceptions, lock acquisitions): each is sampled with probability
 * 1/interval, independently, so each sampled one stands for interval events. The fast path is
 * `if (--c->left <= 0 && pp_event_countdown_crossed(c, log_keep))`. */
typedef struct pp_event_countdown {
    int64_t left;
    uint64_t rng;
    uint8_t seeded;
} pp_event_countdown;
/* ln(1 - 1/interval) for interval >= 1; 0 when every event is sampled. */
double pp_event_log_keep(double interval);
/* 1 when the event that brought left to 0 or below is sampled (then the countdown restarts). */
int pp_event_countdown_crossed(pp_event_countdown *c, double log_keep);

/* Natural logarithm of x > 0, and exp(-x) - 1 for x >= 0 (exposed for tests). */
double pp_ln(double x);
double pp_expm1_neg(double x);

#endif
