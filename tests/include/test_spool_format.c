/* The spool names (podprof/spool_format.h) as the writer builds them and both readers parse them,
 * and the LD_PRELOAD rule (podprof/ld_preload.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <cmocka.h>

#include "podprof/ld_preload.h"
#include "podprof/spool_format.h"

static void test_names_round_trip(void **state)
{
    (void)state;
    char name[64];
    uint64_t pid, seq;
    size_t bl;
    assert_true(pp_spool_name(name, sizeof name, "profile.1", 4242, 7, PP_SPOOL_PPROF));
    assert_string_equal(name, "profile.1.4242.7.pprof");
    assert_int_equal(pp_spool_parse(name, "profile.1", &pid, &seq, &bl), PP_SPOOL_IS_PPROF);
    assert_int_equal(pid, 4242);
    assert_int_equal(seq, 7);
    assert_int_equal(bl, 9);
    assert_int_equal(pp_spool_parse("profile.1.4242.7.json", NULL, &pid, &seq, NULL),
                     PP_SPOOL_IS_JSON);
    volatile size_t small = 10; /* too short for the name; volatile keeps the check at run time */
    assert_false(pp_spool_name(name, small, "profile", 1, 1, PP_SPOOL_JSON));
}

static void test_other_names(void **state)
{
    (void)state;
    uint64_t pid, seq;
    const char *other[] = {"profile.1.pprof",
                           ".1.2.pprof",
                           "profile.1.2.pprof.tmp",
                           "profile.x.2.json",
                           "profile.1.2.txt",
                           "profile..2.json",
                           "profile.1234567890123456789.2.json",
                           "pprof"};
    for (size_t i = 0; i < sizeof other / sizeof other[0]; i++)
        assert_int_equal(pp_spool_parse(other[i], NULL, &pid, &seq, NULL), PP_SPOOL_OTHER);
    assert_int_equal(pp_spool_parse("other.1.2.json", "profile", &pid, &seq, NULL), PP_SPOOL_OTHER);
}

static void test_split(void **state)
{
    (void)state;
    char dir[64];
    const char *base;
    const char *cases[][3] = {{"/var/run/podprof/profile", "/var/run/podprof", "profile"},
                              {"/var/run/podprof/", "/var/run/podprof", "profile"},
                              {"run", ".", "run"},
                              {"/top", "/", "top"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_true(pp_spool_split(cases[i][0], dir, sizeof dir, &base));
        assert_string_equal(dir, cases[i][1]);
        assert_string_equal(base, cases[i][2]);
    }
}

static void test_ld_preload(void **state)
{
    (void)state;
    const char *lib = "/opt/podprof/libpodprof.so";
    const char *cases[][2] = {
        {NULL, "/opt/podprof/libpodprof.so"},
        {"", "/opt/podprof/libpodprof.so"},
        {"libjemalloc.so", "/opt/podprof/libpodprof.so:libjemalloc.so"},
        {"a.so /opt/podprof/libpodprof.so", "a.so /opt/podprof/libpodprof.so"},
        {"/opt/podprof/libpodprof.so.old",
         "/opt/podprof/libpodprof.so:/opt/podprof/libpodprof.so.old"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *v = pp_ld_preload_prepend(lib, cases[i][0]);
        assert_string_equal(v, cases[i][1]);
        free(v);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names_round_trip),
        cmocka_unit_test(test_other_names),
        cmocka_unit_test(test_split),
        cmocka_unit_test(test_ld_preload),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
