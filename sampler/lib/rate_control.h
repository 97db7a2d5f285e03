/* The adaptive sampling interval: how often the sampler thread passes over the threads so that
 * its own CPU stays within DD_PROFILING_MAX_TIME_USAGE_PCT of one core.
 *
 * A budget, not a per-pass limit: the budget accrues CPU time as wall time passes (budget x
 * elapsed) and every pass, drain and flush spends from it. What is not spent is kept as credit, up
 * to one second's worth of budget; what is overspent is owed, down to the same bound (an older
 * debt is forgiven, so one long flush cannot silence the profile for seconds). The interval is the
 * nominal one while the balance allows it, and otherwise the one at which passes of the cost just
 * measured use the next second's budget plus the balance. So over any stretch of time the sampler
 * spends at most the budget plus one second's worth of it, and a rare costly pass (the first look
 * at a thread's code, a flush) no longer lowers the rate for long when the steady cost fits.
 * Pure arithmetic on the times the caller gives, so that tests can drive it with any costs. */
#ifndef PODPROF_SAMPLER_RATE_CONTROL_H
#define PODPROF_SAMPLER_RATE_CONTROL_H

#include <stdint.h>

/* The interval is re-tuned this often, and never stretched beyond PP_RATE_MAX_INTERVAL_NS. */
#define PP_RATE_WINDOW_NS 250000000LL
#define PP_RATE_MAX_INTERVAL_NS 1000000000LL
/* The balance is kept within this much wall time's worth of budget, either way. */
#define PP_RATE_BALANCE_NS 1000000000LL

typedef struct pp_rate_control {
    int64_t base_ns, interval_ns;
    double budget;     /* fraction of one core */
    double balance_ns; /* budget accrued and not spent (< 0: overspent) */
    int64_t window_at_ns, window_cpu_ns;
    uint64_t window_passes;
} pp_rate_control;

/* Starts at the nominal interval base_ns with a full credit; now_ns and cpu_ns: the wall clock and
 * the sampler's CPU clock now. */
void pp_rate_control_init(pp_rate_control *rc, int64_t base_ns, double budget_pct, int64_t now_ns,
                          int64_t cpu_ns);
/* After each pass: counts it, and at the end of each window reads the sampler's CPU clock
 * (cpu_now(ctx), only then) and re-tunes the interval. Returns 1 when the interval changed. */
int pp_rate_control_pass(pp_rate_control *rc, int64_t now_ns, int64_t (*cpu_now)(void *ctx),
                         void *ctx);

static inline int64_t pp_rate_control_interval_ns(const pp_rate_control *rc)
{
    return rc->interval_ns;
}

#endif
