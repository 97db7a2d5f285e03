/* Byte-distance sampling arithmetic (byte_sampling.h). */
#include "byte_sampling.h"

#include <stdatomic.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LN2 0.69314718055994530942
#define SQRT2 1.41421356237309504880

uint64_t pp_rng_next(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static uint64_t seed_base;
static atomic_uint_fast64_t seed_counter;

void pp_rng_seed_process(void)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    seed_base = (uint64_t)now.tv_nsec * 0x2545f4914f6cdd1dULL ^ (uint64_t)now.tv_sec ^
                (uint64_t)getpid() << 40;
}

uint64_t pp_rng_thread_seed(const void *thread_state)
{
    return seed_base ^ (uint64_t)(uintptr_t)thread_state ^
           atomic_fetch_add(&seed_counter, 0x9e3779b97f4a7c15ULL);
}

double pp_ln(double x)
{
    /* x = m * 2^e with m in [sqrt(1/2), sqrt(2)); ln m = 2 atanh(t), t = (m-1)/(m+1), |t| < 0.18,
     * so 14 odd terms of the series reach double precision. */
    uint64_t bits;
    memcpy(&bits, &x, sizeof bits);
    int e = (int)((bits >> 52) & 0x7ff) - 1023;
    bits = (bits & 0x000fffffffffffffULL) | 0x3ff0000000000000ULL;
    double m;
    memcpy(&m, &bits, sizeof m);
    if (m > SQRT2) {
        m /= 2;
        e++;
    }
    double t = (m - 1) / (m + 1), t2 = t * t, sum = 0, power = t;
    for (int k = 1; k < 30; k += 2) {
        sum += power / k;
        power *= t2;
    }
    return 2 * sum + e * LN2;
}

double pp_expm1_neg(double x)
{
    if (x < 0.5) {
        /* sum over n >= 1 of (-x)^n / n!: no cancellation for small x */
        double term = -x, sum = 0;
        for (int n = 2; n < 30 && term != 0; n++) {
            sum += term;
            term *= -x / n;
        }
        return sum;
    }
    if (x > 745)
        return -1;
    /* exp(-x) = 2^-k exp(-r), r = x - k ln 2 in [0, ln 2) */
    int k = (int)(x / LN2);
    double r = x - k * LN2, term = 1, e = 0;
    for (int n = 1; n < 30; n++) {
        e += term;
        term *= -r / n;
    }
    for (int i = 0; i < k; i++)
        e *= 0.5;
    return e - 1;
}

double pp_exp_draw(uint64_t *state, double mean)
{
    /* u uniform in (0, 1]: 53 random bits, never 0 */
    double u = (double)((pp_rng_next(state) >> 11) + 1) * (1.0 / 9007199254740992.0);
    return -pp_ln(u) * mean;
}

double pp_sample_probability(double size, double mean)
{
    return -pp_expm1_neg(size / mean);
}

int pp_countdown_crossed(pp_countdown *c, double amount, double mean)
{
    if (!c->seeded) {
        c->seeded = 1;
        c->rng = pp_rng_thread_seed(c);
        c->left = pp_exp_draw(&c->rng, mean) - amount;
        if (c->left > 0)
            return 0;
    }
    /* The process is memoryless: the next point lies an exponential distance past this amount. */
    c->left = pp_exp_draw(&c->rng, mean);
    return 1;
}

double pp_event_log_keep(double interval)
{
    return interval > 1 ? pp_ln(1 - 1 / interval) : 0;
}

/* Events up to and including the next sampled one: geometric with success 1/interval. */
static int64_t event_draw(uint64_t *rng, double log_keep)
{
    if (log_keep == 0)
        return 1;
    /* u in (0, 1]: 53 random bits, never 0 */
    double u = (double)((pp_rng_next(rng) >> 11) + 1) * (1.0 / 9007199254740992.0);
    double k = pp_ln(u) / log_keep;
    return k < 4e18 ? (int64_t)k + 1 : INT64_MAX;
}

int pp_event_countdown_crossed(pp_event_countdown *c, double log_keep)
{
    if (!c->seeded) {
        /* A thread's first event: its countdown starts with this event as the first. */
        c->seeded = 1;
        c->rng = pp_rng_thread_seed(c);
        c->left = event_draw(&c->rng, log_keep) - 1;
        if (c->left > 0)
            return 0;
    }
    c->left = event_draw(&c->rng, log_keep);
    return 1;
}
