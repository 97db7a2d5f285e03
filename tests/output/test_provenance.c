/* Code provenance against a filesystem laid out as installers leave it: wheels (.dist-info with
 * METADATA and RECORD, a quoted RECORD path, no METADATA), eggs (.egg-info with
 * installed-files.txt, with top_level.txt only as Debian ships them, a single-file distutils
 * .egg-info), namespace packages split by RECORD and by setuptools' dotted names, a dist-packages
 * directory, standard-library directories (with and without os.py, of another version), frozen
 * modules, and the application's own files: what each file of a profile belongs to, what is
 * remembered (a directory is read once), and the bound on directories. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "aggregate.h"
#include "provenance.h"

static char top[256];

static void put(const char *rel, const char *text)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", top, rel);
    for (char *p = path + strlen(top) + 1; (p = strchr(p, '/')) != NULL; p++) {
        *p = '\0';
        assert_true(mkdir(path, 0755) == 0 || errno == EEXIST);
        *p = '/';
    }
    if (text) {
        FILE *f = fopen(path, "w");
        assert_non_null(f);
        fputs(text, f);
        fclose(f);
    } else {
        assert_true(mkdir(path, 0755) == 0 || errno == EEXIST);
    }
}

static int make_tree(void **state)
{
    (void)state;
    snprintf(top, sizeof top, "/tmp/podprof-test-provenance-XXXXXX");
    if (!mkdtemp(top))
        return -1;
    const char *sp = "venv/lib/python3.12/site-packages";
    char r[512];
#define AT(rel) (snprintf(r, sizeof r, "%s/%s", sp, rel), r)
    /* a wheel: METADATA names it; RECORD lists its package, its dist-info, a script outside */
    put(AT("Flask-3.0.3.dist-info/METADATA"),
        "Metadata-Version: 2.1\nName: Flask\nVersion: 3.0.3\nSummary: x\n\nName: NotThis\n");
    put(AT("Flask-3.0.3.dist-info/RECORD"),
        "flask/__init__.py,sha256=x,1\nflask/app.py,sha256=x,2\n"
        "flask-3.0.3.dist-info/METADATA,,\n../../../bin/flask,sha256=x,3\n"
        "flask/__pycache__/app.cpython-312.pyc,,\n");
    put(AT("flask/app.py"), "");
    /* a top-level module, and its __pycache__ */
    put(AT("six-1.16.0.dist-info/METADATA"), "Name: six\r\nVersion: 1.16.0\r\n\r\n");
    put(AT("six-1.16.0.dist-info/RECORD"), "six.py,,\n__pycache__/six.cpython-312.pyc,,\n");
    /* a namespace package two wheels install into */
    put(AT("protobuf-5.28.3.dist-info/METADATA"), "Name: protobuf\nVersion: 5.28.3\n");
    put(AT("protobuf-5.28.3.dist-info/RECORD"),
        "google/protobuf/__init__.py,,\ngoogle/protobuf/json_format.py,,\n"
        "google/_upb/_message.abi3.so,,\n");
    put(AT("googleapis_common_protos-1.65.0.dist-info/METADATA"),
        "Name: googleapis-common-protos\nVersion: 1.65.0\n");
    put(AT("googleapis_common_protos-1.65.0.dist-info/RECORD"),
        "google/api/http_pb2.py,,\ngoogle/type/date_pb2.py,,\n");
    /* an egg with installed-files.txt (paths relative to the .egg-info directory) */
    put(AT("oldpkg-1.0-py3.12.egg-info/PKG-INFO"), "Name: oldpkg\nVersion: 1.0\n");
    put(AT("oldpkg-1.0-py3.12.egg-info/installed-files.txt"),
        "../oldpkg/__init__.py\n../oldpkg/core.py\nPKG-INFO\ntop_level.txt\n");
    /* an egg as Debian ships it: top_level.txt only */
    put(AT("Pygments-2.14.0.egg-info/PKG-INFO"), "Name: Pygments\nVersion: 2.14.0\n");
    put(AT("Pygments-2.14.0.egg-info/top_level.txt"), "pygments\n");
    put(AT("pygments/lexer.py"), "");
    /* the same, a namespace: lazr.uri and lazr.restfulclient both say "lazr" */
    put(AT("lazr.uri-1.0.6.egg-info/PKG-INFO"), "Name: lazr.uri\nVersion: 1.0.6\n");
    put(AT("lazr.uri-1.0.6.egg-info/top_level.txt"), "lazr\n");
    put(AT("lazr.restfulclient-0.14.5.egg-info/PKG-INFO"),
        "Name: lazr.restfulclient\nVersion: 0.14.5\n");
    put(AT("lazr.restfulclient-0.14.5.egg-info/top_level.txt"), "lazr\n");
    put(AT("lazr/uri/_uri.py"), "");
    put(AT("lazr/restfulclient/resource.py"), "");
    /* a distutils .egg-info that is a file, its module named after it */
    put(AT("tiny_mod-0.1-py3.12.egg-info"),
        "Metadata-Version: 1.0\nName: tiny-mod\nVersion: 0.1\n");
    put(AT("tiny_mod.py"), "");
    /* no METADATA: name and version from the directory; a quoted RECORD path */
    put(AT("nometa-2.0.dist-info/RECORD"), "\"odd,name/__init__.py\",,\n");
    /* copied in by hand: no distribution lists it */
    put(AT("loose.py"), "");
    /* Debian's layout: dist-packages */
    put("usr/lib/python3/dist-packages/requests-2.28.1.dist-info/METADATA",
        "Name: requests\nVersion: 2.28.1\n");
    put("usr/lib/python3/dist-packages/requests-2.28.1.dist-info/RECORD",
        "requests/__init__.py,,\nrequests/api.py,,\n");
    /* standard libraries: this version's with os.py, a look-alike without, another version's */
    put("prefix/lib/python3.12/os.py", "");
    put("prefix/lib/python3.12/threading.py", "");
    put("fake/lib/python3.12/threading.py", "");
    put("old/lib/python3.11/os.py", "");
    /* the application, and an .egg-info of its own beside it (setup.py develop leaves one) */
    put("srv/app/app.py", "");
    put("srv/app/app.egg-info/PKG-INFO", "Name: app\nVersion: 0.1\n");
    put("srv/app/app.egg-info/top_level.txt", "app\n");
#undef AT
    return 0;
}

static int remove_tree(void **state)
{
    (void)state;
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", top);
    return system(cmd);
}

/* An aggregate with one stack whose frames are in these files (relative to the tree, or as is
 * when they start with '<' or have no '/'). */
static pp_agg *stack_of(const char *const *files, size_t n)
{
    pp_agg *agg = pp_agg_new(100, 1 << 20);
    pp_frame frames[64];
    for (size_t i = 0; i < n; i++) {
        char path[1024];
        if (files[i][0] == '<' || !strchr(files[i], '/'))
            snprintf(path, sizeof path, "%s", files[i]);
        else
            snprintf(path, sizeof path, "%s/%s", top, files[i]);
        frames[i] = (pp_frame){pp_agg_intern(agg, "f", 1), pp_agg_intern(agg, path, strlen(path)),
                               (int32_t)i + 1};
    }
    pp_sample_key key = {1, 2, 0, frames, n, 0, 0, 0};
    pp_agg_add(agg, &key, 1, 1);
    return agg;
}

static const pp_provenance_library *find_lib(const pp_provenance_view *v, const char *name)
{
    for (size_t i = 0; i < v->n_libraries; i++)
        if (!strcmp(v->libraries[i].name, name))
            return &v->libraries[i];
    return NULL;
}

/* The library's paths, relative to the tree, sorted and joined with spaces. */
static const char *paths_of(const pp_provenance_library *lib)
{
    static char out[2048];
    const char *rel[32];
    size_t n = 0, tl = strlen(top);
    assert_true(lib->n_paths <= 32);
    for (size_t i = 0; i < lib->n_paths; i++) {
        assert_memory_equal(lib->paths[i], top, tl);
        rel[n++] = lib->paths[i] + tl + 1;
    }
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++)
            if (strcmp(rel[j], rel[i]) < 0) {
                const char *t = rel[i];
                rel[i] = rel[j];
                rel[j] = t;
            }
    out[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        if (i)
            strcat(out, " ");
        strcat(out, rel[i]);
    }
    return out;
}

#define SP "venv/lib/python3.12/site-packages/"

static void test_what_each_file_belongs_to(void **state)
{
    (void)state;
    static const char *const files[] = {
        SP "flask/app.py",
        SP "six.py",
        SP "google/protobuf/json_format.py",
        SP "google/type/date_pb2.py",
        SP "oldpkg/core.py",
        SP "pygments/lexer.py",
        SP "lazr/uri/_uri.py",
        SP "lazr/restfulclient/resource.py",
        SP "tiny_mod.py",
        SP "odd,name/__init__.py",
        SP "loose.py",
        "usr/lib/python3/dist-packages/requests/api.py",
        "prefix/lib/python3.12/threading.py",
        "fake/lib/python3.12/threading.py",
        "old/lib/python3.11/os.py",
        "srv/app/app.py",
        "<frozen runpy>",
        "<frozen importlib._bootstrap>",
        "app.py",
        "<string>",
    };
    pp_provenance *pv = pp_provenance_new("3.12.1");
    pp_agg *agg = stack_of(files, sizeof files / sizeof *files);
    pp_provenance_view v;
    assert_int_equal(pp_provenance_collect(pv, agg, &v), 0);

    char want[512];
    snprintf(want, sizeof want, "%s/prefix/lib/python3.12", top);
    assert_int_equal(v.n_stdlib, 3);
    assert_string_equal(v.stdlib[0], want);
    assert_string_equal(v.stdlib[1], "<frozen runpy>");
    assert_string_equal(v.stdlib[2], "<frozen importlib._bootstrap>");

    static const struct {
        const char *name, *version, *paths;
    } want_libs[] = {
        {"Flask", "3.0.3", SP "flask"},
        {"six", "1.16.0", SP "six.py"},
        {"protobuf", "5.28.3", SP "google/_upb " SP "google/protobuf"},
        {"googleapis-common-protos", "1.65.0", SP "google/api " SP "google/type"},
        {"oldpkg", "1.0", SP "oldpkg"},
        {"Pygments", "2.14.0", SP "pygments"},
        {"lazr.uri", "1.0.6", SP "lazr/uri"},
        {"lazr.restfulclient", "0.14.5", SP "lazr/restfulclient"},
        {"tiny-mod", "0.1", SP "tiny_mod.py"},
        {"nometa", "2.0", SP "odd,name"},
        {"requests", "2.28.1", "usr/lib/python3/dist-packages/requests"},
    };
    size_t n_want = sizeof want_libs / sizeof *want_libs;
    for (size_t i = 0; i < n_want; i++) {
        const pp_provenance_library *lib = find_lib(&v, want_libs[i].name);
        if (!lib)
            fail_msg("library %s not found", want_libs[i].name);
        assert_string_equal(lib->version, want_libs[i].version);
        assert_string_equal(paths_of(lib), want_libs[i].paths);
    }
    /* nothing else: loose.py, the look-alike and other-version stdlib, the app (and its own
     * .egg-info), relative and pseudo file names belong to no library */
    assert_int_equal(v.n_libraries, n_want);
    assert_null(find_lib(&v, "app"));
    assert_int_equal(pp_provenance_truncated(pv), 0);
    pp_agg_free(agg);

    /* Another profile: only what it runs is listed, and what was read is remembered (the
     * metadata is gone from disk, the answer is not). */
    char gone[1024];
    snprintf(gone, sizeof gone, "rm -rf '%s/" SP "Flask-3.0.3.dist-info'", top);
    assert_int_equal(system(gone), 0);
    static const char *const second[] = {SP "flask/app.py", "srv/app/app.py"};
    agg = stack_of(second, 2);
    assert_int_equal(pp_provenance_collect(pv, agg, &v), 0);
    assert_int_equal(v.n_stdlib, 0);
    assert_int_equal(v.n_libraries, 1);
    assert_string_equal(v.libraries[0].name, "Flask");
    pp_agg_free(agg);
    pp_provenance_free(pv);
}

static void test_bounded_directories(void **state)
{
    (void)state;
    /* more site-packages directories than the bound: the ones beyond it are not read */
    const char *files[20];
    char names[20][64];
    for (int i = 0; i < 20; i++) {
        snprintf(names[i], sizeof names[i], "many/r%d/site-packages/m%d.py", i, i);
        put(names[i], "");
        files[i] = names[i];
    }
    pp_provenance *pv = pp_provenance_new("3.12.1");
    pp_agg *agg = stack_of(files, 20);
    pp_provenance_view v;
    assert_int_equal(pp_provenance_collect(pv, agg, &v), 0);
    assert_int_equal(v.n_libraries, 0);
    assert_true(pp_provenance_truncated(pv) >= 4);
    pp_agg_free(agg);
    pp_provenance_free(pv);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_what_each_file_belongs_to),
        cmocka_unit_test(test_bounded_directories),
    };
    return cmocka_run_group_tests(tests, make_tree, remove_tree);
}
