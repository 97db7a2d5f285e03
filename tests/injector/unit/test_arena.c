/* The per-request arena behind cJSON: allocations during a request come from it and go away at
 * once; memory from before the request is still freed normally; the cap turns into a failure. */
#include "arena.h"
#include "fixtures.h"

static void test_request_scope(void **state)
{
    (void)state;
    cJSON *before = cJSON_CreateString("allocated with malloc"); /* outside any request */
    inj_arena_begin();
    cJSON *doc = cJSON_Parse("{\"a\":[1,2,3],\"b\":{\"c\":\"d\"}}");
    assert_non_null(doc);
    assert_true(inj_arena_used() > 0);
    char *text = cJSON_PrintUnformatted(doc);
    assert_string_equal(text, "{\"a\":[1,2,3],\"b\":{\"c\":\"d\"}}");
    cJSON_free(text);
    cJSON_Delete(doc);
    cJSON_Delete(before); /* a malloc'd object freed while the arena is active */
    inj_arena_end();
    assert_int_equal(inj_arena_used(), 0);
}

static void test_grows_and_caps(void **state)
{
    (void)state;
    inj_arena_begin();
    /* Larger than the first chunk: a new one is chained. */
    void *big = cJSON_malloc(1u << 20);
    assert_non_null(big);
    memset(big, 1, 1u << 20);
    assert_false(inj_arena_exhausted());
    assert_null(cJSON_malloc(INJ_ARENA_MAX_BYTES));
    assert_true(inj_arena_exhausted());
    inj_arena_end();
    inj_arena_begin();
    assert_false(inj_arena_exhausted());
    inj_arena_end();
    inj_arena_release();
}

/* Many mid-sized allocations until the bound: the chunks malloc'ed stay within it (doubling used
 * to take a 64 MiB chunk at 63.75 MiB held, 128 MiB in all for a 96 MiB bound). */
static void test_bound_is_on_memory_held(void **state)
{
    (void)state;
    inj_arena_begin();
    size_t handed = 0;
    while (cJSON_malloc(1u << 20))
        handed += 1u << 20;
    assert_true(inj_arena_exhausted());
    assert_true(inj_arena_reserved() <= INJ_ARENA_MAX_BYTES);
    assert_true(handed >= INJ_ARENA_MAX_BYTES - (2u << 20)); /* and nearly all of it is usable */
    inj_arena_end();
}

int main(void)
{
    inj_arena_install();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_request_scope),
        cmocka_unit_test(test_grows_and_caps),
        cmocka_unit_test(test_bound_is_on_memory_held),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
