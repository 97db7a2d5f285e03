/* The server's memory budget: whatever the limits, the worst case (fixed part, connections,
 * request memory, the body twice, bytes still arriving) fills at most 7/8 of the memory limit,
 * and workers follow the CPU quota. */
#include "budget.h"
#include "fixtures.h"

static size_t worst_case(const inj_budget *b)
{
    return INJ_FIXED_BYTES + (size_t)b->workers * ((size_t)b->conn_max * INJ_CONN_BYTES +
                                                   b->arena_max + 2 * b->body_max + b->in_flight);
}

static void test_under_the_limit(void **state)
{
    (void)state;
    inj_config cfg = default_config();
    char err[200];
    long limits[] = {24L << 20, 32L << 20, 64L << 20, 100L << 20, 1L << 30};
    double quotas[] = {0, 0.05, 0.5, 1, 2.5, 16};
    for (size_t i = 0; i < sizeof limits / sizeof *limits; i++)
        for (size_t j = 0; j < sizeof quotas / sizeof *quotas; j++) {
            inj_budget b;
            assert_int_equal(inj_budget_derive(&cfg, limits[i], quotas[j], 64, &b, err, sizeof err),
                             0);
            assert_true(worst_case(&b) <= (size_t)(limits[i] - limits[i] / 8));
            assert_true(b.workers >= 1 && b.workers <= INJ_MAX_AUTO_WORKERS);
            assert_true(b.body_max <= (size_t)cfg.max_body_bytes);
            assert_true(b.arena_max >= (1u << 20));
            assert_true(b.conn_max >= 64);
        }
    inj_config_free(&cfg);
}

static void test_workers_follow_the_quota(void **state)
{
    (void)state;
    inj_config cfg = default_config();
    char err[200];
    inj_budget b;
    assert_int_equal(inj_budget_derive(&cfg, 1L << 30, 0.5, 64, &b, err, sizeof err), 0);
    assert_int_equal(b.workers, 1);
    assert_int_equal(inj_budget_derive(&cfg, 1L << 30, 2.5, 64, &b, err, sizeof err), 0);
    assert_int_equal(b.workers, 3);
    assert_int_equal(inj_budget_derive(&cfg, 1L << 30, 0, 2, &b, err, sizeof err), 0);
    assert_int_equal(b.workers, 2);
    assert_int_equal(inj_budget_derive(&cfg, 1L << 30, 0, 64, &b, err, sizeof err), 0);
    assert_int_equal(b.workers, INJ_MAX_AUTO_WORKERS);
    /* the chart's default: 64 MiB, no CPU limit, two CPUs */
    assert_int_equal(inj_budget_derive(&cfg, 64L << 20, 0, 2, &b, err, sizeof err), 0);
    assert_int_equal(b.workers, 2);
    assert_string_equal(b.limit_from, "cgroup");
    assert_true(b.workers * b.conn_max >= 500); /* enough for several API servers' pools */
    /* a limit too small for one request is refused with one line */
    assert_int_equal(inj_budget_derive(&cfg, 16L << 20, 0, 2, &b, err, sizeof err), -1);
    assert_non_null(strstr(err, "memory limit"));
    /* the setting wins over the cgroup */
    cfg.memory_limit_bytes = 48 << 20;
    assert_int_equal(inj_budget_derive(&cfg, 1L << 30, 0, 2, &b, err, sizeof err), 0);
    assert_int_equal(b.limit, 48L << 20);
    assert_string_equal(b.limit_from, "setting");
    inj_config_free(&cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_under_the_limit),
        cmocka_unit_test(test_workers_follow_the_quota),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
