/* Fail-open in code: a review whose memory runs out while it is answered is admitted unchanged
 * with a warning, never refused, whatever the webhook's failurePolicy. The request's memory bound
 * is lowered step by step until answering fails where parsing did not. */
#include "admission.h"
#include "arena.h"
#include "fixtures.h"

/* An opted-in pod with enough env entries that parsing it takes several chunks of the arena. */
static char *review_text(size_t *len)
{
    size_t cap = 1u << 20, n = 0;
    char *t = malloc(cap);
    assert_non_null(t);
    n += (size_t)snprintf(
        t + n, cap - n,
        "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":{"
        "\"uid\":\"0f6c1c1e-7a0b-4c55-9d1e-2c3d4e5f6a7b\",\"kind\":{\"group\":\"\","
        "\"version\":\"v1\",\"kind\":\"Pod\"},\"operation\":\"CREATE\",\"namespace\":"
        "\"apps\",\"object\":{\"metadata\":{\"name\":\"web\",\"annotations\":{"
        "\"profiling.datadoghq.com/enabled\":\"true\"}},\"spec\":{\"containers\":[{"
        "\"name\":\"app\",\"image\":\"python:3.12\",\"env\":[");
    for (int i = 0; i < 4000; i++)
        n += (size_t)snprintf(t + n, cap - n, "%s{\"name\":\"VAR_%d\",\"value\":\"%d\"}",
                              i ? "," : "", i, i);
    n += (size_t)snprintf(t + n, cap - n, "]}]}}}}");
    assert_true(n < cap);
    *len = n;
    return t;
}

/* Answers the review as the server does with the request memory bounded at limit. Returns the
 * status of the first answer; *after is the status after fail-open, *body the final body. */
static int answer(const inj_config *cfg, const char *text, size_t len, size_t limit, int *after,
                  char **body)
{
    inj_arena_set_limit(limit);
    inj_arena_begin();
    inj_review r;
    inj_review_handle_body(cfg, text, len, 1, &r);
    int first = r.status;
    if (r.status == 500) {
        inj_review_free(&r);
        inj_arena_end();
        r.status = 500;
        inj_review_fail_open(&r);
    }
    *after = r.status;
    *body = r.body ? strdup(r.body) : NULL;
    inj_review_free(&r);
    inj_arena_end();
    return first;
}

static void test_out_of_memory_admits_unchanged(void **state)
{
    (void)state;
    inj_config cfg = default_config();
    size_t len = 0;
    char *text = review_text(&len);
    int after = 0;
    char *body = NULL;
    assert_int_equal(answer(&cfg, text, len, 64u << 20, &after, &body), 200);
    assert_non_null(strstr(body, "\"patch\""));
    free(body);
    /* The least bound that parses the review leaves nothing to answer with. */
    size_t lo = 256u << 10, hi = 64u << 20;
    assert_int_equal(answer(&cfg, text, len, lo, &after, &body), 400);
    free(body);
    while (hi - lo > 16) {
        size_t mid = lo + (hi - lo) / 2;
        if (answer(&cfg, text, len, mid, &after, &body) == 400)
            lo = mid;
        else
            hi = mid;
        free(body);
    }
    assert_int_equal(answer(&cfg, text, len, hi, &after, &body), 500);
    assert_int_equal(after, 200);
    cJSON *doc = json(body);
    const cJSON *resp = cJSON_GetObjectItemCaseSensitive(doc, "response");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(resp, "allowed")));
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(resp, "uid")->valuestring,
                        "0f6c1c1e-7a0b-4c55-9d1e-2c3d4e5f6a7b");
    assert_null(cJSON_GetObjectItemCaseSensitive(resp, "patch"));
    const cJSON *w = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(resp, "warnings"), 0);
    assert_non_null(strstr(w->valuestring, "internal error"));
    cJSON_Delete(doc);
    free(body);
    free(text);
    inj_arena_release();
    inj_config_free(&cfg);
}

int main(void)
{
    inj_arena_install();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_out_of_memory_admits_unchanged),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
