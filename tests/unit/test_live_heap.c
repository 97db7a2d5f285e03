/* The live-allocation table: a bucket's count of claimed slots, which every free reads before it
 * looks, is exact, so a free never misses a tracked block, whatever other threads insert and
 * remove in the same bucket at the same time, and it falls to 0 with the bucket's last block. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "live_heap.h"

static int tracked(const pp_live_heap *h, uintptr_t ptr)
{
    for (size_t i = 0; i < pp_live_heap_slots(h); i++)
        if (pp_live_heap_key(h, i) == ptr)
            return 1;
    return 0;
}

static unsigned held(pp_live_heap *h, size_t b)
{
    return atomic_load(&h->held[b]);
}

/* A block address (8-aligned, from start on) whose bucket is want. */
static uintptr_t in_bucket(const pp_live_heap *h, size_t want, uintptr_t start)
{
    for (uintptr_t p = start;; p += 8)
        if (pp_live_heap_bucket(h, p) == want)
            return p;
}

static void heap_free(pp_live_heap *h)
{
    free((void *)h->keys);
    free(h->entries);
    free((void *)h->held);
    free(h);
}

static void test_counts_follow_inserts_and_removes(void **state)
{
    (void)state;
    pp_live_heap *h = pp_live_heap_new(1024);
    assert_non_null(h);
    uintptr_t a = 0x20000;
    size_t b = pp_live_heap_bucket(h, a);
    uintptr_t c = in_bucket(h, b, a + 8);
    assert_int_equal(held(h, b), 0);
    pp_live_heap_remove(h, a); /* untracked: nothing happens */
    assert_true(pp_live_heap_insert(h, a, 100, 1) >= 0);
    assert_true(pp_live_heap_insert(h, c, 100, 2) >= 0);
    assert_int_equal(held(h, b), 2);
    pp_live_heap_remove(h, c);
    assert_int_equal(held(h, b), 1);
    assert_false(tracked(h, c));
    pp_live_heap_remove(h, a);
    assert_int_equal(held(h, b), 0); /* the last block gone: frees there skip the table again */
    assert_false(tracked(h, a));
    /* a full bucket drops and counts */
    uintptr_t p = a;
    for (int i = 0; i < PP_HEAP_BUCKET_SLOTS; i++, p += 8) {
        p = in_bucket(h, b, p);
        assert_true(pp_live_heap_insert(h, p, 1, 10 + (uint64_t)i) >= 0);
    }
    assert_int_equal(held(h, b), PP_HEAP_BUCKET_SLOTS);
    assert_int_equal(pp_live_heap_insert(h, in_bucket(h, b, p), 1, 99), -1);
    assert_int_equal(atomic_load(&h->dropped), 1);
    heap_free(h);
}

typedef struct churner {
    pp_live_heap *h;
    uintptr_t ptr;
    long rounds, missed;
} churner;

static void *churn(void *arg)
{
    churner *c = arg;
    size_t b = pp_live_heap_bucket(c->h, c->ptr);
    for (long i = 0; i < c->rounds; i++) {
        assert_true(pp_live_heap_insert(c->h, c->ptr, 100, (uint64_t)i) >= 0);
        pp_live_heap_remove(c->h, c->ptr);
        if (tracked(c->h, c->ptr)) {
            c->missed++;
            pp_live_heap_remove_slow(c->h, c->ptr, b); /* make room for the next round */
        }
    }
    return NULL;
}

/* Three threads each track and free a block of the same bucket 100,000 times, so the bucket
 * empties and fills again all the time: not one free may be missed, and the count ends at 0.
 * (The "may hold" bit this count replaced, cleared by a tidy pass that looked at the bucket after
 * clearing, missed 14 to 121 of 200,000 frees racing with that pass.) */
static void test_frees_racing_in_one_bucket_are_never_missed(void **state)
{
    (void)state;
    pp_live_heap *h = pp_live_heap_new(512);
    assert_non_null(h);
    churner c[3];
    pthread_t t[3];
    uintptr_t p = 0x20000;
    size_t b = pp_live_heap_bucket(h, p);
    for (int i = 0; i < 3; i++, p += 8) {
        p = in_bucket(h, b, p);
        c[i] = (churner){.h = h, .ptr = p, .rounds = 100000};
        assert_int_equal(pthread_create(&t[i], NULL, churn, &c[i]), 0);
    }
    for (int i = 0; i < 3; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(c[i].missed, 0);
    }
    assert_int_equal(held(h, b), 0);
    heap_free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counts_follow_inserts_and_removes),
        cmocka_unit_test(test_frees_racing_in_one_bucket_are_never_missed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
