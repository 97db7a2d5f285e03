/* Env merge of an application container: nothing the user set is overridden, LD_PRELOAD is
 * prepended to a literal, duplicates are never added, the service name falls back to the owner. */
#include "app_env.h"
#include "fixtures.h"
#include "patch.h"
#include "service_name.h"

static cJSON *merge(const char *pod_text, const char *service)
{
    cJSON *pod = json(pod_text);
    inj_config cfg = default_config();
    cJSON *container =
        cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(
                               cJSON_GetObjectItemCaseSensitive(pod, "spec"), "containers"),
                           0);
    inj_patch p;
    assert_int_equal(inj_patch_init(&p), 0);
    inj_app_env_patch(&p, container, "/spec/containers/0",
                      inj_app_env_wanted(pod, &cfg, "app", service));
    assert_int_equal(inj_patch_apply(pod, p.ops, (char[128]){0}, 128), 0);
    inj_patch_free(&p);
    inj_config_free(&cfg);
    return pod;
}

static const char *env(const cJSON *pod, const char *name)
{
    const cJSON *c =
        cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(
                               cJSON_GetObjectItemCaseSensitive(pod, "spec"), "containers"),
                           0);
    const cJSON *e;
    const char *found = NULL;
    int count = 0;
    cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(c, "env"))
    {
        if (!strcmp(cJSON_GetObjectItemCaseSensitive(e, "name")->valuestring, name)) {
            const cJSON *v = cJSON_GetObjectItemCaseSensitive(e, "value");
            found = cJSON_IsString(v) ? v->valuestring : "<valueFrom>";
            count++;
        }
    }
    assert_true(count <= 1);
    return found;
}

static void test_absent_env_created(void **state)
{
    (void)state;
    cJSON *pod = merge("{\"spec\":{\"containers\":[{\"name\":\"app\"}]}}", "svc");
    assert_string_equal(env(pod, "LD_PRELOAD"), "/opt/podprof/libpodprof.so");
    assert_string_equal(env(pod, "DD_PROFILING_ENABLED"), "true");
    assert_string_equal(env(pod, "DD_PROFILING_OUTPUT_PPROF"), "/var/run/podprof/profile");
    assert_string_equal(env(pod, "DD_PROFILING_K8S_CONTAINER"), "app");
    assert_string_equal(env(pod, "DD_SERVICE"), "svc");
    assert_null(env(pod, "DD_ENV"));
    cJSON_Delete(pod);
}

static void test_user_env_wins(void **state)
{
    (void)state;
    cJSON *pod = merge("{\"spec\":{\"containers\":[{\"name\":\"app\",\"env\":["
                       "{\"name\":\"DD_SERVICE\",\"value\":\"mine\"},"
                       "{\"name\":\"DD_PROFILING_ENABLED\",\"value\":\"false\"},"
                       "{\"name\":\"LD_PRELOAD\",\"value\":\"/lib/a.so:/lib/b.so\"}]}]}}",
                       "svc");
    assert_string_equal(env(pod, "DD_SERVICE"), "mine");
    assert_string_equal(env(pod, "DD_PROFILING_ENABLED"), "false");
    assert_string_equal(env(pod, "LD_PRELOAD"), "/opt/podprof/libpodprof.so:/lib/a.so:/lib/b.so");
    cJSON_Delete(pod);
}

static void test_ld_preload_edge_cases(void **state)
{
    (void)state;
    cJSON *pod = merge("{\"spec\":{\"containers\":[{\"name\":\"app\",\"env\":["
                       "{\"name\":\"LD_PRELOAD\"}]}]}}",
                       NULL);
    assert_string_equal(env(pod, "LD_PRELOAD"), "/opt/podprof/libpodprof.so");
    cJSON_Delete(pod);
    pod = merge("{\"spec\":{\"containers\":[{\"name\":\"app\",\"env\":["
                "{\"name\":\"LD_PRELOAD\",\"value\":\"/x.so:/opt/podprof/libpodprof.so\"}]}]}}",
                NULL);
    assert_string_equal(env(pod, "LD_PRELOAD"), "/x.so:/opt/podprof/libpodprof.so");
    cJSON_Delete(pod);
    cJSON *c = json("{\"env\":[{\"name\":\"LD_PRELOAD\",\"valueFrom\":{\"secretKeyRef\":{}}}]}");
    assert_true(inj_ld_preload_from_ref(c));
    cJSON_Delete(c);
}

static void test_labels_become_field_refs(void **state)
{
    (void)state;
    cJSON *pod = merge("{\"metadata\":{\"labels\":{\"tags.datadoghq.com/service\":\"s\","
                       "\"tags.datadoghq.com/env\":\"e\",\"tags.datadoghq.com/version\":\"v\"}},"
                       "\"spec\":{\"containers\":[{\"name\":\"app\",\"env\":[]}]}}",
                       "fallback");
    assert_string_equal(env(pod, "DD_SERVICE"), "<valueFrom>");
    assert_string_equal(env(pod, "DD_ENV"), "<valueFrom>");
    assert_string_equal(env(pod, "DD_VERSION"), "<valueFrom>");
    cJSON_Delete(pod);
}

static void test_service_fallback(void **state)
{
    (void)state;
    char out[64];
    cJSON *rs = json("{\"metadata\":{\"generateName\":\"web-6d5f-\",\"labels\":"
                     "{\"pod-template-hash\":\"6d5f\"},\"ownerReferences\":[{\"kind\":"
                     "\"ReplicaSet\",\"name\":\"web-6d5f\",\"controller\":true}]}}");
    assert_int_equal(inj_service_fallback(rs, NULL, out, sizeof out), 0);
    assert_string_equal(out, "web");
    assert_int_equal(inj_service_fallback(rs, "hint", out, sizeof out), 0);
    assert_string_equal(out, "hint");
    cJSON *gen = json("{\"metadata\":{\"generateName\":\"api-7c9-\",\"labels\":"
                      "{\"pod-template-hash\":\"7c9\"}}}");
    assert_int_equal(inj_service_fallback(gen, NULL, out, sizeof out), 0);
    assert_string_equal(out, "api");
    cJSON *sts = json("{\"metadata\":{\"name\":\"db-0\",\"ownerReferences\":[{\"kind\":"
                      "\"StatefulSet\",\"name\":\"db\",\"controller\":true}]}}");
    assert_int_equal(inj_service_fallback(sts, NULL, out, sizeof out), 0);
    assert_string_equal(out, "db");
    cJSON *app = json("{\"metadata\":{\"name\":\"x\",\"labels\":{\"app.kubernetes.io/name\":"
                      "\"shop\"}}}");
    assert_int_equal(inj_service_fallback(app, NULL, out, sizeof out), 0);
    assert_string_equal(out, "shop");
    cJSON *none = json("{\"metadata\":{}}");
    assert_int_equal(inj_service_fallback(none, NULL, out, sizeof out), -1);
    assert_string_equal(out, "");
    cJSON_Delete(rs), cJSON_Delete(gen), cJSON_Delete(sts), cJSON_Delete(app);
    cJSON_Delete(none);
}

/* LD_PRELOAD given twice: the kubelet uses the last entry, so that is the one edited. */
static void test_ld_preload_twice_edits_the_last(void **state)
{
    (void)state;
    cJSON *pod = merge("{\"spec\":{\"containers\":[{\"name\":\"app\",\"env\":["
                       "{\"name\":\"LD_PRELOAD\",\"value\":\"/first.so\"},"
                       "{\"name\":\"LD_PRELOAD\",\"value\":\"/last.so\"}]}]}}",
                       "svc");
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(
                               cJSON_GetObjectItemCaseSensitive(pod, "spec"), "containers"),
                           0),
        "env");
    assert_string_equal(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(list, 0), "value")->valuestring,
        "/first.so");
    assert_string_equal(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(list, 1), "value")->valuestring,
        "/opt/podprof/libpodprof.so:/last.so");
    cJSON_Delete(pod);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_absent_env_created),
        cmocka_unit_test(test_user_env_wins),
        cmocka_unit_test(test_ld_preload_edge_cases),
        cmocka_unit_test(test_labels_become_field_refs),
        cmocka_unit_test(test_service_fallback),
        cmocka_unit_test(test_ld_preload_twice_edits_the_last),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
