/* Profile files: names, the metadata JSON (escaping included), the bound on unread pairs, pid
 * reuse, nothing written without a sample, the default prefix, and failures that must cost one
 * line and nothing else. */
#include <cjson/cJSON.h>
#include <dirent.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <cmocka.h>

#include "aggregate.h"
#include "pprof_unpack.h"
#include "profile.pb-c.h"
#include "profile_output.h"

static char dir[256];

static int make_dir(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/podprof-test-output-XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int remove_dir(void **state)
{
    (void)state;
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *de;
        while ((de = readdir(d)) != NULL) {
            char p[600];
            if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
                snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
                if (unlink(p) != 0)
                    rmdir(p);
            }
        }
        closedir(d);
    }
    return rmdir(dir);
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    if (len)
        *len = (size_t)n;
    return buf;
}

static int count_files(const char *suffix)
{
    int n = 0;
    DIR *d = opendir(dir);
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        size_t l = strlen(de->d_name), s = strlen(suffix);
        if (l > s && !strcmp(de->d_name + l - s, suffix))
            n++;
    }
    closedir(d);
    return n;
}

static pp_agg *small_agg(void)
{
    pp_agg *agg = pp_agg_new(100, 1 << 16);
    pp_frame f[] = {{pp_agg_intern(agg, "work", 4), pp_agg_intern(agg, "w.py", 4), 7}};
    pp_sample_key k = {1, 2, pp_agg_intern(agg, "MainThread", 10), f, 1, 0, 0, 0};
    pp_agg_add(agg, &k, 5000, 10000);
    return agg;
}

static pp_flush_info info_for(int64_t start)
{
    static const pp_counter counters[] = {{"samples", 42}, {"read_failures", 1}};
    pp_flush_info info = {
        .start_ns = start,
        .end_ns = start + 60000000123LL,
        .period_ns = 10000000,
        .effective_rate_hz = 87.5,
        .python_version = "3.12.1",
        .runtime_id = "0f0e0d0c-0b0a-4988-8776-655443322110",
        .counters = counters,
        .n_counters = 2,
    };
    return info;
}

static Perftools__Profiles__Profile *decode_pprof(const char *path)
{
    size_t gz_len;
    char *gz = read_file(path, &gz_len);
    assert_non_null(gz);
    Perftools__Profiles__Profile *p = pprof_unpack_gzip(gz, gz_len);
    free(gz);
    return p;
}

static void test_pair_and_metadata(void **state)
{
    (void)state;
    char prefix[300];
    snprintf(prefix, sizeof prefix, "%s/profile", dir);
    /* Hostile values as a pod spec could carry them. */
    char hostile[] = "a\"b\\c\nd\te\x01"
                     "f\x7f\xc3\xa9\xff\xe2\x82 </script>";
    pp_config cfg = {.enabled = true,
                     .sample_rate_hz = 100,
                     .output_prefix = prefix,
                     .service = "svc",
                     .env = hostile,
                     .version = NULL,
                     .tags = "team:a,x:y",
                     .profiling_tags = "",
                     .container = "app"};
    pp_agg *agg = small_agg();
    pp_flush_info info = info_for(1700000000123456789LL);
    assert_int_equal(pp_profile_flush(&cfg, agg, &info), 0);

    char path[600];
    snprintf(path, sizeof path, "%s.%d.1.json", prefix, (int)getpid());
    char *json = read_file(path, NULL);
    assert_non_null(json);
    cJSON *doc = cJSON_Parse(json);
    assert_non_null(doc);
    assert_string_equal(cJSON_GetObjectItem(doc, "start")->valuestring,
                        "2023-11-14T22:13:20.123456789Z");
    assert_string_equal(cJSON_GetObjectItem(doc, "end")->valuestring,
                        "2023-11-14T22:14:20.123456912Z");
    assert_int_equal(cJSON_GetObjectItem(doc, "pid")->valuedouble, getpid());
    assert_string_equal(cJSON_GetObjectItem(doc, "runtime-id")->valuestring,
                        "0f0e0d0c-0b0a-4988-8776-655443322110");
    assert_string_equal(cJSON_GetObjectItem(doc, "python_version")->valuestring, "3.12.1");
    assert_string_equal(cJSON_GetObjectItem(doc, "service")->valuestring, "svc");
    assert_string_equal(cJSON_GetObjectItem(doc, "env")->valuestring,
                        "a\"b\\c\nd\te\x01"
                        "f\x7f\xc3\xa9\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd </script>");
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(doc, "version")));
    assert_string_equal(cJSON_GetObjectItem(doc, "tags")->valuestring, "team:a,x:y");
    assert_string_equal(cJSON_GetObjectItem(doc, "profiling_tags")->valuestring, "");
    assert_string_equal(cJSON_GetObjectItem(doc, "container")->valuestring, "app");
    assert_true(cJSON_GetObjectItem(doc, "sampling_rate_hz")->valuedouble == 100);
    assert_true(cJSON_GetObjectItem(doc, "effective_sampling_rate_hz")->valuedouble == 87.5);
    assert_int_equal(cJSON_GetObjectItem(doc, "period_ns")->valuedouble, 10000000);
    char expect_name[64];
    snprintf(expect_name, sizeof expect_name, "profile.%d.1.pprof", (int)getpid());
    assert_string_equal(cJSON_GetObjectItem(doc, "pprof")->valuestring, expect_name);
    cJSON *counters = cJSON_GetObjectItem(doc, "counters");
    assert_int_equal(cJSON_GetObjectItem(counters, "samples")->valuedouble, 42);
    assert_int_equal(cJSON_GetObjectItem(counters, "read_failures")->valuedouble, 1);
    assert_int_equal(cJSON_GetObjectItem(counters, "stacks_dropped")->valuedouble, 0);
    assert_non_null(cJSON_GetObjectItem(counters, "profiles_dropped"));
    /* Control characters are escaped, never raw, in the file itself. */
    for (const char *c = json; *c; c++)
        assert_true((unsigned char)*c >= 0x20 || *c == '\n');
    assert_non_null(strstr(json, "\\u0001"));
    cJSON_Delete(doc);
    free(json);

    snprintf(path, sizeof path, "%s.%d.1.pprof", prefix, (int)getpid());
    Perftools__Profiles__Profile *p = decode_pprof(path);
    assert_non_null(p);
    assert_int_equal(p->n_sample, 1);
    assert_int_equal(p->time_nanos, 1700000000123456789LL);
    assert_int_equal(p->duration_nanos, 60000000123LL);
    assert_int_equal(p->period, 10000000);
    perftools__profiles__profile__free_unpacked(p, NULL);

    /* The second flush gets the next sequence number; no temporary file remains. */
    assert_int_equal(pp_profile_flush(&cfg, agg, &info), 0);
    snprintf(path, sizeof path, "%s.%d.2.json", prefix, (int)getpid());
    assert_int_equal(access(path, F_OK), 0);
    assert_int_equal(count_files(".tmp"), 0);
    pp_agg_free(agg);
}

static void test_code_provenance_in_metadata(void **state)
{
    (void)state;
    char prefix[300];
    snprintf(prefix, sizeof prefix, "%s/prov", dir);
    pp_config cfg = {.enabled = true, .sample_rate_hz = 100, .output_prefix = prefix};
    pp_agg *agg = small_agg();
    pp_flush_info info = info_for(1700000000000000000LL);
    /* file names are whatever the filesystem holds: quotes and invalid UTF-8 included */
    static const char *const stdlib[] = {"/usr/lib/python3.11", "<frozen runpy>"};
    static const char *const flask[] = {"/v/site-packages/flask", "/v/site-packages/q\"\xff"};
    static const pp_provenance_library libs[] = {{"Flask", "3.0.3", flask, 2},
                                                 {"empty", "", NULL, 0}};
    pp_provenance_view view = {stdlib, 2, libs, 2};
    info.provenance = &view;
    assert_int_equal(pp_profile_flush(&cfg, agg, &info), 0);
    info.provenance = NULL; /* switched off: no key at all */
    assert_int_equal(pp_profile_flush(&cfg, agg, &info), 0);
    char path[600];
    snprintf(path, sizeof path, "%s.%d.1.json", prefix, (int)getpid());
    char *json = read_file(path, NULL);
    cJSON *doc = cJSON_Parse(json);
    assert_non_null(doc);
    cJSON *prov = cJSON_GetObjectItem(doc, "code_provenance");
    assert_int_equal(cJSON_GetArraySize(prov), 2);
    cJSON *s = cJSON_GetObjectItem(prov, "stdlib");
    assert_int_equal(cJSON_GetArraySize(s), 2);
    assert_string_equal(cJSON_GetArrayItem(s, 1)->valuestring, "<frozen runpy>");
    cJSON *l = cJSON_GetObjectItem(prov, "libraries");
    assert_int_equal(cJSON_GetArraySize(l), 2);
    cJSON *f = cJSON_GetArrayItem(l, 0);
    assert_string_equal(cJSON_GetObjectItem(f, "name")->valuestring, "Flask");
    assert_string_equal(cJSON_GetObjectItem(f, "version")->valuestring, "3.0.3");
    cJSON *fp = cJSON_GetObjectItem(f, "paths");
    assert_string_equal(cJSON_GetArrayItem(fp, 1)->valuestring, "/v/site-packages/q\"\xef\xbf\xbd");
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(cJSON_GetArrayItem(l, 1), "paths")), 0);
    cJSON_Delete(doc);
    free(json);
    snprintf(path, sizeof path, "%s.%d.2.json", prefix, (int)getpid());
    json = read_file(path, NULL);
    doc = cJSON_Parse(json);
    assert_non_null(doc);
    assert_null(cJSON_GetObjectItem(doc, "code_provenance"));
    cJSON_Delete(doc);
    free(json);
    pp_agg_free(agg);
}

static void test_unread_bound_drops_oldest(void **state)
{
    (void)state;
    char prefix[300];
    snprintf(prefix, sizeof prefix, "%s/bounded", dir);
    pp_config cfg = {.enabled = true, .sample_rate_hz = 100, .output_prefix = prefix};
    pp_agg *agg = small_agg();
    pp_flush_info info = info_for(1700000000000000000LL);
    /* An unrelated file and another prefix's pair are never touched. */
    char other[600];
    snprintf(other, sizeof other, "%s/other.1.1.json", dir);
    close(open(other, O_CREAT | O_WRONLY, 0644));
    for (int i = 0; i < 40; i++)
        assert_int_equal(pp_profile_flush(&cfg, agg, &info), 0);
    assert_int_equal(count_files(".pprof"), 32);
    assert_int_equal(count_files(".json"), 33);
    assert_int_equal(access(other, F_OK), 0);
    char path[600];
    snprintf(path, sizeof path, "%s.%d.8.json", prefix, (int)getpid());
    assert_int_not_equal(access(path, F_OK), 0);
    snprintf(path, sizeof path, "%s.%d.8.pprof", prefix, (int)getpid());
    assert_int_not_equal(access(path, F_OK), 0);
    snprintf(path, sizeof path, "%s.%d.9.pprof", prefix, (int)getpid());
    assert_int_equal(access(path, F_OK), 0);
    snprintf(path, sizeof path, "%s.%d.40.json", prefix, (int)getpid());
    char *json = read_file(path, NULL);
    assert_non_null(json);
    cJSON *doc = cJSON_Parse(json);
    cJSON *counters = cJSON_GetObjectItem(doc, "counters");
    assert_int_equal(cJSON_GetObjectItem(counters, "profiles_dropped")->valuedouble, 8);
    cJSON_Delete(doc);
    free(json);
    pp_agg_free(agg);
}

static void test_reused_pid_does_not_overwrite(void **state)
{
    (void)state;
    char prefix[300], path[600];
    snprintf(prefix, sizeof prefix, "%s/reuse", dir);
    /* An unread pair left by an earlier process with our pid (pid 1 in a restarted container). */
    snprintf(path, sizeof path, "%s.%d.57.json", prefix, (int)getpid());
    close(open(path, O_CREAT | O_WRONLY, 0644));
    snprintf(path, sizeof path, "%s.%d.57.pprof", prefix, (int)getpid());
    close(open(path, O_CREAT | O_WRONLY, 0644));
    pp_config cfg = {.enabled = true, .sample_rate_hz = 100, .output_prefix = prefix};
    pp_agg *agg = small_agg();
    pp_flush_info info = info_for(1700000000000000000LL);
    assert_int_equal(pp_profile_flush(&cfg, agg, &info), 0);
    snprintf(path, sizeof path, "%s.%d.58.json", prefix, (int)getpid());
    assert_int_equal(access(path, F_OK), 0);
    pp_agg_free(agg);
}

/* An aggregate without a sample (`python -c pass`, an idle interval) writes nothing, and no
 * descriptor of the flush outlives it. */
static void test_nothing_sampled_writes_nothing(void **state)
{
    (void)state;
    char prefix[300];
    snprintf(prefix, sizeof prefix, "%s/empty", dir);
    pp_config cfg = {.enabled = true, .sample_rate_hz = 100, .output_prefix = prefix};
    pp_agg *agg = pp_agg_new(100, 1 << 16);
    pp_flush_info info = info_for(1700000000000000000LL);
    int next = dup(0);
    close(next);
    assert_int_equal(pp_profile_flush(&cfg, agg, &info), 0);
    assert_int_equal(count_files(".json") + count_files(".pprof") + count_files(".tmp"), 0);
    pp_agg_free(agg);
    agg = small_agg();
    assert_int_equal(pp_profile_flush(&cfg, agg, &info), 0);
    assert_int_equal(count_files(".json"), 1);
    int after = dup(0);
    close(after);
    assert_int_equal(after, next);
    pp_agg_free(agg);
}

/* Runs fn with stderr captured into buf. */
static void capture_stderr(void (*fn)(void), char *buf, size_t cap)
{
    char path[600];
    snprintf(path, sizeof path, "%s/stderr.txt", dir);
    fflush(stderr);
    int saved = dup(2);
    int fd = open(path, O_CREAT | O_TRUNC | O_RDWR, 0644);
    dup2(fd, 2);
    fn();
    dup2(saved, 2);
    close(saved);
    ssize_t n = pread(fd, buf, cap - 1, 0);
    buf[n > 0 ? n : 0] = '\0';
    close(fd);
    unlink(path);
}

static void flush_default_twice(void)
{
    pp_config cfg = {.enabled = true, .sample_rate_hz = 100, .output_prefix = NULL};
    pp_agg *agg = small_agg();
    pp_flush_info info = info_for(1700000000000000000LL);
    assert_int_equal(pp_profile_flush(&cfg, agg, &info), 0);
    assert_int_equal(pp_profile_flush(&cfg, agg, &info), 0);
    pp_agg_free(agg);
}

static void test_default_prefix_said_once(void **state)
{
    (void)state;
    setenv("TMPDIR", dir, 1);
    char err[2048];
    capture_stderr(flush_default_twice, err, sizeof err);
    unsetenv("TMPDIR");
    char expect[600];
    snprintf(expect, sizeof expect,
             "podprof: DD_PROFILING_OUTPUT_PPROF is not set; writing profiles to "
             "%s/podprof.<pid>.<seq>.pprof\n",
             dir);
    assert_string_equal(err, expect);
    char path[600];
    snprintf(path, sizeof path, "%s/podprof.%d.2.json", dir, (int)getpid());
    assert_int_equal(access(path, F_OK), 0);
}

static void flush_into_missing_dir(void)
{
    pp_config cfg = {.enabled = true, .sample_rate_hz = 100};
    char prefix[600];
    snprintf(prefix, sizeof prefix, "%s/no/such/dir/profile", dir);
    cfg.output_prefix = prefix;
    pp_agg *agg = small_agg();
    pp_flush_info info = info_for(1700000000000000000LL);
    assert_int_equal(pp_profile_flush(&cfg, agg, &info), -1);
    pp_agg_free(agg);
}

static void test_unwritable_is_one_line(void **state)
{
    (void)state;
    char err[2048];
    capture_stderr(flush_into_missing_dir, err, sizeof err);
    assert_non_null(strstr(err, "podprof: cannot write "));
    assert_non_null(strstr(err, "No such file or directory; profile dropped\n"));
    int lines = 0;
    for (const char *c = err; *c; c++)
        lines += *c == '\n';
    assert_int_equal(lines, 1);
}

static void test_directory_prefix(void **state)
{
    (void)state;
    char prefix[300], path[600];
    snprintf(prefix, sizeof prefix, "%s/", dir);
    pp_config cfg = {.enabled = true, .sample_rate_hz = 100, .output_prefix = prefix};
    pp_agg *agg = small_agg();
    pp_flush_info info = info_for(1700000000000000000LL);
    assert_int_equal(pp_profile_flush(&cfg, agg, &info), 0);
    snprintf(path, sizeof path, "%s/profile.%d.1.pprof", dir, (int)getpid());
    assert_int_equal(access(path, F_OK), 0);
    pp_agg_free(agg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_pair_and_metadata, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(test_code_provenance_in_metadata, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(test_unread_bound_drops_oldest, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(test_reused_pid_does_not_overwrite, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(test_nothing_sampled_writes_nothing, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(test_default_prefix_said_once, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(test_unwritable_is_one_line, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(test_directory_prefix, make_dir, remove_dir),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
