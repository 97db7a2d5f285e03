/* Unit tests of the exporter's pure pieces: the Downward API labels parser, tag normalisation and
 * precedence, retry backoff bounds, RFC3339 handling of the metadata. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <cjson/cJSON.h>
#include <sys/stat.h>

#include "labels.h"
#include "memory_budget.h"
#include "retry.h"
#include "spool_file.h"
#include "spool_meta.h"
#include "tags.h"

static void labels_parse(const char *text, ex_labels *out)
{
    ex_labels_parse(text, strlen(text), out);
}

static void test_labels_plain_and_escaped(void **state)
{
    (void)state;
    ex_labels l;
    labels_parse("app=\"checkout\"\n"
                 "app.kubernetes.io/name=\"shop\"\n"
                 "quote=\"say \\\"hi\\\"\\\\ now\"\n"
                 "nl=\"a\\nb\\tc\"\n"
                 "uni=\"caf\\u00e9 \\U0001F600 \\x41\"\n"
                 "utf8=\"café\"\n"
                 "empty=\"\"\n",
                 &l);
    assert_int_equal(l.malformed, 0);
    assert_int_equal(l.n, 7);
    assert_string_equal(l.items[0].key, "app");
    assert_string_equal(l.items[0].value, "checkout");
    assert_string_equal(l.items[1].key, "app.kubernetes.io/name");
    assert_string_equal(l.items[2].value, "say \"hi\"\\ now");
    assert_string_equal(l.items[3].value, "a\nb\tc");
    assert_string_equal(l.items[4].value, "caf\xc3\xa9 \xf0\x9f\x98\x80 A");
    assert_string_equal(l.items[5].value, "caf\xc3\xa9");
    assert_string_equal(l.items[6].value, "");
    ex_labels_free(&l);
}

static void test_labels_malformed_lines_skipped(void **state)
{
    (void)state;
    ex_labels l;
    labels_parse("good=\"1\"\n"
                 "noquotes=value\n"
                 "unterminated=\"abc\n"
                 "=\"nokey\"\n"
                 "badesc=\"\\q\"\n"
                 "trailing=\"x\" junk\n"
                 "badhex=\"\\xZZ\"\n"
                 "surrogate=\"\\ud800\"\n"
                 "\n"
                 "also=\"2\"\r\n",
                 &l);
    assert_int_equal(l.n, 2);
    assert_string_equal(l.items[0].key, "good");
    assert_string_equal(l.items[1].key, "also");
    assert_string_equal(l.items[1].value, "2");
    assert_int_equal(l.malformed, 7);
    assert_int_equal(l.first_bad_line, 2);
    ex_labels_free(&l);
}

static void test_labels_missing_file(void **state)
{
    (void)state;
    ex_labels l;
    assert_int_equal(ex_labels_read("/nonexistent/podprof/labels", &l), -1);
    assert_int_equal(l.n, 0);
}

static void norm(const char *in, bool key, const char *want)
{
    char out[EX_TAG_MAX_LEN + 1];
    ex_tag_normalize(in, key, out, sizeof out);
    assert_string_equal(out, want);
}

static void test_tag_normalisation(void **state)
{
    (void)state;
    norm("Team", true, "team");
    norm("app.kubernetes.io/Name", true, "app.kubernetes.io/name");
    norm("1st-key", true, "st-key");
    norm("__x", true, "x");
    norm("a b  c!!", true, "a_b_c");
    norm("k:v", true, "k_v");
    norm("1.0", false, "1.0");
    norm("Some Value/OK:x", false, "some_value/ok:x");
    norm("trailing!!", false, "trailing");
    norm("caf\xc3\xa9", false, "caf\xc3\xa9");
    norm("bad\xff byte", false, "bad_byte");
    char longv[400];
    memset(longv, 'v', sizeof longv - 1);
    longv[sizeof longv - 1] = '\0';
    ex_tags t = {0};
    assert_true(ex_tags_set(&t, "key", longv));
    assert_int_equal(strlen("key:") + strlen(ex_tags_get(&t, "key")), EX_TAG_MAX_LEN);
    assert_false(ex_tags_set(&t, "!!!", "x"));
    assert_false(ex_tags_set(&t, "k", "!!!"));
    ex_tags_free(&t);
}

static void test_tag_layers_and_label_policy(void **state)
{
    (void)state;
    ex_labels l;
    labels_parse("team=\"payments\"\napp=\"checkout\"\npod-template-hash=\"7d9f\"\n"
                 "controller-revision-hash=\"abc\"\ntrack=\"stable\"\n",
                 &l);
    ex_tags t = {0};
    ex_tags_add_labels(&t, &l, "*");
    assert_string_equal(ex_tags_get(&t, "team"), "payments");
    assert_null(ex_tags_get(&t, "pod-template-hash"));
    assert_null(ex_tags_get(&t, "controller-revision-hash"));
    ex_tags_add_list(&t, "team:a,env:dev");
    ex_tags_add_list(&t, "track:canary");
    assert_string_equal(ex_tags_get(&t, "team"), "a");
    assert_string_equal(ex_tags_get(&t, "track"), "canary");
    char *joined = ex_tags_join(&t);
    assert_string_equal(joined, "team:a,app:checkout,track:canary,env:dev");
    free(joined);
    ex_tags_free(&t);

    ex_tags m = {0};
    ex_tags_add_labels(&m, &l, "team=owner_team, app ,pod-template-hash");
    joined = ex_tags_join(&m);
    assert_string_equal(joined, "owner_team:payments,app:checkout");
    free(joined);
    ex_tags_free(&m);

    ex_tags none = {0};
    ex_tags_add_labels(&none, &l, "");
    assert_int_equal(none.n, 0);
    ex_labels_free(&l);
}

static void test_tag_list_separators(void **state)
{
    (void)state;
    ex_tags t = {0};
    ex_tags_add_list(&t, "a:1 b:2  novalue c:3");
    assert_int_equal(t.n, 3);
    ex_tags_add_list(&t, "d:with space, e:5");
    assert_string_equal(ex_tags_get(&t, "d"), "with_space");
    assert_string_equal(ex_tags_get(&t, "e"), "5");
    ex_tags_free(&t);
}

static void test_retry_backoff_bounds(void **state)
{
    (void)state;
    uint64_t rng = 42;
    for (int failures = 1; failures <= 12; failures++) {
        int64_t nominal = 1000;
        for (int i = 1; i < failures; i++)
            nominal = nominal * 2 > EX_RETRY_MAX_DELAY_MS ? EX_RETRY_MAX_DELAY_MS : nominal * 2;
        for (int k = 0; k < 200; k++) {
            int64_t d = ex_retry_delay_ms(failures, 1000, &rng);
            assert_true(d >= nominal - nominal / 2);
            assert_true(d <= nominal);
        }
    }
    /* jitter actually varies */
    int64_t a = ex_retry_delay_ms(3, 1000, &rng), same = 0;
    for (int k = 0; k < 20; k++)
        same += ex_retry_delay_ms(3, 1000, &rng) == a;
    assert_true(same < 20);
}

static void test_retry_table(void **state)
{
    (void)state;
    ex_retry_table t = {0};
    ex_retry_add(&t, "a")->failures = 1;
    ex_retry_add(&t, "b");
    assert_int_equal(ex_retry_add(&t, "a")->failures, 1);
    ex_retry_sweep(&t); /* both were just added: seen */
    assert_int_equal(t.n, 2);
    ex_retry_find(&t, "b")->seen = true;
    ex_retry_sweep(&t); /* "a" vanished from the spool */
    assert_int_equal(t.n, 1);
    assert_null(ex_retry_find(&t, "a"));
    ex_retry_free(&t);
}

static void test_rfc3339(void **state)
{
    (void)state;
    int64_t ns;
    char out[40];
    assert_int_equal(ex_parse_rfc3339("2026-11-22T08:00:01.123456789Z", &ns), 0);
    ex_format_rfc3339(ns, out);
    assert_string_equal(out, "2026-11-22T08:00:01.123456789Z");
    assert_int_equal(ex_parse_rfc3339("2026-11-22T09:00:01.5+01:00", &ns), 0);
    ex_format_rfc3339(ns, out);
    assert_string_equal(out, "2026-11-22T08:00:01.500000000Z");
    assert_int_equal(ex_parse_rfc3339("1970-01-01T00:00:00Z", &ns), 0);
    assert_int_equal(ns, 0);
    assert_int_equal(ex_parse_rfc3339("2026-11-22 08:00:01Z", &ns), -1);
    assert_int_equal(ex_parse_rfc3339("2026-11-22T08:00:01.Z", &ns), -1);
    assert_int_equal(ex_parse_rfc3339("2026-11-22T08:00:01", &ns), -1);
    assert_int_equal(ex_parse_rfc3339("4052-11-22T08:00:00.5Z", &ns), -1); /* beyond int64 ns */
}

static void test_meta_parse(void **state)
{
    (void)state;
    const char *doc = "{\"start\":\"2026-11-22T08:00:00.000000001Z\","
                      "\"end\":\"2026-11-22T08:01:00.000000001Z\",\"pid\":12,"
                      "\"runtime-id\":\"abc\",\"python_version\":\"3.12.1\","
                      "\"service\":\"svc\",\"version\":2,\"counters\":{\"samples\":5}}";
    ex_meta m;
    char err[128];
    assert_int_equal(ex_meta_parse(doc, strlen(doc), &m, err, sizeof err), 0);
    assert_int_equal(m.pid, 12);
    assert_string_equal(m.runtime_id, "abc");
    assert_string_equal(m.version, "2");
    assert_null(m.env);
    assert_int_equal(m.end_ns - m.start_ns, 60000000000LL);
    assert_non_null(m.counters);
    ex_meta_free(&m);
    const char *bad[] = {"",
                         "[]",
                         "{\"start\":\"x\",\"end\":\"y\"}",
                         "{\"start\":\"2026-11-22T08:01:00Z\",\"end\":\"2026-11-22T08:00:00Z\"}",
                         "{\"start\":\"2026-11-22T08:00:00Z\",\"end\":\"2026-11-22T08:01",
                         "{\"start\":1e300,\"end\":2e300}",
                         "{\"start\":-5,\"end\":1}"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        assert_int_equal(ex_meta_parse(bad[i], strlen(bad[i]), &m, err, sizeof err), -1);
        assert_true(strlen(err) > 0);
    }
}

/* Whatever the limit, the shares that can be live together fit in it after the reserve. */
static void test_memory_budget_split(void **state)
{
    (void)state;
    static const size_t mib[] = {1, 20, 32, 48, 64, 128, 1024};
    for (size_t i = 0; i < sizeof mib / sizeof *mib; i++) {
        ex_memory_budget b;
        ex_memory_budget_from_limit(mib[i] << 20, &b);
        size_t work = b.max_meta + b.max_raw + b.max_decode;
        assert_true(b.max_file + b.max_raw <= work);
        if (mib[i] > EX_MEMORY_RESERVE_MIB + EX_MEMORY_MIN_WORK_MIB)
            assert_true(work + ((size_t)EX_MEMORY_RESERVE_MIB << 20) <= (mib[i] << 20));
        else
            assert_true(work <= (size_t)EX_MEMORY_MIN_WORK_MIB << 20);
    }
    ex_memory_budget b;
    ex_memory_budget_from_limit(48u << 20, &b);
    assert_int_equal(b.max_raw, 8u << 20);
    assert_int_equal(b.max_decode, 12u << 20);
    const char *source = NULL;
    assert_int_equal(ex_memory_limit(100, &source), 100u << 20);
    assert_string_equal(source, "setting");
}

static void test_counting_allocator_stops_at_its_budget(void **state)
{
    (void)state;
    ex_counting_allocator a;
    ex_counting_allocator_init(&a, 1000);
    void *p = a.base.alloc(a.base.allocator_data, 500);
    assert_non_null(p);
    assert_null(a.base.alloc(a.base.allocator_data, 500)); /* 516 + 516 > 1000 */
    assert_true(a.exhausted);
    a.base.free(a.base.allocator_data, p);
    assert_null(a.base.alloc(a.base.allocator_data, (size_t)-8)); /* overflow refused */
}

static void test_json_budget_fails_parse_only_while_active(void **state)
{
    (void)state;
    size_t n = 20000;
    char *text = malloc(n * 2 + 2);
    assert_non_null(text);
    text[0] = '[';
    for (size_t i = 0; i < n; i++)
        memcpy(text + 1 + 2 * i, i + 1 < n ? "0," : "0]", 2);
    text[n * 2 + 1] = '\0';
    ex_json_budget_begin(64 << 10); /* 20,000 nodes of ~80 bytes do not fit in 64 KiB */
    cJSON *j = cJSON_Parse(text);
    assert_true(ex_json_budget_end());
    assert_null(j);
    j = cJSON_Parse(text); /* no budget: parses */
    assert_non_null(j);
    cJSON_Delete(j);
    ex_json_budget_begin(8 << 20);
    j = cJSON_Parse(text);
    assert_false(ex_json_budget_end());
    assert_non_null(j);
    cJSON_Delete(j);
    free(text);
}

static struct stat file_stat(mode_t type, uid_t uid, off_t size)
{
    struct stat st;
    memset(&st, 0, sizeof st);
    st.st_mode = type | 0644;
    st.st_uid = uid;
    st.st_size = size;
    return st;
}

static void test_spool_entry_rules(void **state)
{
    (void)state;
    char why[160];
    struct stat dir = file_stat(S_IFDIR, 1000, 0);
    dir.st_mode = S_IFDIR | 0755;
    ex_spool_trust t;
    ex_spool_trust_from_dir(&dir, &t);
    assert_false(t.any_owner);
    struct stat st = file_stat(S_IFREG, 1000, 10);
    assert_int_equal(ex_spool_entry_check(&st, &t, 100, why, sizeof why), EX_ENTRY_OK);
    st = file_stat(S_IFREG, t.self, 10);
    assert_int_equal(ex_spool_entry_check(&st, &t, 100, why, sizeof why), EX_ENTRY_OK);
    st = file_stat(S_IFREG, 4242, 10);
    if (t.self != 4242) {
        assert_int_equal(ex_spool_entry_check(&st, &t, 100, why, sizeof why), EX_ENTRY_UNSAFE);
        assert_non_null(strstr(why, "owned by uid 4242"));
    }
    st = file_stat(S_IFREG, 1000, 101);
    assert_int_equal(ex_spool_entry_check(&st, &t, 100, why, sizeof why), EX_ENTRY_TOO_LARGE);
    static const mode_t bad[] = {S_IFIFO, S_IFLNK, S_IFDIR, S_IFCHR, S_IFSOCK};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        st = file_stat(bad[i], 1000, 0);
        assert_int_equal(ex_spool_entry_check(&st, &t, 100, why, sizeof why), EX_ENTRY_UNSAFE);
    }
    /* a shared non-sticky directory (an emptyDir, 0777): any owner, the rest still checked */
    dir.st_mode = S_IFDIR | 0777;
    ex_spool_trust_from_dir(&dir, &t);
    assert_true(t.any_owner);
    st = file_stat(S_IFREG, 4242, 10);
    assert_int_equal(ex_spool_entry_check(&st, &t, 100, why, sizeof why), EX_ENTRY_OK);
    st = file_stat(S_IFIFO, 4242, 0);
    assert_int_equal(ex_spool_entry_check(&st, &t, 100, why, sizeof why), EX_ENTRY_UNSAFE);
    /* sticky and world-writable (/tmp): the protected_regular rule */
    dir.st_mode = S_IFDIR | S_ISVTX | 0777;
    ex_spool_trust_from_dir(&dir, &t);
    assert_false(t.any_owner);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_labels_plain_and_escaped),
        cmocka_unit_test(test_labels_malformed_lines_skipped),
        cmocka_unit_test(test_labels_missing_file),
        cmocka_unit_test(test_tag_normalisation),
        cmocka_unit_test(test_tag_layers_and_label_policy),
        cmocka_unit_test(test_tag_list_separators),
        cmocka_unit_test(test_retry_backoff_bounds),
        cmocka_unit_test(test_retry_table),
        cmocka_unit_test(test_rfc3339),
        cmocka_unit_test(test_meta_parse),
        cmocka_unit_test(test_memory_budget_split),
        cmocka_unit_test(test_counting_allocator_stops_at_its_budget),
        cmocka_unit_test(test_json_budget_fails_parse_only_while_active),
        cmocka_unit_test(test_spool_entry_rules),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
