/* The in-memory aggregate: interning, stack identity and sums, bounds, and no allocation per sample
 * once a workload's stacks are known. */
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

typedef struct seen_stack {
    pp_sample_key key;
    pp_frame frames[8];
    int64_t cpu_ns, cpu_count, wall_ns, wall_count;
} seen_stack;

typedef struct seen {
    seen_stack stacks[64];
    int n;
} seen;

static void collect(void *ctx, const pp_sample_key *key, const int64_t *values)
{
    seen *s = ctx;
    assert_true(s->n < 64);
    seen_stack *e = &s->stacks[s->n++];
    e->key = *key;
    assert_true(key->n_frames <= 8);
    memcpy(e->frames, key->frames, key->n_frames * sizeof *key->frames);
    e->key.frames = e->frames;
    e->cpu_ns = values[PP_V_CPU_NS];
    e->cpu_count = values[PP_V_CPU_SAMPLES];
    e->wall_ns = values[PP_V_WALL_NS];
    e->wall_count = values[PP_V_WALL_SAMPLES];
}

static pp_str str(pp_agg *agg, const char *s)
{
    return pp_agg_intern(agg, s, strlen(s));
}

/* Bytes torn from another thread's objects, or a kernel thread name, are never stored as
 * invalid UTF-8: pprof decoders reject such a string table. */
static void test_strings_are_valid_utf8(void **state)
{
    (void)state;
    pp_agg *agg = pp_agg_new(100, 1 << 16);
    assert_non_null(agg);
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"\xd1"
         "abc",
         "?abc"},                     /* lead byte, no continuation */
        {"ab\xe2\x82", "ab??"},       /* cut short at the end */
        {"\xc0\x80x", "??x"},         /* overlong NUL */
        {"\xed\xa0\x80", "???"},      /* a UTF-16 surrogate */
        {"\xf4\x90\x80\x80", "????"}, /* beyond U+10FFFF */
        {"\x80\xbf", "??"},           /* stray continuations */
        {"f\xc3\xbcr \xf0\x9f\x90\x8d", "f\xc3\xbcr \xf0\x9f\x90\x8d"}, /* valid */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        pp_str id = str(agg, cases[i].in);
        assert_string_equal(pp_agg_string(agg, id), cases[i].out);
        assert_int_equal(str(agg, cases[i].in), id);  /* the same bytes, the same string */
        assert_int_equal(str(agg, cases[i].out), id); /* and the repaired text is that string */
    }
    pp_agg_free(agg);
}

static void test_interning(void **state)
{
    (void)state;
    pp_agg *agg = pp_agg_new(100, 1 << 16);
    assert_non_null(agg);
    assert_int_equal(str(agg, ""), 0);
    assert_string_equal(pp_agg_string(agg, 0), "");
    pp_str a = str(agg, "handle_request");
    pp_str b = str(agg, "/app/views.py");
    pp_str c = str(agg, "f\xc3\xbcr_\xe6\x97\xa5\xe6\x9c\xac"); /* non-ASCII survives as bytes */
    assert_int_not_equal(a, 0);
    assert_int_not_equal(a, b);
    assert_int_equal(str(agg, "handle_request"), a);
    assert_int_equal(pp_agg_intern(agg, "handle_request_extra", 14), a);
    assert_string_equal(pp_agg_string(agg, a), "handle_request");
    assert_string_equal(pp_agg_string(agg, b), "/app/views.py");
    assert_string_equal(pp_agg_string(agg, c), "f\xc3\xbcr_\xe6\x97\xa5\xe6\x9c\xac");
    /* Embedded NULs and many strings: every id stays stable while the table grows. */
    pp_str ids[2000];
    char buf[32];
    for (int i = 0; i < 2000; i++) {
        snprintf(buf, sizeof buf, "fn_%d", i);
        ids[i] = str(agg, buf);
    }
    for (int i = 0; i < 2000; i++) {
        snprintf(buf, sizeof buf, "fn_%d", i);
        assert_int_equal(str(agg, buf), ids[i]);
        assert_string_equal(pp_agg_string(agg, ids[i]), buf);
    }
    assert_string_equal(pp_agg_string(agg, 999999), "");
    assert_int_equal(pp_agg_generation(agg), 0);
    pp_agg_free(agg);
}

static void test_stacks_sum_and_identity(void **state)
{
    (void)state;
    pp_agg *agg = pp_agg_new(100, 1 << 16);
    pp_frame f1[] = {{str(agg, "leaf"), str(agg, "a.py"), 10},
                     {str(agg, "main"), str(agg, "a.py"), 3}};
    pp_frame f2[] = {{str(agg, "leaf"), str(agg, "a.py"), 11},
                     {str(agg, "main"), str(agg, "a.py"), 3}};
    pp_sample_key k1 = {1, 101, str(agg, "MainThread"), f1, 2, 0, 0, 0};
    pp_sample_key k1_other_thread = {2, 102, str(agg, "worker"), f1, 2, 0, 0, 0};
    pp_sample_key k2 = {1, 101, str(agg, "MainThread"), f2, 2, 0, 0, 0};
    pp_sample_key k1_truncated = {1, 101, str(agg, "MainThread"), f1, 2, 5, 0, 0};
    pp_sample_key k1_renamed = {1, 101, str(agg, "Renamed"), f1, 2, 0, 0, 0};

    pp_agg_add(agg, &k1, 1000, 10000);
    pp_agg_add(agg, &k1, 2000, 10000);
    pp_agg_add(agg, &k1, 0, 10000);
    pp_agg_add(agg, &k1_other_thread, 7, 8);
    pp_agg_add(agg, &k2, 5, 6);
    pp_agg_add(agg, &k1_truncated, 1, 1);
    pp_agg_add(agg, &k1_renamed, 1, 1);
    /* The same stack with an extra label (exception type) is a stack of its own. */
    pp_sample_key k1_labelled = k1, k1_other_label = k1;
    k1_labelled.label_key = k1_other_label.label_key = str(agg, "exception type");
    k1_labelled.label_value = str(agg, "builtins.ValueError");
    k1_other_label.label_value = str(agg, "builtins.KeyError");
    int64_t one[PP_V_COUNT] = {[PP_V_EXCEPTION_SAMPLES] = 100};
    pp_agg_add_values(agg, &k1_labelled, one);
    pp_agg_add_values(agg, &k1_labelled, one);
    pp_agg_add_values(agg, &k1_other_label, one);

    seen s = {.n = 0};
    pp_agg_foreach(agg, collect, &s);
    assert_int_equal(s.n, 7);
    assert_string_equal(pp_agg_string(agg, s.stacks[5].key.label_value), "builtins.ValueError");
    assert_int_equal(s.stacks[5].cpu_count, 0);
    assert_string_equal(pp_agg_string(agg, s.stacks[6].key.label_key), "exception type");
    /* Insertion order is kept. */
    assert_int_equal(s.stacks[0].cpu_ns, 3000);
    assert_int_equal(s.stacks[0].cpu_count, 3);
    assert_int_equal(s.stacks[0].wall_ns, 30000);
    assert_int_equal(s.stacks[0].wall_count, 3);
    assert_int_equal(s.stacks[0].key.thread_id, 1);
    assert_int_equal(s.stacks[0].key.native_thread_id, 101);
    assert_string_equal(pp_agg_string(agg, s.stacks[0].key.thread_name), "MainThread");
    assert_int_equal(s.stacks[0].key.n_frames, 2);
    assert_int_equal(s.stacks[0].frames[0].line, 10);
    assert_string_equal(pp_agg_string(agg, s.stacks[0].frames[1].name), "main");
    assert_int_equal(s.stacks[1].key.thread_id, 2);
    assert_int_equal(s.stacks[1].cpu_ns, 7);
    assert_int_equal(s.stacks[2].frames[0].line, 11);
    assert_int_equal(s.stacks[3].key.n_omitted, 5);
    assert_string_equal(pp_agg_string(agg, s.stacks[4].key.thread_name), "Renamed");
    assert_int_equal(pp_agg_dropped_stacks(agg), 0);

    /* The aggregate copied the frames: the caller's buffer may change. */
    f1[0].line = 99;
    s.n = 0;
    pp_agg_foreach(agg, collect, &s);
    assert_int_equal(s.stacks[0].frames[0].line, 10);

    /* A reset empties stacks, keeps strings and their ids. */
    pp_str leaf = f2[0].name;
    pp_agg_reset_stacks(agg);
    s.n = 0;
    pp_agg_foreach(agg, collect, &s);
    assert_int_equal(s.n, 0);
    assert_int_equal(str(agg, "leaf"), leaf);
    assert_int_equal(pp_agg_generation(agg), 0);
    pp_agg_add(agg, &k2, 5, 6);
    s.n = 0;
    pp_agg_foreach(agg, collect, &s);
    assert_int_equal(s.n, 1);
    assert_int_equal(s.stacks[0].cpu_count, 1);
    pp_agg_free(agg);
}

static void test_empty_stack(void **state)
{
    (void)state;
    pp_agg *agg = pp_agg_new(4, 4096);
    pp_sample_key k = {1, 2, 0, NULL, 0, 0, 0, 0};
    pp_agg_add(agg, &k, 1, 2);
    pp_agg_add(agg, &k, 1, 2);
    seen s = {.n = 0};
    pp_agg_foreach(agg, collect, &s);
    assert_int_equal(s.n, 1);
    assert_int_equal(s.stacks[0].cpu_count, 2);
    pp_agg_free(agg);
}

static void test_stack_bound_folds(void **state)
{
    (void)state;
    pp_agg *agg = pp_agg_new(3, 1 << 16);
    pp_frame f = {str(agg, "fn"), str(agg, "x.py"), 0};
    for (int i = 1; i <= 6; i++) {
        f.line = i;
        pp_sample_key k = {1, 1, 0, &f, 1, 0, 0, 0};
        pp_agg_add(agg, &k, 10 * i, 100);
    }
    /* An already known stack still counts as itself when the table is full. */
    f.line = 2;
    pp_sample_key known = {1, 1, 0, &f, 1, 0, 0, 0};
    pp_agg_add(agg, &known, 1, 1);

    seen s = {.n = 0};
    pp_agg_foreach(agg, collect, &s);
    assert_int_equal(s.n, 4);
    assert_int_equal(s.stacks[1].cpu_ns, 21);
    assert_int_equal(s.stacks[1].cpu_count, 2);
    seen_stack *fold = &s.stacks[3];
    assert_int_equal(fold->key.n_frames, 1);
    assert_string_equal(pp_agg_string(agg, fold->frames[0].name), "<stacks dropped>");
    assert_int_equal(fold->key.thread_id, 0);
    assert_int_equal(fold->cpu_ns, 40 + 50 + 60);
    assert_int_equal(fold->cpu_count, 3);
    assert_int_equal(fold->wall_ns, 300);
    assert_int_equal(pp_agg_dropped_stacks(agg), 3);

    pp_agg_reset_stacks(agg);
    s.n = 0;
    pp_agg_foreach(agg, collect, &s);
    assert_int_equal(s.n, 0);
    f.line = 9;
    pp_sample_key k = {1, 1, 0, &f, 1, 0, 0, 0};
    pp_agg_add(agg, &k, 1, 1);
    s.n = 0;
    pp_agg_foreach(agg, collect, &s);
    assert_int_equal(s.n, 1);
    assert_int_equal(pp_agg_dropped_stacks(agg), 3); /* cumulative */
    pp_agg_free(agg);
}

static void test_frame_budget_folds_deep_stacks(void **state)
{
    (void)state;
    /* 2 stacks allowed -> 128 frames stored per interval at most. */
    pp_agg *agg = pp_agg_new(2, 1 << 16);
    static pp_frame deep[100];
    for (int i = 0; i < 100; i++)
        deep[i] = (pp_frame){str(agg, "r"), str(agg, "r.py"), i + 1};
    pp_sample_key a = {1, 1, 0, deep, 100, 0, 0, 0};
    pp_sample_key b = {2, 2, 0, deep, 100, 0, 0, 0};
    pp_agg_add(agg, &a, 1, 1);
    pp_agg_add(agg, &b, 1, 1);
    assert_int_equal(pp_agg_dropped_stacks(agg), 1);
    pp_agg_free(agg);
}

static void test_string_bound_and_generation(void **state)
{
    (void)state;
    pp_agg *agg = pp_agg_new(100, 2048);
    pp_str keep = str(agg, "early");
    char buf[64];
    pp_str last = 0;
    int i;
    for (i = 0; i < 1000; i++) {
        snprintf(buf, sizeof buf, "some_long_function_name_%d", i);
        last = str(agg, buf);
        if (!strcmp(pp_agg_string(agg, last), "<string table full>"))
            break;
    }
    assert_true(i > 5 && i < 1000);
    /* Already interned strings are still found; new ones map to the placeholder, and the
     * generation does not move while stacks may still refer to the old ids. */
    assert_int_equal(str(agg, "early"), keep);
    assert_int_equal(str(agg, "brand_new"), last);
    assert_int_equal(pp_agg_generation(agg), 0);

    pp_frame f = {keep, 0, 1};
    pp_sample_key k = {1, 1, 0, &f, 1, 0, 0, 0};
    pp_agg_add(agg, &k, 1, 1);
    seen s = {.n = 0};
    pp_agg_foreach(agg, collect, &s);
    assert_string_equal(pp_agg_string(agg, s.stacks[0].frames[0].name), "early");

    pp_agg_reset_stacks(agg);
    assert_int_equal(pp_agg_generation(agg), 1);
    pp_str fresh = str(agg, "brand_new");
    assert_string_equal(pp_agg_string(agg, fresh), "brand_new");
    assert_string_equal(pp_agg_string(agg, str(agg, "early")), "early");
    /* A reset with a lightly used table keeps it. */
    pp_agg_reset_stacks(agg);
    assert_int_equal(pp_agg_generation(agg), 1);
    assert_int_equal(str(agg, "brand_new"), fresh);
    pp_agg_free(agg);
}

static void test_steady_state_does_not_allocate(void **state)
{
    (void)state;
    pp_agg *agg = pp_agg_new(1000, 1 << 20);
    pp_frame frames[40];
    char buf[32];
    for (int i = 0; i < 40; i++) {
        snprintf(buf, sizeof buf, "level_%d", i);
        frames[i] = (pp_frame){str(agg, buf), str(agg, "deep.py"), i + 1};
    }
    pp_str names[4] = {str(agg, "t0"), str(agg, "t1"), str(agg, "t2"), str(agg, "t3")};
    /* First interval: learn the stacks (allocation allowed). */
    for (int round = 0; round < 2; round++) {
        long before = allocations;
        for (int n = 0; n < 5000; n++) {
            int t = n % 4;
            frames[0].line = 1 + n % 7;
            pp_sample_key k = {(uint64_t)t, 100 + (uint64_t)t, names[t], frames, 40, 0, 0, 0};
            pp_agg_add(agg, &k, 1000, 10000);
        }
        if (round == 1)
            assert_int_equal(allocations - before, 0);
        pp_agg_reset_stacks(agg);
        /* Interning a known string does not allocate either. */
        before = allocations;
        assert_int_equal(str(agg, "level_3"), frames[3].name);
        assert_int_equal(allocations - before, 0);
    }
    pp_agg_free(agg);
}

typedef struct {
    uint64_t thread_id;
    pp_str to;
} rename_rule;

static pp_str rename_one(void *ctx, uint64_t thread_id, uint64_t native_thread_id, pp_str name)
{
    const rename_rule *r = ctx;
    (void)native_thread_id;
    return thread_id == r->thread_id ? r->to : name;
}

/* Names learnt late replace the fallback of that thread only; the index follows, so a later
 * sample under the new name adds to the renamed stack. */
static void test_rename_threads(void **state)
{
    (void)state;
    pp_agg *agg = pp_agg_new(100, 1 << 16);
    assert_non_null(agg);
    pp_str fallback1 = pp_agg_intern(agg, "Thread-11", 9);
    pp_str fallback2 = pp_agg_intern(agg, "Thread-12", 9);
    pp_str real = pp_agg_intern(agg, "worker", 6);
    pp_frame f = {pp_agg_intern(agg, "fn", 2), pp_agg_intern(agg, "a.py", 4), 3};
    pp_sample_key k1 = {1, 11, fallback1, &f, 1, 0, 0, 0}, k2 = {2, 12, fallback2, &f, 1, 0, 0, 0};
    pp_agg_add(agg, &k1, 5, 10);
    pp_agg_add(agg, &k2, 7, 10);
    rename_rule rule = {1, real};
    pp_agg_rename_threads(agg, rename_one, &rule);
    pp_sample_key k1_named = {1, 11, real, &f, 1, 0, 0, 0};
    pp_agg_add(agg, &k1_named, 1, 10);
    seen got = {0};
    pp_agg_foreach(agg, collect, &got);
    assert_int_equal(got.n, 2);
    for (int i = 0; i < got.n; i++) {
        const seen_stack *e = &got.stacks[i];
        if (e->key.thread_id == 1) {
            assert_int_equal(e->key.thread_name, real);
            assert_int_equal(e->cpu_ns, 6);
            assert_int_equal(e->cpu_count, 2);
        } else {
            assert_int_equal(e->key.thread_name, fallback2);
            assert_int_equal(e->cpu_ns, 7);
        }
    }
    pp_agg_free(agg);
}

static void test_bad_limits(void **state)
{
    (void)state;
    assert_null(pp_agg_new(0, 1024));
    pp_agg_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_interning),
        cmocka_unit_test(test_stacks_sum_and_identity),
        cmocka_unit_test(test_empty_stack),
        cmocka_unit_test(test_stack_bound_folds),
        cmocka_unit_test(test_frame_budget_folds_deep_stacks),
        cmocka_unit_test(test_string_bound_and_generation),
        cmocka_unit_test(test_steady_state_does_not_allocate),
        cmocka_unit_test(test_rename_threads),
        cmocka_unit_test(test_bad_limits),
        cmocka_unit_test(test_strings_are_valid_utf8),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
