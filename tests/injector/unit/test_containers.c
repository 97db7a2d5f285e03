/* Container selection: known sidecars skipped, the containers annotation wins, typos reported,
 * our own containers never selected. */
#include "containers.h"
#include "fixtures.h"
#include "pod_json.h"

static const char *const pod_text =
    "{\"metadata\":{\"annotations\":{%s}},\"spec\":{\"containers\":["
    "{\"name\":\"app\"},{\"name\":\"istio-proxy\"},{\"name\":\"worker\"},"
    "{\"name\":\"linkerd-proxy\"},{\"name\":\"podprof-exporter\"}]}}";

static size_t select_with(const char *annotations, bool *sel, char *unknown, size_t n)
{
    char text[1024];
    snprintf(text, sizeof text, pod_text, annotations);
    cJSON *pod = json(text);
    inj_config cfg = default_config();
    size_t count = inj_select_containers(pod, &cfg, sel, unknown, n);
    inj_config_free(&cfg);
    cJSON_Delete(pod);
    return count;
}

static void test_default_skips_sidecars(void **state)
{
    (void)state;
    bool sel[5];
    char unknown[64];
    assert_int_equal(select_with("", sel, unknown, sizeof unknown), 2);
    assert_true(sel[0]);
    assert_false(sel[1]);
    assert_true(sel[2]);
    assert_false(sel[3]);
    assert_false(sel[4]);
    assert_string_equal(unknown, "");
}

static void test_annotation_selects(void **state)
{
    (void)state;
    bool sel[5];
    char unknown[64];
    assert_int_equal(select_with("\"profiling.datadoghq.com/containers\":\" worker ,istio-proxy,"
                                 "ghost,podprof-exporter\"",
                                 sel, unknown, sizeof unknown),
                     2);
    assert_false(sel[0]);
    assert_true(sel[1]); /* named explicitly: honoured */
    assert_true(sel[2]);
    assert_false(sel[4]); /* never ours */
    assert_string_equal(unknown, "ghost");
}

static void test_annotation_matches_whole_names(void **state)
{
    (void)state;
    bool sel[5];
    char unknown[64];
    assert_int_equal(select_with("\"profiling.datadoghq.com/containers\":\"ap,work\"", sel, unknown,
                                 sizeof unknown),
                     0);
    assert_string_equal(unknown, "ap,work");
}

static void test_find_by_name(void **state)
{
    (void)state;
    cJSON *list = json("[{\"name\":\"a\"},{\"x\":1},{\"name\":\"b\"}]");
    int idx = -1;
    assert_non_null(inj_find_by_name(list, "b", &idx));
    assert_int_equal(idx, 2);
    assert_null(inj_find_by_name(list, "c", NULL));
    assert_null(inj_find_by_name(NULL, "a", NULL));
    cJSON_Delete(list);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_skips_sidecars),
        cmocka_unit_test(test_annotation_selects),
        cmocka_unit_test(test_annotation_matches_whole_names),
        cmocka_unit_test(test_find_by_name),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
