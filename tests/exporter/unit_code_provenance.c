/* The code-provenance.json attachment built from the metadata's code_provenance object: the
 * document's shape (standard library first, with importlib's frozen modules and the interpreter's
 * version; the synthetic native library; each distribution with its paths, each path once), the
 * zstd frame around it, and a one-line reason for every malformed object. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include <cmocka.h>

#include "code_provenance.h"

/* Builds the attachment from JSON text and returns the document it holds. */
static cJSON *attachment_of(const char *provenance_json, const char *python_version)
{
    cJSON *prov = cJSON_Parse(provenance_json);
    assert_non_null(prov);
    void *z;
    size_t zlen;
    char err[160] = "";
    assert_int_equal(ex_provenance_attachment(prov, python_version, &z, &zlen, err, sizeof err), 0);
    cJSON_Delete(prov);
    assert_true(zlen >= 4 && !memcmp(z, "\x28\xb5\x2f\xfd", 4)); /* a zstd frame */
    unsigned long long raw_len = ZSTD_getFrameContentSize(z, zlen);
    assert_true(raw_len != ZSTD_CONTENTSIZE_ERROR && raw_len != ZSTD_CONTENTSIZE_UNKNOWN);
    char *raw = malloc(raw_len + 1);
    assert_int_equal(ZSTD_decompress(raw, raw_len, z, zlen), raw_len);
    raw[raw_len] = '\0';
    free(z);
    cJSON *doc = cJSON_Parse(raw);
    free(raw);
    assert_non_null(doc);
    return doc;
}

static void assert_library(const cJSON *lib, const char *kind, const char *name,
                           const char *version, const char *const *paths, size_t n_paths)
{
    assert_string_equal(cJSON_GetObjectItem(lib, "kind")->valuestring, kind);
    assert_string_equal(cJSON_GetObjectItem(lib, "name")->valuestring, name);
    assert_string_equal(cJSON_GetObjectItem(lib, "version")->valuestring, version);
    const cJSON *p = cJSON_GetObjectItem(lib, "paths");
    assert_int_equal(cJSON_GetArraySize(p), (int)n_paths);
    for (size_t i = 0; i < n_paths; i++)
        assert_string_equal(cJSON_GetArrayItem(p, (int)i)->valuestring, paths[i]);
    assert_int_equal(cJSON_GetArraySize(lib), 4);
}

static void test_document(void **state)
{
    (void)state;
    cJSON *doc = attachment_of(
        "{\"stdlib\":[\"/usr/lib/python3.11\",\"<frozen runpy>\",\"<frozen "
        "importlib._bootstrap>\",\"/usr/lib/python3.11\"],"
        "\"libraries\":[{\"name\":\"Flask\",\"version\":\"3.0.3\",\"paths\":[\"/v/site-packages/"
        "flask\"]},{\"name\":\"protobuf\",\"version\":\"5.28.3\",\"paths\":[\"/v/site-packages/"
        "google/protobuf\",\"/v/site-packages/google/_upb\",\"/v/site-packages/google/"
        "protobuf\"]}]}",
        "3.11.2");
    assert_int_equal(cJSON_GetArraySize(doc), 1);
    const cJSON *v1 = cJSON_GetObjectItem(doc, "v1");
    assert_int_equal(cJSON_GetArraySize(v1), 4);
    static const char *const stdlib[] = {"/usr/lib/python3.11", "<frozen runpy>",
                                         "<frozen importlib._bootstrap>",
                                         "<frozen importlib._bootstrap_external>"};
    assert_library(cJSON_GetArrayItem(v1, 0), "standard library", "stdlib", "3.11.2", stdlib, 4);
    static const char *const native[] = {"<native>"};
    assert_library(cJSON_GetArrayItem(v1, 1), "library", "native", "", native, 1);
    static const char *const flask[] = {"/v/site-packages/flask"};
    assert_library(cJSON_GetArrayItem(v1, 2), "library", "Flask", "3.0.3", flask, 1);
    static const char *const protobuf[] = {"/v/site-packages/google/protobuf",
                                           "/v/site-packages/google/_upb"};
    assert_library(cJSON_GetArrayItem(v1, 3), "library", "protobuf", "5.28.3", protobuf, 2);
    cJSON_Delete(doc);
}

static void test_nothing_found_still_names_stdlib_and_native(void **state)
{
    (void)state;
    cJSON *doc = attachment_of("{}", NULL);
    const cJSON *v1 = cJSON_GetObjectItem(doc, "v1");
    assert_int_equal(cJSON_GetArraySize(v1), 2);
    static const char *const stdlib[] = {"<frozen importlib._bootstrap>",
                                         "<frozen importlib._bootstrap_external>"};
    assert_library(cJSON_GetArrayItem(v1, 0), "standard library", "stdlib", "", stdlib, 2);
    cJSON_Delete(doc);
    /* a library without a version gets an empty one */
    doc = attachment_of("{\"libraries\":[{\"name\":\"x\",\"paths\":[]}]}", "3.8.18");
    v1 = cJSON_GetObjectItem(doc, "v1");
    assert_library(cJSON_GetArrayItem(v1, 2), "library", "x", "", NULL, 0);
    cJSON_Delete(doc);
}

static void test_malformed(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "[]",
        "\"x\"",
        "{\"stdlib\":\"/usr/lib/python3.11\"}",
        "{\"stdlib\":[1]}",
        "{\"libraries\":{}}",
        "{\"libraries\":[{\"version\":\"1\",\"paths\":[]}]}",
        "{\"libraries\":[{\"name\":\"\",\"paths\":[]}]}",
        "{\"libraries\":[{\"name\":\"a\",\"version\":1,\"paths\":[]}]}",
        "{\"libraries\":[{\"name\":\"a\",\"version\":\"1\"}]}",
        "{\"libraries\":[{\"name\":\"a\",\"version\":\"1\",\"paths\":[null]}]}",
        "{\"libraries\":[7]}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        cJSON *prov = cJSON_Parse(bad[i]);
        assert_non_null(prov);
        void *z = (void *)1;
        size_t zlen = 0;
        char err[160] = "";
        assert_int_equal(ex_provenance_attachment(prov, "3.12.1", &z, &zlen, err, sizeof err), -1);
        assert_null(z);
        assert_true(err[0] != '\0' && !strchr(err, '\n'));
        cJSON_Delete(prov);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_document),
        cmocka_unit_test(test_nothing_found_still_names_stdlib_and_native),
        cmocka_unit_test(test_malformed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
