/* The timeline: which observations become one record and which do not, its bound (refused
 * observations are counted and summed into their stack instead), no allocation in the steady
 * state, and the pprof it turns into: one sample per record with an end_timestamp_ns label inside
 * the profile's window, next to the aggregate's own samples, decoded by protobuf-c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "aggregate.h"
#include "alloc_count.h"
#include "pprof_unpack.h"
#include "pprof_writer.h"
#include "profile.pb-c.h"
#include "timeline.h"

#define MS 1000000LL
#define T0 1700000000000000000LL

static const pp_timeline_record *records(pp_timeline *t, size_t *n)
{
    return pp_timeline_records(t, n);
}

static void test_runs_of_one_stack_become_one_record(void **state)
{
    (void)state;
    pp_timeline *t = pp_timeline_new(100, 1 << 20, 10);
    assert_non_null(t);
    /* stack 0 in passes 1-3: one record, values summed, ending at the last */
    assert_true(pp_timeline_add(t, 0, 2, 1, T0 + 10 * MS, 3 * MS, 10 * MS));
    assert_true(pp_timeline_add(t, 0, 2, 2, T0 + 20 * MS, 0, 10 * MS));
    assert_true(pp_timeline_add(t, 0, 2, 3, T0 + 30 * MS, 4 * MS, 10 * MS));
    /* pass 4 missed (a dropped sample): the thread's next observation starts a record */
    assert_true(pp_timeline_add(t, 0, 2, 5, T0 + 50 * MS, 1 * MS, 20 * MS));
    /* another stack, then the first again: three records */
    assert_true(pp_timeline_add(t, 1, 2, 6, T0 + 60 * MS, 1, 10 * MS));
    assert_true(pp_timeline_add(t, 0, 2, 7, T0 + 70 * MS, 2, 10 * MS));
    size_t n;
    const pp_timeline_record *r = records(t, &n);
    assert_int_equal(n, 4);
    assert_int_equal(r[0].stack, 0);
    assert_int_equal(r[0].passes, 3);
    assert_int_equal(r[0].end_ns, T0 + 30 * MS);
    assert_int_equal(r[0].cpu_ns, 7 * MS);
    assert_int_equal(r[0].wall_ns, 30 * MS);
    assert_int_equal(r[1].passes, 1);
    assert_int_equal(r[1].end_ns, T0 + 50 * MS);
    assert_int_equal(r[1].wall_ns, 20 * MS);
    assert_int_equal(r[2].stack, 1);
    assert_int_equal(r[3].stack, 0);
    assert_int_equal(r[3].end_ns, T0 + 70 * MS);
    assert_int_equal(pp_timeline_refused(t), 0);
    pp_timeline_free(t);
}

static void test_a_record_lasts_at_most_the_longest_pass(void **state)
{
    (void)state;
    pp_timeline *t = pp_timeline_new(100, 1 << 20, 10);
    for (uint64_t pass = 1; pass <= 5; pass++)
        assert_true(pp_timeline_add(t, 3, 2, pass, T0 + (int64_t)pass * 400 * MS, 0, 400 * MS));
    size_t n;
    const pp_timeline_record *r = records(t, &n);
    /* 400 + 400 fit in PP_TIMELINE_MAX_RUN_NS (1 s), a third does not */
    assert_int_equal(n, 3);
    assert_int_equal(r[0].passes, 2);
    assert_int_equal(r[1].passes, 2);
    assert_int_equal(r[2].passes, 1);
    for (size_t i = 0; i < n; i++)
        assert_true(r[i].wall_ns <= PP_TIMELINE_MAX_RUN_NS);
    pp_timeline_free(t);
}

static void test_bound_refuses_and_counts(void **state)
{
    (void)state;
    pp_timeline *t = pp_timeline_new(3, 1 << 20, 10);
    assert_true(pp_timeline_add(t, 0, 2, 1, T0, 1, 10));
    assert_true(pp_timeline_add(t, 1, 2, 1, T0, 1, 10));
    assert_true(pp_timeline_add(t, 2, 2, 1, T0, 1, 10));
    assert_false(pp_timeline_add(t, 3, 2, 1, T0, 1, 10)); /* a fourth record */
    /* extending a record needs no new one: still accepted when full */
    assert_true(pp_timeline_add(t, 0, 2, 2, T0 + 10, 1, 10));
    assert_false(pp_timeline_add(t, 1, 2, 3, T0 + 20, 1, 10)); /* pass 2 missed: a new record */
    assert_false(pp_timeline_add(t, 10, 2, 1, T0, 1, 10));     /* not a stack of the aggregate */
    assert_int_equal(pp_timeline_refused(t), 3);
    size_t n;
    records(t, &n);
    assert_int_equal(n, 3);
    /* after a reset nothing extends an old record, and the storage is reused */
    pp_timeline_reset(t);
    records(t, &n);
    assert_int_equal(n, 0);
    long before = allocations;
    assert_true(pp_timeline_add(t, 0, 2, 3, T0 + 30, 1, 10));
    assert_true(pp_timeline_add(t, 0, 2, 4, T0 + 40, 1, 10));
    const pp_timeline_record *r = records(t, &n);
    assert_int_equal(n, 1);
    assert_int_equal(r[0].passes, 2);
    assert_int_equal(allocations, before);
    assert_int_equal(pp_timeline_refused(t), 3);
    pp_timeline_free(t);
}

static void test_frames_bound(void **state)
{
    (void)state;
    pp_timeline *t = pp_timeline_new(100, 10, 10);
    assert_true(pp_timeline_add(t, 0, 4, 1, T0, 1, 10));
    assert_true(pp_timeline_add(t, 1, 4, 1, T0, 1, 10));
    assert_false(pp_timeline_add(t, 2, 4, 1, T0, 1, 10));     /* 12 frames > 10 */
    assert_true(pp_timeline_add(t, 0, 4, 2, T0 + 10, 1, 10)); /* extends a record: no new cost */
    assert_true(pp_timeline_add(t, 3, 2, 1, T0, 1, 10));      /* exactly 10 */
    assert_false(pp_timeline_add(t, 4, 1, 1, T0, 1, 10));
    assert_int_equal(pp_timeline_refused(t), 2);
    pp_timeline_reset(t);
    assert_true(pp_timeline_add(t, 2, 10, 3, T0, 1, 10)); /* a reset frees the budget */
    pp_timeline_free(t);
}

static void test_steady_state_does_not_allocate(void **state)
{
    (void)state;
    pp_timeline *t = pp_timeline_new(4096, 1 << 20, 64);
    uint64_t pass = 0;
    for (int round = 0; round < 3; round++) {
        long before = allocations;
        for (int i = 0; i < 3000; i++, pass++)
            assert_true(
                pp_timeline_add(t, (uint32_t)(i % 7), 2, pass, T0 + (int64_t)pass * MS, 1, MS));
        if (round > 0)
            assert_int_equal(allocations, before); /* the first interval sized the storage */
        pp_timeline_reset(t);
    }
    pp_timeline_free(t);
}

/* ---- the pprof it becomes ---- */

static const Perftools__Profiles__Label *
label(const Perftools__Profiles__Profile *p, const Perftools__Profiles__Sample *s, const char *key)
{
    for (size_t i = 0; i < s->n_label; i++)
        if (!strcmp(p->string_table[s->label[i]->key], key))
            return s->label[i];
    return NULL;
}

static void test_records_become_timestamped_samples(void **state)
{
    (void)state;
    pp_agg *agg = pp_agg_new(100, 1 << 16);
    pp_timeline *t = pp_timeline_new(1 << 14, 1 << 20, 100);
    pp_frame fa[] = {{pp_agg_intern(agg, "work", 4), pp_agg_intern(agg, "w.py", 4), 7},
                     {pp_agg_intern(agg, "main", 4), pp_agg_intern(agg, "m.py", 4), 1}};
    pp_frame fb[] = {{pp_agg_intern(agg, "wait", 4), pp_agg_intern(agg, "w.py", 4), 9}};
    pp_sample_key ka = {11, 1011, pp_agg_intern(agg, "alpha", 5), fa, 2, 0, 0, 0};
    pp_sample_key kb = {22, 1022, pp_agg_intern(agg, "beta", 4), fb, 1, 0, 0, 0};
    uint32_t a = (uint32_t)pp_agg_stack(agg, &ka), b = (uint32_t)pp_agg_stack(agg, &kb);
    assert_int_equal(a, 0);
    assert_int_equal(b, 1);
    assert_int_equal((uint32_t)pp_agg_stack(agg, &ka), a);
    /* thread alpha: 2500 passes, its stack alternating every pass (one record each, more than
     * the writer's chunk of 1024); thread beta: waits the whole time (runs of up to 1 s). The
     * first record ends before the profile's start and the last after its end: clamped. */
    const int64_t start = T0 + 15 * MS, end = T0 + 2500 * 10 * MS;
    pp_sample_key ka2 = ka;
    pp_frame fa2[2] = {fa[0], fa[1]};
    fa2[0].line = 8;
    ka2.frames = fa2;
    uint32_t a2 = (uint32_t)pp_agg_stack(agg, &ka2);
    int64_t alpha_cpu = 0;
    for (uint64_t pass = 1; pass <= 2500; pass++) {
        int64_t when = T0 + (int64_t)pass * 10 * MS + (pass == 2500 ? 7 * MS : 0);
        assert_true(pp_timeline_add(t, pass % 2 ? a : a2, 2, pass, when, (int64_t)pass, 10 * MS));
        alpha_cpu += (int64_t)pass;
        assert_true(pp_timeline_add(t, b, 2, pass, when, 0, 10 * MS));
    }
    /* summed observations of the same stacks (a full timeline's fallback) */
    int64_t folded[PP_V_COUNT] = {[PP_V_CPU_NS] = 1000,
                                  [PP_V_CPU_SAMPLES] = 1,
                                  [PP_V_WALL_NS] = 10 * MS,
                                  [PP_V_WALL_SAMPLES] = 1};
    pp_agg_add_at(agg, a, folded);
    folded[PP_V_CPU_NS] = 5;
    pp_agg_add_at(agg, -1, folded); /* the stack bound's fold */

    pp_flush_info info = {.start_ns = start,
                          .end_ns = end,
                          .period_ns = 10 * MS,
                          .effective_rate_hz = 100,
                          .timeline = t};
    unsigned char *gz;
    size_t gz_len;
    assert_int_equal(pp_pprof_encode_gzip(agg, &info, &gz, &gz_len), 0);
    Perftools__Profiles__Profile *p = pprof_unpack_gzip(gz, gz_len);
    free(gz);

    size_t n_records;
    pp_timeline_records(t, &n_records);
    assert_int_equal(n_records, 2500 + 25); /* beta: 2500 passes of 10 ms in runs of 100 */
    size_t timed = 0, summed = 0;
    int64_t wall_samples = 0, alpha_timed_cpu = 0;
    int64_t last_ts[2] = {0, 0};
    for (size_t i = 0; i < p->n_sample; i++) {
        const Perftools__Profiles__Sample *s = p->sample[i];
        assert_int_equal(s->n_value, 4);
        wall_samples += s->value[3];
        const Perftools__Profiles__Label *ts = label(p, s, "end_timestamp_ns");
        const Perftools__Profiles__Label *tid = label(p, s, "thread id");
        if (!ts) {
            summed++;
            continue;
        }
        timed++;
        assert_non_null(tid);
        assert_int_equal(ts->str, 0);
        assert_int_equal(ts->num_unit, 0);
        assert_true(ts->num >= start && ts->num <= end);
        assert_non_null(label(p, s, "thread name"));
        assert_non_null(label(p, s, "thread native id"));
        /* grouped by stack, in time order within each */
        int th = tid->num == 11 ? 0 : 1;
        if (th == 1) {
            assert_true(ts->num > last_ts[1]);
            last_ts[1] = ts->num;
            assert_int_equal(s->value[0], 0);
            assert_int_equal(s->value[2], s->value[3] * 10 * MS);
        } else {
            assert_int_equal(s->value[1], 1);
            alpha_timed_cpu += s->value[0];
        }
    }
    assert_int_equal(timed, n_records);
    assert_int_equal(summed, 2); /* stack a's summed values, and the fold; a2 and b have none */
    assert_int_equal(alpha_timed_cpu, alpha_cpu);
    assert_int_equal(wall_samples, 2 * 2500 + 2);
    perftools__profiles__profile__free_unpacked(p, NULL);

    /* without the timeline (switched off) the profile has no timestamps at all */
    info.timeline = NULL;
    assert_int_equal(pp_pprof_encode_gzip(agg, &info, &gz, &gz_len), 0);
    p = pprof_unpack_gzip(gz, gz_len);
    free(gz);
    for (size_t i = 0; i < p->n_string_table; i++)
        assert_string_not_equal(p->string_table[i], "end_timestamp_ns");
    perftools__profiles__profile__free_unpacked(p, NULL);
    pp_timeline_free(t);
    pp_agg_free(agg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_runs_of_one_stack_become_one_record),
        cmocka_unit_test(test_a_record_lasts_at_most_the_longest_pass),
        cmocka_unit_test(test_bound_refuses_and_counts),
        cmocka_unit_test(test_frames_bound),
        cmocka_unit_test(test_steady_state_does_not_allocate),
        cmocka_unit_test(test_records_become_timestamped_samples),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
