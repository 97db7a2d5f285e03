/* The adaptive interval, driven by a simulated sampler: passes of a chosen CPU cost at the
 * interval the controller asks for, on simulated clocks. It must hold the nominal rate whenever
 * the steady cost fits the budget (a costly start-up or flush notwithstanding), settle at the
 * budget when it does not, and never let the sampler spend more than the budget plus one second's
 * worth of it over any stretch of time. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "rate_control.h"

#define MS 1000000LL
#define US 1000LL
#define BASE_NS (10 * MS) /* 100 Hz */

typedef struct sim {
    pp_rate_control rc;
    int64_t now, cpu;
    uint64_t passes;
    /* cpu[k], now[k] at every pass k, for window checks */
    int64_t at_now[20000], at_cpu[20000];
} sim;

static int64_t sim_cpu(void *ctx)
{
    return ((sim *)ctx)->cpu;
}

static void sim_start(sim *s, double budget_pct)
{
    s->now = 5000 * MS;
    s->cpu = 77 * MS;
    s->passes = 0;
    pp_rate_control_init(&s->rc, BASE_NS, budget_pct, s->now, s->cpu);
}

/* One pass costing cost_ns, then the sleep to the next. */
static void sim_pass(sim *s, int64_t cost_ns)
{
    s->cpu += cost_ns;
    s->now += cost_ns;
    if (s->passes < sizeof s->at_now / sizeof s->at_now[0]) {
        s->at_now[s->passes] = s->now;
        s->at_cpu[s->passes] = s->cpu;
    }
    s->passes++;
    pp_rate_control_pass(&s->rc, s->now, sim_cpu, s);
    s->now += pp_rate_control_interval_ns(&s->rc) - cost_ns > 0
                  ? pp_rate_control_interval_ns(&s->rc) - cost_ns
                  : 0;
}

/* n passes of cost_ns each. */
static void sim_passes(sim *s, int n, int64_t cost_ns)
{
    for (int i = 0; i < n; i++)
        sim_pass(s, cost_ns);
}

static double rate_hz(const sim *s, uint64_t from, uint64_t to)
{
    return (double)(to - from) * 1e9 / (double)(s->at_now[to] - s->at_now[from]);
}

/* Over every stretch of recorded passes, what was spent beyond the budget, at most. */
static double worst_excess_ns(const sim *s, double budget)
{
    double worst = 0;
    uint64_t n = s->passes < 20000 ? s->passes : 20000;
    for (uint64_t i = 0; i < n; i++)
        for (uint64_t j = i + 1; j < n; j++) {
            /* from just before pass i's cost to the end of pass j */
            double spent = (double)(s->at_cpu[j] - s->at_cpu[i]);
            double took = (double)(s->at_now[j] - s->at_now[i]);
            if (spent - budget * took > worst)
                worst = spent - budget * took;
        }
    return worst;
}

static void test_steady_cost_within_budget_holds_the_nominal_rate(void **state)
{
    (void)state;
    static sim s;
    sim_start(&s, 1);
    sim_passes(&s, 3000, 90 * US); /* 0.9 % at 100 Hz */
    assert_int_equal(pp_rate_control_interval_ns(&s.rc), BASE_NS);
    assert_true(rate_hz(&s, 0, 2999) > 99.0);
}

static void test_costly_start_and_flush_do_not_lower_the_rate(void **state)
{
    (void)state;
    static sim s;
    sim_start(&s, 1);
    /* start-up: the first 20 passes cost 300 us each (6 ms, more than half a second's budget) */
    sim_passes(&s, 20, 300 * US);
    for (int i = 20; i < 3000; i++)
        sim_pass(&s, i % 1000 == 999 ? 4 * MS : 80 * US); /* a 4 ms flush every 10 s */
    assert_true(rate_hz(&s, 0, 2999) > 99.0);
    /* within the budget plus one second's worth over any stretch */
    assert_true(worst_excess_ns(&s, 0.01) <= 0.01 * 1e9 * 1.001);
}

static void test_steady_cost_over_budget_settles_at_the_budget(void **state)
{
    (void)state;
    static sim s;
    sim_start(&s, 1);
    sim_passes(&s, 6000, 200 * US); /* 2 % at 100 Hz */
    /* after the credit is spent, passes come at the interval whose cost is 1 %: 50 Hz */
    double late = rate_hz(&s, 3000, 5999);
    assert_true(late > 47.0 && late < 51.0);
    assert_true(worst_excess_ns(&s, 0.01) <= 0.01 * 1e9 * 1.001);
}

static void test_a_huge_spike_is_forgiven_beyond_one_second(void **state)
{
    (void)state;
    static sim s;
    sim_start(&s, 1);
    sim_passes(&s, 200, 50 * US);
    sim_pass(&s, 100 * MS); /* ten seconds' budget in one flush */
    int64_t spike_end = s.now;
    uint64_t spike = s.passes;
    sim_passes(&s, 1500, 50 * US);
    /* back at the nominal rate within a few seconds, not after ten */
    uint64_t k = spike;
    while (k + 1 < s.passes && s.at_now[k + 1] - s.at_now[k] > BASE_NS + 1)
        k++;
    assert_true(s.at_now[k] - spike_end < 3000 * MS);
    assert_int_equal(pp_rate_control_interval_ns(&s.rc), BASE_NS);
}

static void test_interval_bounds(void **state)
{
    (void)state;
    static sim s;
    sim_start(&s, 0.01); /* 10 us of CPU a second */
    sim_passes(&s, 50, 1 * MS);
    assert_int_equal(pp_rate_control_interval_ns(&s.rc), PP_RATE_MAX_INTERVAL_NS);
    /* a nominal interval above the ceiling is kept as it is */
    pp_rate_control rc;
    pp_rate_control_init(&rc, 2 * PP_RATE_MAX_INTERVAL_NS, 0.01, 0, 0);
    assert_int_equal(pp_rate_control_pass(&rc, 3 * PP_RATE_MAX_INTERVAL_NS, sim_cpu, &s), 0);
    assert_int_equal(pp_rate_control_interval_ns(&rc), 2 * PP_RATE_MAX_INTERVAL_NS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_steady_cost_within_budget_holds_the_nominal_rate),
        cmocka_unit_test(test_costly_start_and_flush_do_not_lower_the_rate),
        cmocka_unit_test(test_steady_cost_over_budget_settles_at_the_budget),
        cmocka_unit_test(test_a_huge_spike_is_forgiven_beyond_one_second),
        cmocka_unit_test(test_interval_bounds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
