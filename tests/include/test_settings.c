/* The settings engine (podprof/settings.h) on a table with one row of each kind. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "podprof/log.h"
#include "podprof/settings.h"
#include "podprof/settings_doc.h"

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

/* A command line's flags: a short alias, a value-less BOOL flag, values of each form. */
typedef struct cli {
    char *out;
    bool lines;
    int n;
} cli;
static const pp_setting cli_table[] = {
    {.name = "output",
     .short_name = 'o',
     .meta = "OUT",
     .kind = PP_SETTING_STRING,
     .offset = offsetof(cli, out)},
    {.name = "lines", .kind = PP_SETTING_BOOL, .offset = offsetof(cli, lines)},
    {.name = "max",
     .meta = "N",
     .kind = PP_SETTING_INT,
     .offset = offsetof(cli, n),
     .def = "7",
     .min = 1,
     .max = 9},
};
#define CLI_N (sizeof cli_table / sizeof cli_table[0])

static void test_short_alias(void **state)
{
    (void)state;
    char *argv[] = {"cmd", "-o", "x.svg", "-o=y.svg", "-x", "-on", "-", NULL};
    const char *v;
    int used;
    assert_ptr_equal(pp_settings_match_flag(cli_table, CLI_N, 7, argv, 1, &v, &used),
                     &cli_table[0]);
    assert_string_equal(v, "x.svg");
    assert_int_equal(used, 2);
    assert_ptr_equal(pp_settings_match_flag(cli_table, CLI_N, 7, argv, 3, &v, &used),
                     &cli_table[0]);
    assert_string_equal(v, "y.svg");
    assert_int_equal(used, 1);
    assert_null(pp_settings_match_flag(cli_table, CLI_N, 7, argv, 4, &v, &used)); /* no -x */
    assert_null(pp_settings_match_flag(cli_table, CLI_N, 7, argv, 5, &v, &used)); /* not -o n */
    assert_null(pp_settings_match_flag(cli_table, CLI_N, 7, argv, 6, &v, &used)); /* stdin */
    /* A row without an alias is not matched by a single dash and its first letter. */
    char *lone[] = {"cmd", "-l", NULL};
    assert_null(pp_settings_match_flag(cli_table, CLI_N, 2, lone, 1, &v, &used));
}

/* Parses argv (NULL-terminated) with the defaults first; returns pp_settings_parse_flags's. */
static int parse(cli *c, char **argv, bool anywhere, pp_flags_stop *stop)
{
    int argc = 0;
    while (argv[argc])
        argc++;
    memset(c, 0, sizeof *c);
    assert_int_equal(pp_settings_defaults(c, cli_table, CLI_N), 0);
    return pp_settings_parse_flags(c, cli_table, CLI_N, argc, argv, anywhere, stop);
}

static void test_leading_flags(void **state)
{
    (void)state;
    cli c;
    pp_flags_stop stop;
    char *a1[] = {"cmd", "--lines", "-o", "out", "--max=3", "A", "--max", "4", NULL};
    assert_int_equal(parse(&c, a1, false, &stop), 5); /* the first positional ends the flags */
    assert_true(c.lines);
    assert_string_equal(c.out, "out");
    assert_int_equal(c.n, 3);
    assert_string_equal(a1[5], "A"); /* argv is left as it was */
    assert_string_equal(a1[6], "--max");
    free(c.out);

    char *a2[] = {"cmd", "--max", "2", "--", "--lines", NULL};
    assert_int_equal(parse(&c, a2, false, &stop), 4); /* after "--" */
    assert_false(c.lines);
    assert_int_equal(c.n, 2);

    char *a3[] = {"cmd", "--lines=false", NULL};
    assert_int_equal(parse(&c, a3, false, &stop), 2); /* none: argc */
    assert_false(c.lines);
}

static void test_flags_anywhere(void **state)
{
    (void)state;
    cli c;
    pp_flags_stop stop;
    /* `diff BASE NEW -o X`: the positional arguments keep their order, behind the flags. */
    char *a1[] = {"cmd", "BASE", "--lines", "NEW", "-o", "X", "-", "--max", "5", NULL};
    int first = parse(&c, a1, true, &stop);
    assert_int_equal(first, 6);
    assert_string_equal(a1[1], "--lines");
    assert_string_equal(a1[2], "-o");
    assert_string_equal(a1[3], "X");
    assert_string_equal(a1[4], "--max");
    assert_string_equal(a1[5], "5");
    assert_string_equal(a1[6], "BASE");
    assert_string_equal(a1[7], "NEW");
    assert_string_equal(a1[8], "-"); /* a lone dash is positional */
    assert_true(c.lines);
    assert_string_equal(c.out, "X");
    assert_int_equal(c.n, 5);
    free(c.out);

    /* After "--" everything is positional, after those seen before it. */
    char *a2[] = {"cmd", "A", "--lines", "--", "--max", "B", NULL};
    first = parse(&c, a2, true, &stop);
    assert_int_equal(first, 3);
    assert_string_equal(a2[1], "--lines");
    assert_string_equal(a2[2], "--");
    assert_string_equal(a2[3], "A");
    assert_string_equal(a2[4], "--max");
    assert_string_equal(a2[5], "B");
    assert_int_equal(c.n, 7);

    /* Only positional arguments. */
    char *a3[] = {"cmd", "A", "B", NULL};
    assert_int_equal(parse(&c, a3, true, &stop), 1);
}

static void test_flags_stop(void **state)
{
    (void)state;
    cli c;
    pp_flags_stop stop;
    char *unknown[] = {"cmd", "A", "--help", NULL};
    assert_int_equal(parse(&c, unknown, true, &stop), -1);
    assert_int_equal(stop.arg, 2);
    assert_null(stop.row); /* the caller's own flag, or an unknown one */

    char *refused[] = {"cmd", "--max", "10", NULL};
    assert_int_equal(parse(&c, refused, false, &stop), -1);
    assert_int_equal(stop.arg, 1);
    assert_ptr_equal(stop.row, &cli_table[2]);
    assert_string_equal(stop.value, "10");
    assert_int_equal(c.n, 7); /* the default stays */

    char *missing[] = {"cmd", "A", "-o", NULL};
    assert_int_equal(parse(&c, missing, true, &stop), -1);
    assert_ptr_equal(stop.row, &cli_table[0]);
    assert_null(stop.value);
}

static void test_flag_labels(void **state)
{
    (void)state;
    pp_settings_view flags = {cli_table, CLI_N, 0, true, NULL, NULL};
    pp_settings_view env = {table, N, 0, false, NULL, NULL};
    char buf[96];
    assert_string_equal(pp_settings_label(&flags, &cli_table[0], buf, sizeof buf),
                        "-o, --output OUT");
    assert_string_equal(pp_settings_label(&flags, &cli_table[1], buf, sizeof buf), "--lines");
    assert_string_equal(pp_settings_label(&flags, &cli_table[2], buf, sizeof buf), "--max N");
    assert_string_equal(pp_settings_label(&env, &table[0], buf, sizeof buf), "PP_TEST_ON");
    /* The alias sits in the row's padding: a table costs what it did without it. */
    assert_int_equal(sizeof(pp_setting), 5 * sizeof(char *) + 2 * sizeof(double) + 8);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_and_values),
        cmocka_unit_test(test_refused_values_leave_the_field),
        cmocka_unit_test(test_environment_layer),
        cmocka_unit_test(test_flags),
        cmocka_unit_test(test_short_alias),
        cmocka_unit_test(test_leading_flags),
        cmocka_unit_test(test_flags_anywhere),
        cmocka_unit_test(test_flags_stop),
        cmocka_unit_test(test_flag_labels),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
