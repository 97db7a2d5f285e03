/* Container selection: known sidecars skipped, the containers annotation wins, typos reported,
 * our own containers never selected. */
#include "containers.h"
#include "fixtures.h"
#include "mutation.h"
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

/* A container whose own env turns profiling off is not profiled; when that leaves none, the pod
 * is skipped with a reason instead of getting an init container and a sidecar for nothing. */
static inj_mutation mutate_text(const char *text)
{
    cJSON *pod = json(text);
    inj_config cfg = default_config();
    inj_pod_ctx ctx = {"apps", 0, "", NULL};
    inj_mutation m;
    inj_mutate_pod(&cfg, pod, &ctx, &m);
    inj_config_free(&cfg);
    cJSON_Delete(pod);
    return m;
}

static void test_disabled_by_env(void **state)
{
    (void)state;
    const char *one_off =
        "{\"metadata\":{\"annotations\":{\"profiling.datadoghq.com/enabled\":\"true\"}},"
        "\"spec\":{\"containers\":[{\"name\":\"app\",\"env\":[{\"name\":"
        "\"DD_PROFILING_ENABLED\",\"value\":\"true\"},{\"name\":\"DD_PROFILING_ENABLED\","
        "\"value\":\"False\"}]},{\"name\":\"worker\"}]}}";
    inj_mutation m = mutate_text(one_off);
    assert_int_equal(m.outcome, INJ_INJECTED);
    assert_string_equal(m.detail, "1 container profiled");
    assert_non_null(op_at(m.patch, "/spec/containers/1/env"));
    assert_null(op_at(m.patch, "/spec/containers/0/env/-"));
    assert_int_equal(m.n_warnings, 1);
    assert_non_null(strstr(m.warnings[0], "app sets DD_PROFILING_ENABLED=false"));
    inj_mutation_free(&m);

    const char *all_off =
        "{\"metadata\":{\"annotations\":{\"profiling.datadoghq.com/enabled\":\"true\"}},"
        "\"spec\":{\"containers\":[{\"name\":\"app\",\"env\":[{\"name\":"
        "\"DD_PROFILING_ENABLED\",\"value\":\"false\"}]}]}}";
    m = mutate_text(all_off);
    assert_int_equal(m.outcome, INJ_SKIPPED);
    assert_int_equal(m.reason, INJ_SKIP_DISABLED_BY_ENV);
    assert_string_equal(inj_skip_reason_name(m.reason), "disabled_by_env");
    assert_null(op_at(m.patch, "/spec/initContainers"));
    inj_mutation_free(&m);

    /* the last entry is the one the kubelet uses: false then true is profiled */
    const char *back_on =
        "{\"metadata\":{\"annotations\":{\"profiling.datadoghq.com/enabled\":\"true\"}},"
        "\"spec\":{\"containers\":[{\"name\":\"app\",\"env\":[{\"name\":"
        "\"DD_PROFILING_ENABLED\",\"value\":\"false\"},{\"name\":\"DD_PROFILING_ENABLED\","
        "\"value\":\"true\"}]}]}}";
    m = mutate_text(back_on);
    assert_int_equal(m.outcome, INJ_INJECTED);
    inj_mutation_free(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_skips_sidecars),
        cmocka_unit_test(test_annotation_selects),
        cmocka_unit_test(test_annotation_matches_whole_names),
        cmocka_unit_test(test_find_by_name),
        cmocka_unit_test(test_disabled_by_env),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
