/* The adaptive sampling interval against the CPU budget (rate_control.h). */
#include "rate_control.h"

static double balance_bound(const pp_rate_control *rc)
{
    return rc->budget * (double)PP_RATE_BALANCE_NS;
}

void pp_rate_control_init(pp_rate_control *rc, int64_t base_ns, double budget_pct, int64_t now_ns,
                          int64_t cpu_ns)
{
    *rc = (pp_rate_control){.base_ns = base_ns,
                            .interval_ns = base_ns,
                            .budget = budget_pct / 100.0,
                            .window_at_ns = now_ns,
                            .window_cpu_ns = cpu_ns};
    /* Start-up (each thread's first walk, the first look at each code object) costs the most:
     * the first second's budget is there for it. */
    rc->balance_ns = balance_bound(rc);
}

static int64_t clamp_interval(const pp_rate_control *rc, double ns)
{
    double top = PP_RATE_MAX_INTERVAL_NS > rc->base_ns ? (double)PP_RATE_MAX_INTERVAL_NS
                                                       : (double)rc->base_ns;
    if (!(ns > (double)rc->base_ns)) /* also NaN */
        return rc->base_ns;
    return ns >= top ? (int64_t)top : (int64_t)ns;
}

int pp_rate_control_pass(pp_rate_control *rc, int64_t now_ns, int64_t (*cpu_now)(void *ctx),
                         void *ctx)
{
    rc->window_passes++;
    int64_t elapsed = now_ns - rc->window_at_ns;
    if (elapsed < PP_RATE_WINDOW_NS)
        return 0;
    int64_t cpu = cpu_now(ctx);
    double spent = (double)(cpu - rc->window_cpu_ns);
    double bound = balance_bound(rc);
    rc->balance_ns += rc->budget * (double)elapsed - spent;
    if (rc->balance_ns > bound)
        rc->balance_ns = bound;
    else if (rc->balance_ns < -bound)
        rc->balance_ns = -bound;
    /* What the next second may spend: its budget and the balance. Passes cost what they cost in
     * this window (drains and a flush included), so the interval that spends just that is the
     * cost of a pass over the share of a second it may take. */
    double per_pass = spent / (double)rc->window_passes;
    double allowed = bound + rc->balance_ns;
    int64_t next = allowed > 0 ? clamp_interval(rc, per_pass * (double)PP_RATE_BALANCE_NS / allowed)
                               : clamp_interval(rc, (double)PP_RATE_MAX_INTERVAL_NS);
    int changed = next != rc->interval_ns;
    rc->interval_ns = next;
    rc->window_at_ns = now_ns;
    rc->window_cpu_ns = cpu;
    rc->window_passes = 0;
    return changed;
}
