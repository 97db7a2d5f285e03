/* The settings engine (podprof/settings.h) on a table with one row of each kind. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "podprof/log.h"
#include "podprof/settings.h"

typedef struct cfg {
    bool on;
    int n, level;
    double rate;
    char *name, *kept;
} cfg;

static const char *const levels[] = PP_LOG_LEVEL_CHOICES;
#define F(field) offsetof(cfg, field)
static const pp_setting table[] = {
    {.name = "PP_TEST_ON", .kind = PP_SETTING_BOOL, .offset = F(on), .def = "false"},
    {.name = "PP_TEST_N",
     .kind = PP_SETTING_INT,
     .offset = F(n),
     .def = "64",
     .min = 1,
     .max = 2048},
    {.name = "PP_TEST_RATE",
     .kind = PP_SETTING_DOUBLE,
     .offset = F(rate),
     .def = "100",
     .min = 0.5,
     .max = 1000},
    {.name = "PP_TEST_LEVEL",
     .kind = PP_SETTING_CHOICE,
     .offset = F(level),
     .def = "warn",
     .choices = levels},
    {.name = "PP_TEST_NAME", .kind = PP_SETTING_STRING, .offset = F(name)},
    {.name = "PP_TEST_KEPT",
     .kind = PP_SETTING_STRING,
     .offset = F(kept),
     .def = "*",
     .flags = PP_SETTING_KEEP_EMPTY | PP_SETTING_SECRET},
};
#define N (sizeof table / sizeof table[0])

static void test_defaults_and_values(void **state)
{
    (void)state;
    cfg c = {0};
    assert_int_equal(pp_settings_defaults(&c, table, N), 0);
    assert_false(c.on);
    assert_int_equal(c.n, 64);
    assert_true(c.rate == 100);
    assert_int_equal(c.level, PP_LOG_WARN);
    assert_null(c.name);
    assert_string_equal(c.kept, "*");
    assert_int_equal(pp_setting_set(&c, &table[0], "YES"), 0);
    assert_true(c.on);
    assert_int_equal(pp_setting_set(&c, &table[3], "Warning"), 0);
    assert_int_equal(c.level, PP_LOG_WARN);
    assert_int_equal(pp_setting_set(&c, &table[3], "3"), 0);
    assert_int_equal(c.level, PP_LOG_DEBUG);
    assert_int_equal(pp_setting_set(&c, &table[4], "svc"), 0);
    assert_string_equal(c.name, "svc");
    assert_int_equal(pp_setting_set(&c, &table[4], ""), 0); /* empty is unset */
    assert_null(c.name);
    assert_int_equal(pp_setting_set(&c, &table[5], ""), 0); /* unless kept */
    assert_string_equal(c.kept, "");
    pp_settings_free(&c, table, N);
    assert_null(c.kept);
}

static void test_refused_values_leave_the_field(void **state)
{
    (void)state;
    cfg c = {0};
    pp_settings_defaults(&c, table, N);
    const char *bad[][2] = {{"0", "maybe"}, {"1", "2049"}, {"1", "64.5"}, {"2", "0.1"},
                            {"2", "nan"},   {"3", "loud"}, {"3", ""}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(pp_setting_set(&c, &table[bad[i][0][0] - '0'], bad[i][1]), -1);
    assert_false(c.on);
    assert_int_equal(c.n, 64);
    assert_true(c.rate == 100);
    assert_int_equal(c.level, PP_LOG_WARN);
    char line[200];
    pp_setting_refusal(line, sizeof line, "PP_TEST_N", &table[1], "2049");
    assert_string_equal(line, "PP_TEST_N=2049 is not an integer from 1 to 2048");
    pp_setting_refusal(line, sizeof line, "--level", &table[3], "loud");
    assert_string_equal(line, "--level=loud is not one of error, warn, info, debug");
    pp_setting_refusal(line, sizeof line, "PP_TEST_KEPT", &table[5], "hunter2");
    assert_null(strstr(line, "hunter2")); /* secret */
    pp_setting_refusal(line, sizeof line, "PP_TEST_NAME", &table[4], "a\r\nX: y");
    assert_string_equal(line, "PP_TEST_NAME: contains control characters");
    pp_settings_free(&c, table, N);
}

static int reported;
static void count(void *ctx, const pp_setting *s, const char *line)
{
    (void)ctx, (void)s, (void)line;
    reported++;
}

static void test_environment_layer(void **state)
{
    (void)state;
    cfg c = {0};
    pp_settings_defaults(&c, table, N);
    setenv("PP_TEST_N", "128", 1);
    setenv("PP_TEST_RATE", "fast", 1);
    reported = 0;
    assert_int_equal(pp_settings_from_env(&c, table, N, NULL, 0, count, NULL), 1);
    assert_int_equal(reported, 1);
    assert_int_equal(c.n, 128);
    assert_true(c.rate == 100);
    /* with a prefix, a flag name "n" is read from PREFIX_N */
    static const pp_setting flag = {
        .name = "test-n", .kind = PP_SETTING_INT, .offset = F(n), .min = 0, .max = 9};
    char buf[64];
    assert_string_equal(pp_setting_env_name("PP_", &flag, buf, sizeof buf), "PP_TEST_N");
    setenv("PP_TEST_N", "7", 1);
    assert_int_equal(pp_settings_from_env(&c, &flag, 1, "PP_", 0, count, NULL), 0);
    assert_int_equal(c.n, 7);
    unsetenv("PP_TEST_N");
    unsetenv("PP_TEST_RATE");
    pp_settings_free(&c, table, N);
}

static void test_flags(void **state)
{
    (void)state;
    static const pp_setting flags[] = {
        {.name = "once", .kind = PP_SETTING_BOOL},
        {.name = "rate", .kind = PP_SETTING_DOUBLE, .min = 1, .max = 10},
    };
    char *argv[] = {"cmd", "--once", "--rate", "5", "--rate=6", "--rate", "--other", NULL};
    const char *v;
    int used;
    const pp_setting *s = pp_settings_match_flag(flags, 2, 7, argv, 1, &v, &used);
    assert_ptr_equal(s, &flags[0]);
    assert_string_equal(v, "true");
    assert_int_equal(used, 1);
    s = pp_settings_match_flag(flags, 2, 7, argv, 2, &v, &used);
    assert_ptr_equal(s, &flags[1]);
    assert_string_equal(v, "5");
    assert_int_equal(used, 2);
    s = pp_settings_match_flag(flags, 2, 7, argv, 4, &v, &used);
    assert_string_equal(v, "6");
    assert_int_equal(used, 1);
    assert_null(pp_settings_match_flag(flags, 2, 7, argv, 6, &v, &used));
    s = pp_settings_match_flag(flags, 2, 6, argv, 5, &v, &used); /* last argument */
    assert_ptr_equal(s, &flags[1]);
    assert_null(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_and_values),
        cmocka_unit_test(test_refused_values_leave_the_field),
        cmocka_unit_test(test_environment_layer),
        cmocka_unit_test(test_flags),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
