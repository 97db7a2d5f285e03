/* The copies a stack walk reads through: merged read plans, pages copied on demand, what one walk
 * read copied again (fresh) at the start of the thread's next walk, data-stack chunks, memory
 * that disappears between walks, and the copies prefetched with the thread state. */
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
    /* Beyond a span limit the smallest gaps are bridged first: gaps 1000, 300, 1000, 20, 300
     * (merge gap 8), at most 3 spans: the 20 and both 300s are bridged. */
    pp_span u[] = {{0, 100}, {1100, 100}, {1500, 100}, {2600, 100}, {2720, 80}, {3100, 100}};
    assert_int_equal(pp_spans_merge_within(u, 6, 8, 6), 6);
    assert_int_equal(pp_spans_merge_within(u, 6, 8, 3), 3);
    assert_int_equal(u[0].addr, 0);
    assert_int_equal(u[0].len, 100);
    assert_int_equal(u[1].addr, 1100);
    assert_int_equal(u[1].len, 500);
    assert_int_equal(u[2].addr, 2600);
    assert_int_equal(u[2].len, 600);
    /* ties: of four equal gaps, exactly the two needed are bridged (the first two) */
    pp_span v[] = {{0, 10}, {20, 10}, {40, 10}, {60, 10}, {80, 10}};
    assert_int_equal(pp_spans_merge_within(v, 5, 0, 3), 3);
    assert_int_equal(v[0].len, 50);
    assert_int_equal(v[1].addr, 60);
    assert_int_equal(v[2].addr, 80);
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

static uint64_t read_calls(void)
{
    pp_read_stats r;
    pp_safe_read_stats(&r);
    return r.calls;
}

/* The thread state read with what the thread's walk is expected to read: one system call when the
 * guess holds, the live chunk copied again when it does not, and nothing guessed for a thread
 * whose last look did not walk it. */
/* The thread state alone as the caller's request. */
static int prefetch_state(pp_stack_snapshot *s, uint64_t thread, uintptr_t tstate, void *dst,
                          size_t len)
{
    pp_read_req head = {dst, tstate, len, 0};
    return pp_snapshot_prefetch(s, thread, &head, 1);
}

static void test_prefetch(void **state)
{
    (void)state;
    assert_int_equal(pp_safe_read_init(), 0);
    long page = sysconf(_SC_PAGESIZE);
    uint8_t *m =
        mmap(NULL, 4 * (size_t)page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true(m != MAP_FAILED);
    uint64_t *tstate = (uint64_t *)m;
    uint64_t *chunk = (uint64_t *)(m + page); /* previous, size, top index, then the data */
    chunk[0] = 0;
    chunk[1] = 2 * (uint64_t)page;
    chunk[2] = 10;
    for (int i = 3; i < 64; i++)
        chunk[i] = 1000 + (uint64_t)i;
    pp_stack_snapshot s;
    assert_int_equal(pp_snapshot_init(&s, (pp_chunk_layout){0, 8, 16, 24}), 0);
    uint64_t ts[4], v;
    const uint64_t thread = (uintptr_t)tstate;

    /* never walked: the thread state alone */
    tstate[0] = 1;
    uint64_t calls = read_calls();
    assert_int_equal(prefetch_state(&s, thread, (uintptr_t)tstate, ts, sizeof ts), 0);
    assert_int_equal(ts[0], 1);
    pp_snapshot_take(&s, thread, (uintptr_t)chunk, (uintptr_t)(chunk + 13));
    assert_int_equal(read_calls() - calls, 2);

    /* walked last time: the chunk arrives with the thread state, and a frame pushed since (within
     * the room given to grow) too */
    chunk[13] = 0x5555;
    tstate[0] = 2;
    calls = read_calls();
    assert_int_equal(prefetch_state(&s, thread, (uintptr_t)tstate, ts, sizeof ts), 0);
    chunk[13] = 0x6666; /* after the copy: not seen */
    pp_snapshot_take(&s, thread, (uintptr_t)chunk, (uintptr_t)(chunk + 14));
    assert_int_equal(read_calls() - calls, 1);
    assert_int_equal(ts[0], 2);
    assert_int_equal(pp_snapshot_read(&s, &v, (uintptr_t)(chunk + 13), 8), 0);
    assert_true(v == 0x5555);
    assert_int_equal(read_calls() - calls, 1); /* the walk reads from the copy */

    /* the stack grew past the guess: the live chunk is copied again, whole */
    size_t grown = 14 + PP_SNAPSHOT_GROWTH / 8 + 8;
    chunk[grown - 1] = 0x7777;
    calls = read_calls();
    assert_int_equal(prefetch_state(&s, thread, (uintptr_t)tstate, ts, sizeof ts), 0);
    pp_snapshot_take(&s, thread, (uintptr_t)chunk, (uintptr_t)(chunk + grown));
    assert_int_equal(read_calls() - calls, 2);
    assert_int_equal(pp_snapshot_read(&s, &v, (uintptr_t)(chunk + grown - 1), 8), 0);
    assert_true(v == 0x7777);

    /* another chunk now: the guessed copy is not used */
    uint64_t *other = (uint64_t *)(m + 3 * page);
    other[0] = 0;
    other[1] = (uint64_t)page;
    other[2] = 0;
    other[5] = 0x8888;
    assert_int_equal(prefetch_state(&s, thread, (uintptr_t)tstate, ts, sizeof ts), 0);
    pp_snapshot_take(&s, thread, (uintptr_t)other, (uintptr_t)(other + 6));
    assert_int_equal(pp_snapshot_read(&s, &v, (uintptr_t)(other + 5), 8), 0);
    assert_true(v == 0x8888);
    assert_int_equal(pp_snapshot_read(&s, &v, (uintptr_t)(chunk + 13), 8), 0);
    assert_true(v == 0x6666); /* not the stale copy: read from memory */

    /* prefetched but not walked (its stack was reused), then looked at again: the thread state
     * alone */
    assert_int_equal(prefetch_state(&s, thread, (uintptr_t)tstate, ts, sizeof ts), 0);
    assert_int_equal(prefetch_state(&s, 99, (uintptr_t)tstate, ts, sizeof ts), 0);
    uint64_t bytes_before;
    pp_read_stats r;
    pp_safe_read_stats(&r);
    bytes_before = r.bytes;
    assert_int_equal(prefetch_state(&s, thread, (uintptr_t)tstate, ts, sizeof ts), 0);
    pp_safe_read_stats(&r);
    assert_int_equal(r.bytes - bytes_before, sizeof ts);

    /* a thread state that cannot be read fails, whatever was guessed */
    pp_snapshot_take(&s, thread, (uintptr_t)other, (uintptr_t)(other + 6));
    assert_int_equal(prefetch_state(&s, thread, 8, ts, sizeof ts), -1);
    pp_snapshot_free(&s);
    munmap(m, 4 * (size_t)page);
}

/* A second request of the caller (3.8-3.10: the thread's kernel tid in glibc's struct pthread)
 * arrives in the same system call as the thread state, walked last time or not; one that cannot
 * be read fails alone. */
static void test_prefetch_head(void **state)
{
    (void)state;
    uint64_t tstate[4] = {7, 0, 0, 0}, chunk[32] = {0, sizeof chunk, 4}, ts[4];
    int32_t tid_field = 4242, tid = 0;
    pp_stack_snapshot s;
    assert_int_equal(pp_snapshot_init(&s, (pp_chunk_layout){0, 8, 16, 24}), 0);
    const uint64_t thread = (uintptr_t)tstate;
    for (int walked = 0; walked < 2; walked++) {
        pp_read_req head[2] = {{ts, (uintptr_t)tstate, sizeof ts, 0},
                               {&tid, (uintptr_t)&tid_field, sizeof tid, 0}};
        uint64_t calls = read_calls();
        tid = 0;
        assert_int_equal(pp_snapshot_prefetch(&s, thread, head, 2), 0);
        assert_int_equal(read_calls() - calls, 1);
        assert_true(head[0].ok && head[1].ok);
        assert_int_equal(ts[0], 7);
        assert_int_equal(tid, 4242);
        pp_snapshot_take(&s, thread, (uintptr_t)chunk, (uintptr_t)(chunk + 6));
    }
    pp_read_req head[2] = {{ts, (uintptr_t)tstate, sizeof ts, 0}, {&tid, 8, sizeof tid, 0}};
    assert_int_equal(pp_snapshot_prefetch(&s, thread, head, 2), 0);
    assert_true(head[0].ok && !head[1].ok);
    pp_snapshot_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_merge),
        cmocka_unit_test(test_walks),
        cmocka_unit_test(test_prefetch),
        cmocka_unit_test(test_prefetch_head),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
