/* The frame walk on a free-threaded 3.14 layout, on objects built in this process's memory the
 * way a 3.14t interpreter lays them out (no 3.14t interpreter is available to run): the layout is
 * the 3.14t row resolved through a _Py_DebugOffsets copy carrying the values the 3.14t headers
 * give (tests/sampler/layout_headers.c derives them). Checks thread-local bytecode (the frame's
 * tlbc_index picks the copy in co_tlbc the instruction pointer is in), the tagged _PyStackRef
 * (tag masked; NULL and tagged ints are torn frames), an instruction pointer outside the bytecode,
 * interpreter-owned frames being skipped, and a chain that does not end at the thread's base frame
 * (a coroutine frame read while it suspends, its callers missing) being refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "frame_reader.h"
#include "py_layout.h"
#include "safe_read.h"

/* What _Py_DebugOffsets publishes on 3.14t (the headers' values), by row field. */
static const struct {
    const char *field;
    uint64_t value;
} published[] = {
    {"rt_interp_head", 808},
    {"is_next", 7272},
    {"is_id", 7280},
    {"is_threads_head", 7344},
    {"is_modules", 7712},
    {"ts_next", 8},
    {"ts_interp", 16},
    {"ts_thread_id", 152},
    {"ts_frame", 72},
    {"ts_native_id", 160},
    {"ts_datastack_chunk", 232},
    {"fr_previous", 8},
    {"fr_code", 0},
    {"fr_instr", 56},
    {"fr_owner", 78},
    {"fr_size", 88},
    {"fr_tlbc_index", 72},
    {"co_filename", 128},
    {"co_name", 136},
    {"co_firstlineno", 84},
    {"co_qualname", 144},
    {"co_linetable", 152},
    {"co_code", 232},
    {"co_size", 232},
    {"co_tlbc", 224},
    {"str_length", 32},
    {"str_state", 48},
    {"str_ascii_size", 56},
    {"bytes_size", 32},
    {"bytes_sval", 48},
    {"ob_type", 24},
    {"tp_flags", 184},
    {"dict_keys", 48},
    {"dict_values", 56},
    {"long_size", 32},
    {"long_digits", 40},
};

#define UNITS 16
#define FIRSTLINENO 10

typedef struct {
    pp_runtime rt;
    pp_agg *agg;
    pp_code_cache *cache;
    pp_stack_snapshot snap;
    pp_walk_buf buf;
    uint8_t *arena; /* every fake object, at fixed offsets */
    uintptr_t code, copy, frame, frame2, base;
} fixture;

enum {
    CODE_TYPE = 0,
    NAME = 256,
    FILENAME = 512,
    LINETABLE = 768,
    TLBC = 1024,
    CODE = 2048,
    COPY = 8192,
    FRAME = 12288,
    FRAME2 = 12544,
    BASE = 12800,
    ARENA = 16384
};

static void put64(uint8_t *p, int32_t off, uint64_t v)
{
    memcpy(p + off, &v, sizeof v);
}

static void put32(uint8_t *p, int32_t off, uint32_t v)
{
    memcpy(p + off, &v, sizeof v);
}

static void resolve_layout(pp_py_layout *l)
{
    const pp_py_layout *row = pp_py_layout_row(3, 14, 1);
    assert_non_null(row);
    uint64_t d[PP_DEBUG_OFFSETS_WORDS] = {0};
    memcpy(d, "xdebugpy", 8);
    d[1] = 0x030e0af0; /* 3.14.10 */
    d[2] = 1;
    for (size_t i = 0; i < pp_layout_n_fields; i++) {
        int32_t v;
        memcpy(&v, (const char *)row + pp_layout_fields[i].offset, sizeof v);
        if (!PP_IS_DEBUG(v))
            continue;
        size_t k = 0;
        while (k < sizeof published / sizeof published[0] &&
               strcmp(published[k].field, pp_layout_fields[i].name) != 0)
            k++;
        if (k == sizeof published / sizeof published[0])
            fail_msg("the 3.14t row reads %s from _Py_DebugOffsets: give its value",
                     pp_layout_fields[i].name);
        d[PP_DEBUG_SLOT(v)] = published[k].value;
    }
    uint32_t hex;
    int ft;
    assert_int_equal(pp_py_layout_from_debug_offsets(d, PP_DEBUG_OFFSETS_WORDS, l, &hex, &ft),
                     PP_LAYOUT_OK);
    assert_int_equal(ft, 1);
    assert_int_equal(l->fr_tlbc_index, 72);
    assert_int_equal(l->co_tlbc, 224);
}

static void make_str(fixture *f, uint8_t *s, const char *text)
{
    const pp_py_layout *l = &f->rt.layout;
    size_t n = strlen(text);
    put64(s, l->str_length, n);
    /* kind 1, compact, ascii */
    put32(s, l->str_state, (1u | 8u | 16u) << l->str_kind_shift);
    memcpy(s + l->str_ascii_size, text, n);
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    f->arena = aligned_alloc(4096, ARENA);
    memset(f->arena, 0, ARENA);
    resolve_layout(&f->rt.layout);
    const pp_py_layout *l = &f->rt.layout;
    uint8_t *a = f->arena;
    f->rt.code_type = (uintptr_t)(a + CODE_TYPE);
    f->code = (uintptr_t)(a + CODE);
    f->copy = (uintptr_t)(a + COPY);
    f->frame = (uintptr_t)(a + FRAME);
    f->frame2 = (uintptr_t)(a + FRAME2);
    f->base = (uintptr_t)(a + BASE);
    make_str(f, a + NAME, "Fake.method");
    make_str(f, a + FILENAME, "fake.py");
    /* PEP 657 location table, "no columns" entries (code 13): units 0-3 line 10, 4-7 line 12,
     * 8-15 line 15 */
    static const uint8_t table[] = {0x80 | 13 << 3 | 3, 0, 0x80 | 13 << 3 | 3, 4,
                                    0x80 | 13 << 3 | 7, 6};
    put64(a + LINETABLE, l->bytes_size, sizeof table);
    memcpy(a + LINETABLE + l->bytes_sval, table, sizeof table);
    uint8_t *code = a + CODE;
    put64(code, l->ob_type, f->rt.code_type);
    put64(code, l->co_nunits, UNITS);
    put64(code, l->co_filename, (uintptr_t)(a + FILENAME));
    put64(code, l->co_name, (uintptr_t)(a + NAME));
    put64(code, l->co_qualname, (uintptr_t)(a + NAME));
    put64(code, l->co_linetable, (uintptr_t)(a + LINETABLE));
    put32(code, l->co_firstlineno, FIRSTLINENO);
    put32(code, l->co_firsttraceable, 0);
    put64(code, l->co_tlbc, (uintptr_t)(a + TLBC));
    /* _PyCodeArray: entry 0 is the code object's own bytecode, entry 1 a thread's copy */
    put64(a + TLBC, l->tlbc_size, 2);
    put64(a + TLBC, l->tlbc_entries, f->code + (uintptr_t)l->co_code);
    put64(a + TLBC, l->tlbc_entries + 8, f->copy);
    f->agg = pp_agg_new(100, 1 << 16);
    f->cache = pp_code_cache_new(&f->rt, f->agg);
    assert_int_equal(pp_snapshot_init(&f->snap, (pp_chunk_layout){0, 8, 16, 24}), 0);
    assert_int_equal(pp_walk_buf_init(&f->buf, 8), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    pp_walk_buf_free(&f->buf);
    pp_snapshot_free(&f->snap);
    pp_code_cache_free(f->cache);
    pp_agg_free(f->agg);
    free(f->arena);
    free(f);
    return 0;
}

/* Fills the frame at addr: f_executable (raw _PyStackRef bits), instr_ptr, tlbc_index, owner,
 * previous. */
static void set_frame(fixture *f, uintptr_t addr, uintptr_t executable, uintptr_t instr,
                      int32_t tlbc, uint8_t owner, uintptr_t previous)
{
    const pp_py_layout *l = &f->rt.layout;
    uint8_t *fr = (uint8_t *)addr;
    memset(fr, 0, (size_t)l->fr_size);
    put64(fr, l->fr_code, executable);
    put64(fr, l->fr_instr, instr);
    put32(fr, l->fr_tlbc_index, (uint32_t)tlbc);
    fr[l->fr_owner] = owner;
    put64(fr, l->fr_previous, previous);
}

/* FRAME_OWNED_BY_INTERPRETER: the thread's base frame, oldest of every chain on 3.14 */
#define OWNER_INTERPRETER 3
#define OWNER_GENERATOR 1

static pp_walk_result walk(fixture *f, size_t *n)
{
    size_t omitted;
    pp_code_cache_new_pass(f->cache);
    pp_snapshot_take(&f->snap, 0, 0, 0);
    return pp_walk_frames(&f->rt, f->cache, &f->snap, f->frame, &f->buf, n, &omitted);
}

static uintptr_t deferred(uintptr_t obj)
{
    return obj | 1; /* Py_TAG_DEFERRED */
}

static void test_thread_local_bytecode(void **state)
{
    fixture *f = *state;
    size_t n;
    /* unit 5 of the thread's copy (index 1): line 12 */
    set_frame(f, f->base, 0, 0, 0, OWNER_INTERPRETER, 0);
    set_frame(f, f->frame, deferred(f->code), f->copy + 2 * 5, 1, 0, f->base);
    assert_int_equal(walk(f, &n), PP_WALK_OK);
    assert_int_equal(n, 1);
    assert_int_equal(f->buf.frames[0].line, 12);
    assert_string_equal(pp_agg_string(f->agg, f->buf.frames[0].name), "Fake.method");
    assert_string_equal(pp_agg_string(f->agg, f->buf.frames[0].filename), "fake.py");
    /* unit 9 of the code object's own bytecode (index 0), a plain reference: line 15, under a
     * caller at unit 1 of the copy: line 10 */
    set_frame(f, f->frame2, deferred(f->code), f->copy + 2 * 1, 1, 0, f->base);
    set_frame(f, f->frame, f->code, f->code + (uintptr_t)f->rt.layout.co_code + 2 * 9, 0, 0,
              f->frame2);
    assert_int_equal(walk(f, &n), PP_WALK_OK);
    assert_int_equal(n, 2);
    assert_int_equal(f->buf.frames[0].line, 15);
    assert_int_equal(f->buf.frames[1].line, 10);
}

static void test_torn_frames_fail(void **state)
{
    fixture *f = *state;
    size_t n;
    uintptr_t main_code = f->code + (uintptr_t)f->rt.layout.co_code;
    set_frame(f, f->base, 0, 0, 0, OWNER_INTERPRETER, 0);
    /* the copy index says 1, the pointer is in copy 0: not this frame's bytecode */
    set_frame(f, f->frame, deferred(f->code), main_code + 2 * 5, 1, 0, f->base);
    assert_int_equal(walk(f, &n), PP_WALK_READ_FAILED);
    /* an index past the array */
    set_frame(f, f->frame, deferred(f->code), f->copy + 2 * 5, 2, 0, f->base);
    assert_int_equal(walk(f, &n), PP_WALK_READ_FAILED);
    /* past the last code unit */
    set_frame(f, f->frame, deferred(f->code), main_code + 2 * UNITS, 0, 0, f->base);
    assert_int_equal(walk(f, &n), PP_WALK_READ_FAILED);
    /* PyStackRef_NULL, and a tagged int, where the code object belongs */
    set_frame(f, f->frame, 1, main_code, 0, 0, f->base);
    assert_int_equal(walk(f, &n), PP_WALK_READ_FAILED);
    set_frame(f, f->frame, (uintptr_t)5 << 2 | 3, main_code, 0, 0, f->base);
    assert_int_equal(walk(f, &n), PP_WALK_READ_FAILED);
}

static void test_interpreter_frames_are_skipped(void **state)
{
    fixture *f = *state;
    size_t n;
    /* FRAME_OWNED_BY_INTERPRETER (3): the entry frame of an evaluation loop, not Python code */
    set_frame(f, f->frame, deferred(f->code), f->copy, 1, OWNER_INTERPRETER, 0);
    assert_int_equal(walk(f, &n), PP_WALK_OK);
    assert_int_equal(n, 0);
}

static void test_chain_cut_short_is_refused(void **state)
{
    fixture *f = *state;
    size_t n;
    set_frame(f, f->base, 0, 0, 0, OWNER_INTERPRETER, 0);
    /* a coroutine under its caller, linked to the base frame: whole */
    set_frame(f, f->frame2, deferred(f->code), f->copy + 2 * 1, 1, 0, f->base);
    set_frame(f, f->frame, deferred(f->code), f->copy + 2 * 5, 1, OWNER_GENERATOR, f->frame2);
    assert_int_equal(walk(f, &n), PP_WALK_OK);
    assert_int_equal(n, 2);
    /* the coroutine read while it suspends: its previous link already NULL, the caller lost */
    set_frame(f, f->frame, deferred(f->code), f->copy + 2 * 5, 1, OWNER_GENERATOR, 0);
    assert_int_equal(walk(f, &n), PP_WALK_CUT);
    /* a thread's frame whose previous is NULL is not the oldest either: the base frame is */
    set_frame(f, f->frame, deferred(f->code), f->copy + 2 * 5, 1, 0, 0);
    assert_int_equal(walk(f, &n), PP_WALK_CUT);
}

int main(void)
{
    if (pp_safe_read_init() != 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_thread_local_bytecode, setup, teardown),
        cmocka_unit_test_setup_teardown(test_torn_frames_fail, setup, teardown),
        cmocka_unit_test_setup_teardown(test_interpreter_frames_are_skipped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_chain_cut_short_is_refused, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
