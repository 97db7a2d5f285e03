/* The copies a stack walk reads through: merged read plans, pages copied on demand, what one walk
 * read copied again (fresh) at the start of the thread's next walk, data-stack chunks, and memory
 * that disappears between walks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "read_plan.h"
#include "safe_read.h"
#include "stack_snapshot.h"

static void test_merge(void **state)
{
    (void)state;
    /* descending, overlapping, within the gap, beyond it */
    pp_span s[] = {{10000, 100}, {5000, 100}, {5050, 100}, {5150 + PP_MERGE_GAP, 8}, {1000, 8}};
    size_t n = pp_spans_merge(s, 5);
    assert_int_equal(n, 3);
    assert_int_equal(s[0].addr, 1000);
    assert_int_equal(s[0].len, 8);
    assert_int_equal(s[1].addr, 5000);
    assert_int_equal(s[1].len, 150 + PP_MERGE_GAP + 8);
    assert_int_equal(s[2].addr, 10000);
    assert_int_equal(pp_spans_find(s, n, 5100, 50), 1);
    assert_int_equal(pp_spans_find(s, n, 10050, 50), 2);
    assert_int_equal(pp_spans_find(s, n, 10050, 51), -1); /* runs past the end */
    assert_int_equal(pp_spans_find(s, n, 2000, 8), -1);
    assert_int_equal(pp_spans_merge(s, 0), 0);
    /* a span inside another */
    pp_span t[] = {{100, 1000}, {200, 10}};
    assert_int_equal(pp_spans_merge(t, 2), 1);
    assert_int_equal(t[0].len, 1000);
}

static void test_walks(void **state)
{
    (void)state;
    assert_int_equal(pp_safe_read_init(), 0);
    long page = sysconf(_SC_PAGESIZE);
    assert_int_equal(page, PP_SNAPSHOT_PAGE);
    uint8_t *m =
        mmap(NULL, 4 * (size_t)page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true(m != MAP_FAILED);
    for (long i = 0; i < 4 * page; i++)
        m[i] = (uint8_t)i;
    pp_stack_snapshot s;
    assert_int_equal(pp_snapshot_init(&s, (pp_chunk_layout){0, 8, 16, 24}), 0);
    uint8_t out[64];

    /* first walk of thread 7: reads on pages 0 and 2, copied on demand */
    pp_snapshot_take(&s, 7, 0, 0);
    assert_int_equal(pp_snapshot_read(&s, out, (uintptr_t)m + 100, 16), 0);
    assert_memory_equal(out, m + 100, 16);
    assert_int_equal(pp_snapshot_read(&s, out, (uintptr_t)m + 2 * page + 8, 16), 0);
    assert_memory_equal(out, m + 2 * page + 8, 16);
    /* a read straddling pages 0 and 1 */
    assert_int_equal(pp_snapshot_read(&s, out, (uintptr_t)m + page - 8, 16), 0);
    assert_memory_equal(out, m + page - 8, 16);
    /* memory changed after a page was copied: this walk keeps seeing its copy */
    m[120] = 0xee;
    assert_int_equal(pp_snapshot_read(&s, out, (uintptr_t)m + 120, 1), 0);
    assert_int_equal(out[0], (uint8_t)120);

    /* another thread's walk in between */
    pp_snapshot_take(&s, 9, 0, 0);
    assert_int_equal(pp_snapshot_read(&s, out, (uintptr_t)m + 3 * page, 8), 0);

    /* thread 7 again: what it read last time is copied afresh when its walk starts */
    m[101] = 0xab;
    pp_snapshot_take(&s, 7, 0, 0);
    assert_true(s.n_ranges >= 1);
    m[101] = 0xcd; /* after the copy: not seen */
    assert_int_equal(pp_snapshot_read(&s, out, (uintptr_t)m + 100, 4), 0);
    assert_int_equal(out[1], 0xab);

    /* memory the last walk read is gone: the copy skips it and a read of it fails cleanly */
    assert_int_equal(pp_snapshot_read(&s, out, (uintptr_t)m + 2 * page + 8, 16), 0);
    pp_snapshot_take(&s, 9, 0, 0);
    munmap(m + 2 * (size_t)page, (size_t)page);
    pp_snapshot_take(&s, 7, 0, 0);
    assert_int_equal(pp_snapshot_read(&s, out, (uintptr_t)m + 2 * page + 8, 16), -1);
    assert_int_equal(pp_snapshot_read(&s, out, (uintptr_t)m + 100, 4), 0);
    assert_int_equal(out[1], 0xcd);

    /* a data-stack chunk: header (previous, size, top index) then the frames */
    uint64_t *chunk = (uint64_t *)(m + 3 * page);
    chunk[0] = 0;
    chunk[1] = (uint64_t)page;
    chunk[2] = 10;
    chunk[5] = 0x1122334455667788ULL;
    pp_snapshot_take(&s, 7, (uintptr_t)chunk, (uintptr_t)(chunk + 13));
    uint64_t v = 0;
    chunk[5] = 0; /* after the copy */
    assert_int_equal(pp_snapshot_read(&s, &v, (uintptr_t)(chunk + 5), 8), 0);
    assert_true(v == 0x1122334455667788ULL);
    pp_snapshot_free(&s);
    munmap(m, 4 * (size_t)page);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_merge),
        cmocka_unit_test(test_walks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
