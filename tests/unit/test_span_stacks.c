/* The GIL waiters' own stack copies (span_stacks.h), on frames built in this process's memory the
 * way 3.10 lays them out: a copy is taken for the span word it was made in and no other, a thread
 * copies at most once per PP_SPAN_STACK_GAP_NS, a copy taken while its writer refills the slot
 * over and over is never torn (every frame of an accepted copy belongs to the word it was taken
 * for), and a fork child starts with no copy (its parent's waiters are gone) and copies anew,
 * under its own tid (glibc's record of the forking thread, not the parent's tid). */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "py_layout.h"
#include "safe_read.h"
#include "span_stacks.h"
#include "thread_clock.h"

#define FRAMES 5
#define MAX_FRAMES 64
#define ROUNDS 20000

static pp_py_layout layout;
static _Alignas(16) uint8_t tstate[256];
static _Alignas(16) uint8_t frames[FRAMES][128];
static _Alignas(16) uint8_t codes[FRAMES][256];

static void *this_thread(void)
{
    return tstate;
}

static int not_finalizing(void)
{
    return 0;
}

static void put_ptr(uint8_t *at, int32_t off, uintptr_t v)
{
    memcpy(at + off, &v, sizeof v);
}

/* tstate -> frames[0] -> ... -> frames[FRAMES - 1], frame i running codes[i] at offset lasti + i */
static void build_stack(int32_t lasti)
{
    put_ptr(tstate, layout.ts_frame, (uintptr_t)frames[0]);
    for (int i = 0; i < FRAMES; i++) {
        put_ptr(frames[i], layout.fr_previous, i + 1 < FRAMES ? (uintptr_t)frames[i + 1] : 0);
        put_ptr(frames[i], layout.fr_code, (uintptr_t)codes[i]);
        int32_t at = lasti + i;
        memcpy(frames[i] + layout.fr_instr, &at, sizeof at);
        put_ptr(codes[i], layout.co_name, 0x1000 + (uintptr_t)i);
    }
}

static int32_t own_tid(void)
{
    return (int32_t)syscall(SYS_gettid);
}

static uint64_t word_of(int32_t tid, uint64_t counter)
{
    return (uint64_t)(uint32_t)tid << 32 | (counter & 0x7fffffffu) << 1 | 1u;
}

/* The calling thread, its stack's offsets from lasti, opens its wait span `counter` at now and
 * copies its stack (as the GIL hook does): the span's word. */
static uint64_t open_and_copy(int32_t lasti, uint64_t counter, int64_t now)
{
    build_stack(lasti);
    uint64_t w = word_of(own_tid(), counter);
    pp_span_stack_capture(w, now);
    return w;
}

static int setup(void **state)
{
    (void)state;
    static int done;
    if (done)
        return 0;
    layout = *pp_py_layout_row(3, 10, 0);
    /* where glibc keeps each thread's tid, which 3.10's thread state lacks */
    assert_int_equal(pp_safe_read_init(), 0);
    assert_int_equal(pp_thread_clock_init(), 0);
    assert_int_not_equal(pp_tid_field((uint64_t)pthread_self()), 0);
    pp_waiter_api api = {this_thread, not_finalizing};
    assert_int_equal(pp_span_stacks_setup(&layout, &api, MAX_FRAMES), 0);
    done = 1;
    return 0;
}

static void test_copy_is_taken_for_its_word_only(void **state)
{
    (void)state;
    pp_span_stack got;
    assert_int_equal(pp_span_stack_init(&got, MAX_FRAMES), 0);
    int32_t tid = own_tid();
    uint64_t w = open_and_copy(40, 7, 1000000000);
    assert_int_equal(pp_span_stack_take(tid, w, &got), 0);
    assert_int_equal(got.rec->n_raw, FRAMES);
    assert_int_equal(got.rec->n_omitted, 0);
    assert_int_equal(got.rec->native_id, tid);
    assert_int_equal(got.rec->thread_id, (uint64_t)pthread_self());
    assert_int_equal(got.tstate, (uintptr_t)tstate);
    assert_int_equal(got.top, (uintptr_t)frames[0]);
    for (int i = 0; i < FRAMES; i++) {
        assert_int_equal(got.rec->code[i], (uintptr_t)codes[i]);
        assert_int_equal(got.rec->where[i], 40 + i);
        assert_int_equal(got.rec->name[i], 0x1000 + i);
    }
    /* another wait of the same thread, another thread of the same slot, no word */
    assert_int_equal(pp_span_stack_take(tid, word_of(tid, 8), &got), -1);
    int32_t other = tid + (int32_t)PP_SPAN_STACK_SLOTS;
    assert_int_equal(pp_span_stack_take(other, word_of(other, 7), &got), -1);
    assert_int_equal(pp_span_stack_take(tid, 0, &got), -1);
    pp_span_stack_free(&got);
}

static void test_one_copy_per_gap(void **state)
{
    (void)state;
    pp_span_stack got;
    assert_int_equal(pp_span_stack_init(&got, MAX_FRAMES), 0);
    int32_t tid = own_tid();
    int64_t t = 5000000000;
    uint64_t first = open_and_copy(10, 20, t);
    assert_int_equal(pp_span_stack_take(tid, first, &got), 0);
    /* too soon: the next wait is not copied, and the slot still holds the first */
    uint64_t soon = open_and_copy(30, 21, t + PP_SPAN_STACK_GAP_NS - 1);
    assert_int_equal(pp_span_stack_take(tid, soon, &got), -1);
    assert_int_equal(pp_span_stack_take(tid, first, &got), 0);
    assert_int_equal(got.rec->where[0], 10);
    uint64_t later = open_and_copy(30, 22, t + PP_SPAN_STACK_GAP_NS);
    assert_int_equal(pp_span_stack_take(tid, later, &got), 0);
    assert_int_equal(got.rec->where[0], 30);
    assert_int_equal(pp_span_stack_take(tid, first, &got), -1);
    pp_span_stack_free(&got);
}

static _Atomic uint64_t latest; /* the word the writer copied last */
static atomic_int writer_done;

/* Round i: the stack's offsets become i, then the thread opens its i-th span and copies it. */
static void *writer(void *arg)
{
    (void)arg;
    for (uint64_t i = 1; i <= ROUNDS; i++)
        atomic_store(&latest,
                     open_and_copy((int32_t)i, i, (int64_t)(i + 100000) * PP_SPAN_STACK_GAP_NS));
    atomic_store(&writer_done, 1);
    return NULL;
}

static void check_whole(const pp_span_stack *got, uint64_t w)
{
    int32_t lasti = (int32_t)((w & 0xffffffffu) >> 1);
    assert_int_equal(got->rec->n_raw, FRAMES);
    for (int i = 0; i < FRAMES; i++)
        assert_int_equal(got->rec->where[i], lasti + i);
}

static void test_no_torn_copy(void **state)
{
    (void)state;
    pp_span_stack got;
    assert_int_equal(pp_span_stack_init(&got, MAX_FRAMES), 0);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, writer, NULL), 0);
    uint64_t w = 0;
    while (!atomic_load(&writer_done)) {
        w = atomic_load(&latest);
        if (w && pp_span_stack_take((int32_t)(w >> 32), w, &got) == 0)
            check_whole(&got, w);
    }
    pthread_join(t, NULL);
    /* the last copy stays for good */
    w = atomic_load(&latest);
    assert_int_equal(pp_span_stack_take((int32_t)(w >> 32), w, &got), 0);
    check_whole(&got, w);
    pp_span_stack_free(&got);
}

/* In the child: the parent's copy is gone, the forking thread (a new tid) copies its own. */
static int child_after_fork(uint64_t parent_word)
{
    pp_span_stack got;
    if (pp_span_stack_init(&got, MAX_FRAMES) != 0)
        return 10;
    if (pp_span_stack_take((int32_t)(parent_word >> 32), parent_word, &got) == 0)
        return 11;
    int32_t tid = own_tid();
    uint64_t w = open_and_copy(50, 1, INT64_MAX / 2);
    if (pp_span_stack_take(tid, w, &got) != 0 || got.rec->n_raw != FRAMES ||
        got.rec->native_id != tid)
        return 12;
    pp_span_stack_free(&got);
    return 0;
}

static void test_fork_child_starts_empty(void **state)
{
    (void)state;
    pp_span_stack got;
    assert_int_equal(pp_span_stack_init(&got, MAX_FRAMES), 0);
    int32_t tid = own_tid();
    uint64_t w = open_and_copy(50, 30, INT64_MAX / 4);
    assert_int_equal(pp_span_stack_take(tid, w, &got), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(child_after_fork(w));
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    /* the parent keeps its copy */
    assert_int_equal(pp_span_stack_take(tid, w, &got), 0);
    pp_span_stack_free(&got);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_copy_is_taken_for_its_word_only, setup),
        cmocka_unit_test_setup(test_one_copy_per_gap, setup),
        cmocka_unit_test_setup(test_no_torn_copy, setup),
        cmocka_unit_test_setup(test_fork_child_starts_empty, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
