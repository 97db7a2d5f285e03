/* Opt-in decisions: namespace mode from the path, pod annotation true/false, protected
 * namespaces, mirror pods. */
#include "fixtures.h"
#include "optin.h"

static cJSON *pod_with(const char *annotations)
{
    char text[512];
    snprintf(text, sizeof text, "{\"metadata\":{\"annotations\":%s},\"spec\":{}}", annotations);
    return json(text);
}

static void test_mode_from_path(void **state)
{
    (void)state;
    assert_int_equal(inj_ns_mode_from_path("/mutate"), INJ_NS_ANNOTATED);
    assert_int_equal(inj_ns_mode_from_path("/mutate/annotated"), INJ_NS_ANNOTATED);
    assert_int_equal(inj_ns_mode_from_path("/mutate/all"), INJ_NS_ALL);
    assert_int_equal(inj_ns_mode_from_path("/mutate/al"), -1);
    assert_int_equal(inj_ns_mode_from_path("/mutate/all/"), -1);
    assert_int_equal(inj_ns_mode_from_name("all"), INJ_NS_ALL);
    assert_int_equal(inj_ns_mode_from_name("true"), -1);
}

static void test_annotated_mode(void **state)
{
    (void)state;
    cJSON *yes = pod_with("{\"profiling.datadoghq.com/enabled\":\"true\"}");
    cJSON *no = pod_with("{\"profiling.datadoghq.com/enabled\":\"false\"}");
    cJSON *none = pod_with("{}");
    cJSON *bad = pod_with("{\"profiling.datadoghq.com/enabled\":\"yes\"}");
    assert_true(inj_optin_decide(yes, "apps", INJ_NS_ANNOTATED, "podprof").inject);
    assert_false(inj_optin_decide(no, "apps", INJ_NS_ANNOTATED, "podprof").inject);
    assert_false(inj_optin_decide(none, "apps", INJ_NS_ANNOTATED, "podprof").inject);
    inj_optin r = inj_optin_decide(bad, "apps", INJ_NS_ANNOTATED, "podprof");
    assert_false(r.inject);
    assert_true(r.bad_value);
    cJSON_Delete(yes), cJSON_Delete(no), cJSON_Delete(none), cJSON_Delete(bad);
}

static void test_all_mode(void **state)
{
    (void)state;
    cJSON *no = pod_with("{\"profiling.datadoghq.com/enabled\":\"false\"}");
    cJSON *none = pod_with("{}");
    cJSON *bare = json("{\"spec\":{}}");
    assert_false(inj_optin_decide(no, "apps", INJ_NS_ALL, "").inject);
    assert_true(inj_optin_decide(none, "apps", INJ_NS_ALL, "").inject);
    assert_true(inj_optin_decide(bare, "apps", INJ_NS_ALL, NULL).inject);
    cJSON_Delete(no), cJSON_Delete(none), cJSON_Delete(bare);
}

static void test_protected_namespaces(void **state)
{
    (void)state;
    cJSON *yes = pod_with("{\"profiling.datadoghq.com/enabled\":\"true\"}");
    cJSON *mirror = pod_with("{\"profiling.datadoghq.com/enabled\":\"true\","
                             "\"kubernetes.io/config.mirror\":\"abc\"}");
    assert_false(inj_optin_decide(yes, "kube-system", INJ_NS_ALL, "podprof").inject);
    assert_false(inj_optin_decide(yes, "podprof", INJ_NS_ALL, "podprof").inject);
    assert_false(inj_optin_decide(yes, "", INJ_NS_ALL, "podprof").inject);
    assert_false(inj_optin_decide(yes, NULL, INJ_NS_ALL, "podprof").inject);
    assert_false(inj_optin_decide(mirror, "apps", INJ_NS_ALL, "podprof").inject);
    assert_true(inj_optin_decide(yes, "podprof-apps", INJ_NS_ALL, "podprof").inject);
    cJSON_Delete(yes), cJSON_Delete(mirror);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mode_from_path),
        cmocka_unit_test(test_annotated_mode),
        cmocka_unit_test(test_all_mode),
        cmocka_unit_test(test_protected_namespaces),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
