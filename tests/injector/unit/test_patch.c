/* Patch building: pointer escaping, append vs create, annotations, and the whole mutation's
 * operations (idempotency, skips, exact shape). */
#include "fixtures.h"
#include "mutation.h"
#include "optin.h"
#include "patch.h"

static void test_pointer_escape(void **state)
{
    (void)state;
    char out[64];
    assert_int_equal(inj_pointer_escape("profiling.datadoghq.com/injected", out, sizeof out), 0);
    assert_string_equal(out, "profiling.datadoghq.com~1injected");
    assert_int_equal(inj_pointer_escape("a~b/c", out, sizeof out), 0);
    assert_string_equal(out, "a~0b~1c");
    assert_int_equal(inj_pointer_escape("0123456789", out, 10), -1);
}

static void test_append_or_create(void **state)
{
    (void)state;
    cJSON *with = json("{\"volumes\":[{\"name\":\"a\"}]}");
    cJSON *without = json("{}");
    inj_patch p;
    inj_patch_init(&p);
    inj_patch_append_all(&p, with, "/spec", "volumes", json("[{\"name\":\"x\"},{\"name\":\"y\"}]"));
    assert_int_equal(cJSON_GetArraySize(p.ops), 2);
    assert_int_equal(count_ops(p.ops, "/spec/volumes/-"), 2);
    inj_patch_append_all(&p, without, "/spec", "volumes", json("[{\"name\":\"x\"}]"));
    const cJSON *create = op_at(p.ops, "/spec/volumes");
    assert_non_null(create);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(create, "value")), 1);
    inj_patch_append_all(&p, without, "/spec", "volumes", json("[]"));
    assert_int_equal(cJSON_GetArraySize(p.ops), 3);
    inj_patch_free(&p);
    cJSON_Delete(with), cJSON_Delete(without);
}

static void test_set_in_map(void **state)
{
    (void)state;
    cJSON *meta = json("{\"annotations\":{\"a\":\"b\"}}");
    cJSON *bare = json("{}");
    inj_patch p;
    inj_patch_init(&p);
    inj_patch_set_in_map(&p, meta, "/metadata", "annotations", "k/x", "v");
    inj_patch_set_in_map(&p, bare, "/metadata", "annotations", "k/x", "v");
    assert_non_null(op_at(p.ops, "/metadata/annotations/k~1x"));
    const cJSON *o = op_at(p.ops, "/metadata/annotations");
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(o, "value"), "k/x")->valuestring,
                        "v");
    inj_patch_free(&p);
    cJSON_Delete(meta), cJSON_Delete(bare);
}

static void test_apply_rejects_bad_paths(void **state)
{
    (void)state;
    char err[128];
    cJSON *doc = json("{\"a\":[1,2]}");
    cJSON *bad1 = json("[{\"op\":\"add\",\"path\":\"/a/5\",\"value\":1}]");
    cJSON *bad2 = json("[{\"op\":\"remove\",\"path\":\"/a/0\"}]");
    cJSON *bad3 = json("[{\"op\":\"replace\",\"path\":\"/b\",\"value\":1}]");
    cJSON *good = json("[{\"op\":\"add\",\"path\":\"/a/1\",\"value\":9},"
                       "{\"op\":\"add\",\"path\":\"/a/-\",\"value\":7}]");
    assert_int_equal(inj_patch_apply(doc, bad1, err, sizeof err), -1);
    assert_int_equal(inj_patch_apply(doc, bad2, err, sizeof err), -1);
    assert_int_equal(inj_patch_apply(doc, bad3, err, sizeof err), -1);
    assert_int_equal(inj_patch_apply(doc, good, err, sizeof err), 0);
    char *s = cJSON_PrintUnformatted(doc);
    assert_string_equal(s, "{\"a\":[1,9,2,7]}");
    free(s);
    cJSON_Delete(doc), cJSON_Delete(bad1), cJSON_Delete(bad2), cJSON_Delete(bad3);
    cJSON_Delete(good);
}

static inj_mutation mutate(const char *pod_text, int mode)
{
    cJSON *pod = json(pod_text);
    inj_config cfg = default_config();
    inj_pod_ctx ctx = {"apps", mode, "", NULL};
    inj_mutation m;
    assert_int_equal(inj_mutate_pod(&cfg, pod, &ctx, &m), 0);
    inj_config_free(&cfg);
    cJSON_Delete(pod);
    return m;
}

#define ENABLED "\"annotations\":{\"profiling.datadoghq.com/enabled\":\"true\"}"

static void test_mutation_ops(void **state)
{
    (void)state;
    inj_mutation m = mutate("{\"metadata\":{" ENABLED "},\"spec\":{\"initContainers\":[{\"name\":"
                            "\"i\"}],\"containers\":[{\"name\":\"app\"}]}}",
                            INJ_NS_ANNOTATED);
    assert_int_equal(m.outcome, INJ_INJECTED);
    const char *const paths[] = {
        "/spec/volumes",          "/spec/initContainers/0",
        "/spec/initContainers/1", "/spec/containers/0/volumeMounts",
        "/spec/containers/0/env", "/metadata/annotations/profiling.datadoghq.com~1injected"};
    assert_int_equal(cJSON_GetArraySize(m.patch), 6);
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        const cJSON *o = cJSON_GetArrayItem(m.patch, (int)i);
        assert_string_equal(cJSON_GetObjectItem(o, "path")->valuestring, paths[i]);
        assert_string_equal(cJSON_GetObjectItem(o, "op")->valuestring, "add");
    }
    inj_mutation_free(&m);
}

static void test_mutation_outcomes(void **state)
{
    (void)state;
    inj_mutation m = mutate("{\"metadata\":{" ENABLED "},\"spec\":{\"initContainers\":[{\"name\":"
                            "\"podprof-init\"}],\"containers\":[{\"name\":\"app\"}]}}",
                            INJ_NS_ANNOTATED);
    assert_int_equal(m.outcome, INJ_ALREADY_INJECTED);
    assert_null(m.patch);
    m = mutate("{\"metadata\":{},\"spec\":{\"containers\":[{\"name\":\"app\"}]}}",
               INJ_NS_ANNOTATED);
    assert_int_equal(m.outcome, INJ_NOT_OPTED_IN);
    assert_null(m.patch);
    m = mutate("{\"metadata\":{" ENABLED
               "},\"spec\":{\"containers\":[{\"name\":\"istio-proxy\"}]}}",
               INJ_NS_ANNOTATED);
    assert_int_equal(m.outcome, INJ_SKIPPED);
    assert_int_equal(m.reason, INJ_SKIP_NO_CONTAINER);
    assert_int_equal(cJSON_GetArraySize(m.patch), 1);
    assert_non_null(op_at(m.patch, "/metadata/annotations/profiling.datadoghq.com~1skipped"));
    inj_mutation_free(&m);
    m = mutate(
        "{\"spec\":{\"volumes\":[{\"name\":\"podprof\"}],\"containers\":[{\"name\":\"a\"}]}}",
        INJ_NS_ALL);
    assert_int_equal(m.reason, INJ_SKIP_VOLUME_CONFLICT);
    assert_non_null(op_at(m.patch, "/metadata")); /* no metadata at all: created */
    inj_mutation_free(&m);
    m = mutate("{\"metadata\":{},\"spec\":{\"containers\":[{\"name\":\"a\",\"volumeMounts\":"
               "[{\"name\":\"x\",\"mountPath\":\"/opt/podprof\"}]}]}}",
               INJ_NS_ALL);
    assert_int_equal(m.reason, INJ_SKIP_MOUNT_CONFLICT);
    inj_mutation_free(&m);
    m = mutate("{\"metadata\":{},\"spec\":{}}", INJ_NS_ALL);
    assert_int_equal(m.outcome, INJ_IGNORED);
    inj_mutation_free(&m);
}

/* Pods the webhook must decline rather than break: one of our names already taken (the API
 * server would reject the pod for a duplicate), or a Windows pod (Linux containers cannot start
 * there). Each gets the skipped annotation. */
static void test_pods_that_must_not_be_touched(void **state)
{
    (void)state;
    static const struct {
        const char *spec;
        int reason;
    } cases[] = {
        {"{\"containers\":[{\"name\":\"app\"},{\"name\":\"podprof-exporter\"}]}",
         INJ_SKIP_CONTAINER_CONFLICT},
        /* (a container named podprof-init reads as already injected: left untouched) */
        {"{\"initContainers\":[{\"name\":\"podprof-exporter\"}],\"containers\":[{\"name\":"
         "\"app\"}]}",
         INJ_SKIP_CONTAINER_CONFLICT},
        {"{\"os\":{\"name\":\"windows\"},\"containers\":[{\"name\":\"app\"}]}", INJ_SKIP_NOT_LINUX},
        {"{\"nodeSelector\":{\"kubernetes.io/os\":\"windows\"},\"containers\":[{\"name\":"
         "\"app\"}]}",
         INJ_SKIP_NOT_LINUX},
        {"{\"affinity\":{\"nodeAffinity\":{\"requiredDuringSchedulingIgnoredDuringExecution\":"
         "{\"nodeSelectorTerms\":[{\"matchExpressions\":[{\"key\":\"kubernetes.io/os\","
         "\"operator\":\"In\",\"values\":[\"windows\"]}]}]}}},\"containers\":[{\"name\":"
         "\"app\"}]}",
         INJ_SKIP_NOT_LINUX},
        /* Linux or Windows: it may land on Linux, so it is profiled */
        {"{\"affinity\":{\"nodeAffinity\":{\"requiredDuringSchedulingIgnoredDuringExecution\":"
         "{\"nodeSelectorTerms\":[{\"matchExpressions\":[{\"key\":\"kubernetes.io/os\","
         "\"operator\":\"In\",\"values\":[\"linux\",\"windows\"]}]}]}}},\"containers\":[{"
         "\"name\":\"app\"}]}",
         INJ_SKIP_NONE},
        {"{\"os\":{\"name\":\"linux\"},\"containers\":[{\"name\":\"app\"}]}", INJ_SKIP_NONE},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char pod[2048];
        snprintf(pod, sizeof pod, "{\"metadata\":{" ENABLED "},\"spec\":%s}", cases[i].spec);
        inj_mutation m = mutate(pod, INJ_NS_ANNOTATED);
        if (cases[i].reason == INJ_SKIP_NONE) {
            assert_int_equal(m.outcome, INJ_INJECTED);
        } else {
            assert_int_equal(m.outcome, INJ_SKIPPED);
            assert_int_equal(m.reason, cases[i].reason);
            assert_int_equal(cJSON_GetArraySize(m.patch), 1);
            assert_non_null(
                op_at(m.patch, "/metadata/annotations/profiling.datadoghq.com~1skipped"));
        }
        inj_mutation_free(&m);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pointer_escape),
        cmocka_unit_test(test_append_or_create),
        cmocka_unit_test(test_set_in_map),
        cmocka_unit_test(test_apply_rejects_bad_paths),
        cmocka_unit_test(test_mutation_ops),
        cmocka_unit_test(test_mutation_outcomes),
        cmocka_unit_test(test_pods_that_must_not_be_touched),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
