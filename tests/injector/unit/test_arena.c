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

int main(void)
{
    inj_arena_install();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_request_scope),
        cmocka_unit_test(test_grows_and_caps),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
