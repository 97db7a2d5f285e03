/* The three line-table decoders against what each real CPython reports for the same code
 * objects (fixtures written at build time by gen_linetable_fixtures.py, one file per
 * interpreter, listed in LINETABLE_FIXTURES). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "linetable.h"

typedef struct {
    long codes, offsets, mismatches;
} tally;

static int hexval(int c)
{
    return c <= '9' ? c - '0' : c - 'a' + 10;
}

static void check_file(const char *path, tally *t)
{
    FILE *f = fopen(path, "r");
    if (!f)
        fail_msg("missing fixture %s", path);
    static char line[1 << 20];
    static uint8_t table[1 << 19];
    size_t table_len = 0;
    int format = 0, firstlineno = 0, in_code = 0;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "code ", 5) == 0) {
            char hex[sizeof line];
            assert_int_equal(sscanf(line, "code %d %d %s", &format, &firstlineno, hex), 3);
            table_len = 0;
            for (size_t i = 0; hex[0] != '-' && hex[i] && hex[i + 1]; i += 2)
                table[table_len++] = (uint8_t)(hexval(hex[i]) << 4 | hexval(hex[i + 1]));
            in_code = 1;
            t->codes++;
        } else if (strncmp(line, "end", 3) == 0) {
            in_code = 0;
        } else {
            long offset;
            int want;
            assert_true(in_code);
            assert_int_equal(sscanf(line, "%ld %d", &offset, &want), 2);
            int got =
                pp_line_for_offset((pp_line_format)format, table, table_len, firstlineno, offset);
            t->offsets++;
            if (got != want && t->mismatches++ < 5)
                print_error("%s: format %d firstlineno %d offset %ld: got %d, want %d\n", path,
                            format, firstlineno, offset, got, want);
        }
    }
    fclose(f);
}

static void test_every_interpreter(void **state)
{
    (void)state;
    char list[] = LINETABLE_FIXTURES;
    int files = 0;
    for (char *path = strtok(list, " "); path; path = strtok(NULL, " ")) {
        tally t = {0, 0, 0};
        check_file(path, &t);
        printf("%s: %ld code objects, %ld offsets, %ld mismatches\n", path, t.codes, t.offsets,
               t.mismatches);
        assert_true(t.codes > 1000);
        assert_int_equal(t.mismatches, 0);
        files++;
    }
    assert_true(files >= 6);
}

static void test_not_started_frame_reports_first_line(void **state)
{
    (void)state;
    const uint8_t table[] = {0x02, 0x01};
    assert_int_equal(pp_line_for_offset(PP_LINES_LNOTAB, table, 2, 7, -1), 7);
    assert_int_equal(pp_line_for_offset(PP_LINES_LOCATIONS, table, 2, 7, -1), 7);
}

static void test_truncated_location_table_is_no_line(void **state)
{
    (void)state;
    /* a long-form entry (code 14) cut after its first byte, then garbage */
    const uint8_t table[] = {0xf0, 0x01};
    assert_int_equal(pp_line_for_offset(PP_LINES_LOCATIONS, table, 1, 3, 5), 0);
    assert_int_equal(pp_line_for_offset(PP_LINES_LOCATIONS, table, 2, 3, 9), 0);
    assert_int_equal(pp_line_for_offset(PP_LINES_LINETABLE, table, 1, 3, 0), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_interpreter),
        cmocka_unit_test(test_not_started_frame_reports_first_line),
        cmocka_unit_test(test_truncated_location_table_is_no_line),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
