/* Derives every number of the sampler's layout row for the CPython whose headers it is compiled
 * against (offsetof over the internal headers with Py_BUILD_CORE, the headers' own constants and
 * inline helpers) and compares with the row py_layout.c holds for that version and build. A
 * field the row reads from _Py_DebugOffsets must name the slot where this version's
 * _Py_DebugOffsets keeps it; a field the struct publishes must not be hand-written in the row.
 * From 3.13 the struct is then built from the derived values, as the interpreter publishes it,
 * and completed into a layout the way the library does at run time: every field must come out
 * as derived, and a published offset outside what the readers copy must be refused. Every row
 * must fit the readers' copies (pp_py_layout_fits).
 * Prints one line per mismatch and exits 1; prints the derived values with -v.
 *
 *   cc -DPy_BUILD_CORE -I<include/pythonX.Y> -I<include/pythonX.Y/internal> -Isampler/lib \
 *      tests/sampler/layout_headers.c sampler/lib/py_layout.c */
#define Py_BUILD_CORE 1
#include <Python.h>

#include <frameobject.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#define MINOR PY_MINOR_VERSION
#if MINOR == 8
#include <internal/pycore_pystate.h>
#else
#include <internal/pycore_interp.h>
#include <internal/pycore_runtime.h>
#endif
#if MINOR >= 10
#include <internal/pycore_moduleobject.h>
#endif
#if MINOR >= 11
#include <internal/pycore_code.h>
#include <internal/pycore_dict.h>
#include <internal/pycore_frame.h>
#include <internal/pycore_object.h>
#endif
#if MINOR >= 12
#include <internal/pycore_long.h>
#endif
#if MINOR >= 14
#include <internal/pycore_debug_offsets.h>
#include <internal/pycore_interpframe_structs.h>
#include <internal/pycore_stackref.h>
#endif

#include "py_layout.h"

#ifdef Py_GIL_DISABLED
#define FREE_THREADED 1
#else
#define FREE_THREADED 0
#endif

static const pp_py_layout *row;
static int verbose, failures;
static const char *checked[256];
static long derived[256];
static size_t n_checked;
/* _Py_DebugOffsets as this version publishes it, built from the derived values (3.13+) */
static uint64_t published[PP_DEBUG_OFFSETS_WORDS];

#define DEBUG_SLOT(group, field) ((long)(offsetof(_Py_DebugOffsets, group.field) / 8))
#define UNPUBLISHED (-1L)

/* want: the value from the headers; slot: where _Py_DebugOffsets keeps it, or UNPUBLISHED. */
static void check(const char *name, int32_t have, long want, long slot)
{
    if (n_checked < sizeof checked / sizeof checked[0]) {
        derived[n_checked] = want;
        checked[n_checked++] = name;
    }
    if (slot >= 0 && (size_t)slot < PP_DEBUG_OFFSETS_WORDS)
        published[slot] = (uint64_t)want;
    if (verbose)
        printf("%-22s %6ld  slot %ld\n", name, want, slot);
    if (PP_IS_DEBUG(have)) {
        if ((long)PP_DEBUG_SLOT(have) != slot) {
            printf("%s: row reads _Py_DebugOffsets slot %u, the headers keep it in slot %ld\n",
                   name, PP_DEBUG_SLOT(have), slot);
            failures++;
        }
        return;
    }
    if (slot >= 0) {
        printf("%s: hand-written (%d) but _Py_DebugOffsets publishes it (slot %ld)\n", name, have,
               slot);
        failures++;
    }
    if (have != want) {
        printf("%s: row has %d, the headers say %ld\n", name, have, want);
        failures++;
    }
}

#define CHECK(field, want) check(#field, row->field, (long)(want), UNPUBLISHED)
#if MINOR >= 13
#define CHECK_PUB(field, want, group, dfield)                                                      \
    check(#field, row->field, (long)(want), DEBUG_SLOT(group, dfield))
#else
#define CHECK_PUB(field, want, group, dfield) CHECK(field, want)
#endif
#define ABSENT(field) CHECK(field, -1)

static void runtime_and_threads(void)
{
    CHECK(rt_initialized, offsetof(_PyRuntimeState, initialized));
    CHECK_PUB(rt_interp_head, offsetof(_PyRuntimeState, interpreters.head), runtime_state,
              interpreters_head);
    CHECK_PUB(is_next, offsetof(PyInterpreterState, next), interpreter_state, next);
    CHECK_PUB(is_id, offsetof(PyInterpreterState, id), interpreter_state, id);
#if MINOR <= 10
    CHECK(is_threads_head, offsetof(PyInterpreterState, tstate_head));
#else
    CHECK_PUB(is_threads_head, offsetof(PyInterpreterState, threads.head), interpreter_state,
              threads_head);
#endif
#if MINOR <= 11
    CHECK(is_modules, offsetof(PyInterpreterState, modules));
#else
    CHECK_PUB(is_modules, offsetof(PyInterpreterState, imports.modules), interpreter_state,
              imports_modules);
#endif
#if FREE_THREADED
    /* no GIL wait profile without a GIL */
    ABSENT(rt_gil);
    ABSENT(is_gil);
    ABSENT(gil_cond);
    ABSENT(gil_switch_cond);
    ABSENT(gil_locked);
#else
    CHECK(gil_cond, offsetof(struct _gil_runtime_state, cond));
    CHECK(gil_switch_cond, offsetof(struct _gil_runtime_state, switch_cond));
    CHECK(gil_locked, offsetof(struct _gil_runtime_state, locked));
#if MINOR <= 11
    CHECK(rt_gil, offsetof(_PyRuntimeState, ceval.gil));
    ABSENT(is_gil);
#else
    ABSENT(rt_gil);
    CHECK_PUB(is_gil, offsetof(PyInterpreterState, ceval.gil), interpreter_state, ceval_gil);
#endif
#endif
    CHECK_PUB(ts_next, offsetof(PyThreadState, next), thread_state, next);
    CHECK_PUB(ts_interp, offsetof(PyThreadState, interp), thread_state, interp);
    CHECK_PUB(ts_thread_id, offsetof(PyThreadState, thread_id), thread_state, thread_id);
#if MINOR <= 10
    CHECK(ts_frame, offsetof(PyThreadState, frame));
    ABSENT(ts_cframe_frame);
    ABSENT(ts_native_id);
    ABSENT(ts_datastack_chunk);
#else
#if MINOR <= 12
    CHECK(ts_frame, offsetof(PyThreadState, cframe));
    CHECK(ts_cframe_frame, offsetof(_PyCFrame, current_frame));
#else
    CHECK_PUB(ts_frame, offsetof(PyThreadState, current_frame), thread_state, current_frame);
    ABSENT(ts_cframe_frame);
#endif
    CHECK_PUB(ts_native_id, offsetof(PyThreadState, native_thread_id), thread_state,
              native_thread_id);
    CHECK_PUB(ts_datastack_chunk, offsetof(PyThreadState, datastack_chunk), thread_state,
              datastack_chunk);
    /* the sampler reads datastack_top with datastack_chunk */
    if (offsetof(PyThreadState, datastack_top) !=
        offsetof(PyThreadState, datastack_chunk) + sizeof(void *)) {
        printf("datastack_top does not follow datastack_chunk\n");
        failures++;
    }
#endif
}

static void stack_chunks(void)
{
#if MINOR >= 11
    CHECK(ck_previous, offsetof(_PyStackChunk, previous));
    CHECK(ck_size, offsetof(_PyStackChunk, size));
    CHECK(ck_top, offsetof(_PyStackChunk, top));
    CHECK(ck_data, offsetof(_PyStackChunk, data));
#else
    ABSENT(ck_previous);
    ABSENT(ck_size);
    ABSENT(ck_top);
    ABSENT(ck_data);
#endif
}

static void frames(void)
{
#if MINOR <= 10
    CHECK(fr_previous, offsetof(PyFrameObject, f_back));
    CHECK(fr_code, offsetof(PyFrameObject, f_code));
    CHECK(fr_instr, offsetof(PyFrameObject, f_lasti));
    /* the prefix of the frame object up to f_lasti, rounded to 8 */
    CHECK(fr_size, (offsetof(PyFrameObject, f_lasti) + sizeof(int) + 7) / 8 * 8);
    ABSENT(fr_owner);
    ABSENT(owner_generator);
    ABSENT(owner_shim_min);
#if MINOR == 10
    CHECK(lasti_unit, sizeof(_Py_CODEUNIT));
#else
    CHECK(lasti_unit, 1);
#endif
#else
    CHECK(lasti_unit, -1);
#if MINOR <= 12
    CHECK(fr_previous, offsetof(_PyInterpreterFrame, previous));
    CHECK(fr_code, offsetof(_PyInterpreterFrame, f_code));
    CHECK(fr_instr, offsetof(_PyInterpreterFrame, prev_instr));
    CHECK(fr_owner, offsetof(_PyInterpreterFrame, owner));
    /* everything before the locals */
    CHECK(fr_size, offsetof(_PyInterpreterFrame, localsplus));
#else
    CHECK_PUB(fr_previous, offsetof(_PyInterpreterFrame, previous), interpreter_frame, previous);
    CHECK_PUB(fr_code, offsetof(_PyInterpreterFrame, f_executable), interpreter_frame, executable);
    CHECK_PUB(fr_instr, offsetof(_PyInterpreterFrame, instr_ptr), interpreter_frame, instr_ptr);
    CHECK_PUB(fr_owner, offsetof(_PyInterpreterFrame, owner), interpreter_frame, owner);
    CHECK_PUB(fr_size, sizeof(_PyInterpreterFrame), interpreter_frame, size);
#endif
    CHECK(owner_generator, FRAME_OWNED_BY_GENERATOR);
#if MINOR == 11
    ABSENT(owner_shim_min); /* 3.11 marks C entries with is_entry on real frames */
#elif MINOR <= 13
    CHECK(owner_shim_min, FRAME_OWNED_BY_CSTACK);
#else
    CHECK(owner_shim_min, FRAME_OWNED_BY_INTERPRETER);
#endif
#endif
#if MINOR >= 14 && FREE_THREADED
    CHECK_PUB(fr_tlbc_index, offsetof(_PyInterpreterFrame, tlbc_index), interpreter_frame,
              tlbc_index);
#else
    ABSENT(fr_tlbc_index);
#endif
}

static void code_objects(void)
{
    CHECK_PUB(co_filename, offsetof(PyCodeObject, co_filename), code_object, filename);
    CHECK_PUB(co_name, offsetof(PyCodeObject, co_name), code_object, name);
    CHECK_PUB(co_firstlineno, offsetof(PyCodeObject, co_firstlineno), code_object, firstlineno);
#if MINOR <= 10
    CHECK(co_nunits, -1);
    ABSENT(co_qualname);
#if MINOR <= 9
#define LINE_TABLE co_lnotab
#else
#define LINE_TABLE co_linetable
#endif
    CHECK(co_linetable, offsetof(PyCodeObject, LINE_TABLE));
    CHECK(co_code, offsetof(PyCodeObject, co_code));
    /* the header through the line table pointer, rounded to 8 */
    CHECK(co_size, (offsetof(PyCodeObject, LINE_TABLE) + sizeof(void *) + 7) / 8 * 8);
    ABSENT(co_firsttraceable);
#else
    CHECK(co_nunits, offsetof(PyVarObject, ob_size));
    CHECK_PUB(co_qualname, offsetof(PyCodeObject, co_qualname), code_object, qualname);
    CHECK_PUB(co_linetable, offsetof(PyCodeObject, co_linetable), code_object, linetable);
    CHECK_PUB(co_code, offsetof(PyCodeObject, co_code_adaptive), code_object, co_code_adaptive);
    CHECK_PUB(co_size, offsetof(PyCodeObject, co_code_adaptive), code_object, co_code_adaptive);
    CHECK(co_firsttraceable, offsetof(PyCodeObject, _co_firsttraceable));
#endif
#if MINOR >= 14 && FREE_THREADED
    CHECK_PUB(co_tlbc, offsetof(PyCodeObject, co_tlbc), code_object, co_tlbc);
    CHECK(tlbc_size, offsetof(_PyCodeArray, size));
    CHECK(tlbc_entries, offsetof(_PyCodeArray, entries));
#else
    ABSENT(co_tlbc);
    ABSENT(tlbc_size);
    ABSENT(tlbc_entries);
#endif
}

/* Where the kind bits of a str's state start, found by setting them in a zeroed object. */
static long str_kind_shift(void)
{
    PyASCIIObject o;
    memset(&o, 0, sizeof o);
    o.state.kind = 1;
    o.state.compact = 1;
    o.state.ascii = 1;
    uint32_t word;
    memcpy(&word, (char *)&o + offsetof(PyASCIIObject, state), sizeof word);
    long shift = __builtin_ctz(word);
    return word == (uint32_t)(1 | 8 | 16) << shift ? shift : -99;
}

static void strings_and_bytes(void)
{
    CHECK_PUB(str_length, offsetof(PyASCIIObject, length), unicode_object, length);
    CHECK_PUB(str_state, offsetof(PyASCIIObject, state), unicode_object, state);
    CHECK_PUB(str_ascii_size, sizeof(PyASCIIObject), unicode_object, asciiobject_size);
#if MINOR >= 15
    CHECK_PUB(str_compact_size, sizeof(PyCompactUnicodeObject), unicode_object,
              compactunicodeobject_size);
#else
    CHECK(str_compact_size, sizeof(PyCompactUnicodeObject));
#endif
    CHECK(str_kind_shift, str_kind_shift());
    CHECK_PUB(bytes_size, offsetof(PyBytesObject, ob_base.ob_size), bytes_object, ob_size);
    CHECK_PUB(bytes_sval, offsetof(PyBytesObject, ob_sval), bytes_object, ob_sval);
}

static void objects_and_types(void)
{
    CHECK_PUB(ob_type, offsetof(PyObject, ob_type), pyobject, ob_type);
#if MINOR >= 10
    CHECK(mod_dict, offsetof(PyModuleObject, md_dict));
#else
    /* PyModuleObject is private to moduleobject.c: md_dict follows the object header */
    CHECK(mod_dict, sizeof(PyObject));
#endif
    CHECK_PUB(tp_flags, offsetof(PyTypeObject, tp_flags), type_object, tp_flags);
#if MINOR >= 15
    CHECK_PUB(tp_dictoffset, offsetof(PyTypeObject, tp_dictoffset), type_object, tp_dictoffset);
    CHECK_PUB(tp_basicsize, offsetof(PyTypeObject, tp_basicsize), type_object, tp_basicsize);
    CHECK_PUB(ht_cached_keys, offsetof(PyHeapTypeObject, ht_cached_keys), heap_type_object,
              ht_cached_keys);
#else
    CHECK(tp_dictoffset, offsetof(PyTypeObject, tp_dictoffset));
    CHECK(tp_basicsize, offsetof(PyTypeObject, tp_basicsize));
    CHECK(ht_cached_keys, offsetof(PyHeapTypeObject, ht_cached_keys));
#endif
}

/* Managed dicts: the headers' own pointer helpers applied to a fake object. */
static void managed_dicts(void)
{
#if MINOR >= 11
    static PyTypeObject type;
    static uintptr_t words[16];
    PyObject *obj = (PyObject *)&words[8];
    type.tp_flags = Py_TPFLAGS_MANAGED_DICT;
#if MINOR >= 13
    type.tp_flags |= Py_TPFLAGS_INLINE_VALUES;
#endif
    Py_SET_TYPE(obj, &type);
    CHECK(tpflag_managed_dict, Py_TPFLAGS_MANAGED_DICT);
#if MINOR == 11
    CHECK(obj_dict_ptr, (char *)_PyObject_ManagedDictPointer(obj) - (char *)obj);
    CHECK(obj_values_ptr, (char *)_PyObject_ValuesPointer(obj) - (char *)obj);
#elif MINOR == 12
    CHECK(obj_dict_ptr, (char *)_PyObject_DictOrValuesPointer(obj) - (char *)obj);
    ABSENT(obj_values_ptr);
#else
    CHECK(obj_dict_ptr, (char *)_PyObject_ManagedDictPointer(obj) - (char *)obj);
    ABSENT(obj_values_ptr);
#endif
#if MINOR >= 13
    CHECK(tpflag_inline_values, Py_TPFLAGS_INLINE_VALUES);
#else
    CHECK(tpflag_inline_values, 0);
#endif
#else
    CHECK(tpflag_managed_dict, 0);
    CHECK(tpflag_inline_values, 0);
    ABSENT(obj_dict_ptr);
    ABSENT(obj_values_ptr);
#endif
}

static void dicts(void)
{
    CHECK_PUB(dict_keys, offsetof(PyDictObject, ma_keys), dict_object, ma_keys);
    CHECK_PUB(dict_values, offsetof(PyDictObject, ma_values), dict_object, ma_values);
#if MINOR >= 11
    ABSENT(dk_size);
    CHECK(dk_log2_index_bytes, offsetof(PyDictKeysObject, dk_log2_index_bytes));
    CHECK(dk_kind, offsetof(PyDictKeysObject, dk_kind));
    CHECK(dk_nentries, offsetof(PyDictKeysObject, dk_nentries));
    CHECK(dk_indices, offsetof(PyDictKeysObject, dk_indices));
    CHECK(dv_values, offsetof(PyDictValues, values));
    /* py_objects.c steps through entries of three words ({hash, key, value}, DICT_KEYS_GENERAL)
     * or two ({key, value}) */
    if (sizeof(PyDictKeyEntry) != 3 * sizeof(void *) ||
        sizeof(PyDictUnicodeEntry) != 2 * sizeof(void *)) {
        printf("dict entries are %zu and %zu bytes\n", sizeof(PyDictKeyEntry),
               sizeof(PyDictUnicodeEntry));
        failures++;
    }
#if MINOR >= 13
    CHECK(dv_valid, offsetof(PyDictValues, valid));
#else
    ABSENT(dv_valid);
#endif
#else
    /* PyDictKeysObject is private to Objects/dict-common.h before 3.11 (not installed): its
     * numbers are checked by the sampler tests reading real dicts (thread names). */
    static const char *const private_keys[] = {"dk_size", "dk_log2_index_bytes", "dk_kind",
                                               "dk_nentries", "dk_indices"};
    for (size_t i = 0; i < 5; i++) {
        derived[n_checked] = LONG_MIN; /* not derived */
        checked[n_checked++] = private_keys[i];
    }
    if (verbose)
        printf("dk_*: not in the installed headers of 3.%d\n", MINOR);
    CHECK(dv_values, 0); /* ma_values is the array itself */
    ABSENT(dv_valid);
#endif
}

static void ints(void)
{
#if MINOR <= 11
    CHECK(long_size, offsetof(PyVarObject, ob_size));
    CHECK(long_digits, offsetof(PyLongObject, ob_digit));
#else
    CHECK_PUB(long_size, offsetof(PyLongObject, long_value.lv_tag), long_object, lv_tag);
    CHECK_PUB(long_digits, offsetof(PyLongObject, long_value.ob_digit), long_object, ob_digit);
    if (_PyLong_NON_SIZE_BITS != 3 || SIGN_NEGATIVE != 2) {
        printf("lv_tag: sign and flag bits changed (%d, %d)\n", _PyLong_NON_SIZE_BITS,
               SIGN_NEGATIVE);
        failures++;
    }
#endif
    CHECK(long_shift, PyLong_SHIFT);
    if (sizeof(digit) != 4) {
        printf("digits are %zu bytes\n", sizeof(digit));
        failures++;
    }
}

/* Every field of the row was derived above. */
static void all_checked(void)
{
    for (size_t i = 0; i < pp_layout_n_fields; i++) {
        size_t k = 0;
        while (k < n_checked && strcmp(checked[k], pp_layout_fields[i].name) != 0)
            k++;
        if (k == n_checked) {
            printf("%s: not derived from the headers by this test\n", pp_layout_fields[i].name);
            failures++;
        }
    }
}

#if MINOR >= 13
/* The value derived for a field, LONG_MIN when it was not. */
static long derived_value(const char *name)
{
    for (size_t k = 0; k < n_checked; k++)
        if (strcmp(checked[k], name) == 0)
            return derived[k];
    return LONG_MIN;
}
#endif

/* The row completed from the published struct, as the library does at run time. */
static void completed_layout(void)
{
    if (!pp_py_layout_fits(row) && row->debug_words == 0) {
        printf("the row does not fit the readers' copies (pp_py_layout_fits)\n");
        failures++;
    }
#if MINOR >= 13
    memcpy(published, "xdebugpy", 8);
    published[1] = PY_VERSION_HEX;
    published[2] = FREE_THREADED;
    pp_py_layout l;
    uint32_t hex;
    int ft;
    pp_layout_status st =
        pp_py_layout_from_debug_offsets(published, PP_DEBUG_OFFSETS_WORDS, &l, &hex, &ft);
    if (st != PP_LAYOUT_OK || hex != PY_VERSION_HEX || ft != FREE_THREADED) {
        printf("the published struct is not accepted (status %d)\n", st);
        failures++;
        return;
    }
    for (size_t i = 0; i < pp_layout_n_fields; i++) {
        int32_t v;
        memcpy(&v, (const char *)&l + pp_layout_fields[i].offset, sizeof v);
        long want = derived_value(pp_layout_fields[i].name);
        if (want != LONG_MIN && v != want) {
            printf("%s: completed from _Py_DebugOffsets as %d, the headers say %ld\n",
                   pp_layout_fields[i].name, v, want);
            failures++;
        }
    }
    /* a frame field published beyond the frame copy: refused, not read out of bounds */
    uint64_t bad[PP_DEBUG_OFFSETS_WORDS];
    memcpy(bad, published, sizeof bad);
    bad[DEBUG_SLOT(interpreter_frame, previous)] = PP_COPY_FRAME;
    if (pp_py_layout_from_debug_offsets(bad, PP_DEBUG_OFFSETS_WORDS, &l, &hex, &ft) !=
        PP_LAYOUT_BAD_OFFSETS) {
        printf("a frame offset outside the frame copy was accepted\n");
        failures++;
    }
#endif
}

static void behaviours(void)
{
#if MINOR >= 13
    if (verbose)
        printf("%-22s %6zu  slot -1\n", "debug_words", sizeof(_Py_DebugOffsets) / 8);
    if (row->debug_words != sizeof(_Py_DebugOffsets) / 8) {
        printf("debug_words: row has %u, sizeof(_Py_DebugOffsets) / 8 is %zu\n", row->debug_words,
               sizeof(_Py_DebugOffsets) / 8);
        failures++;
    }
    if (row->debug_words > PP_DEBUG_OFFSETS_WORDS) {
        printf("PP_DEBUG_OFFSETS_WORDS is below this version's struct\n");
        failures++;
    }
#else
    if (row->debug_words != 0) {
        printf("debug_words: no _Py_DebugOffsets before 3.13\n");
        failures++;
    }
#endif
#if MINOR >= 14
    _PyStackRef null = PyStackRef_NULL, i = PyStackRef_TagInt(5);
    if (row->code_ref != PP_CODE_STACKREF || row->ref_tag_bits != Py_TAG_BITS ||
        row->ref_null != null.bits || (i.bits & Py_INT_TAG) != Py_INT_TAG ||
        row->ref_int_tag != Py_INT_TAG) {
        printf("stack references: row has kind %d, tag bits %lu, null %lu, int tag %lu; the "
               "headers %lu, %lu, %lu\n",
               row->code_ref, (unsigned long)row->ref_tag_bits, (unsigned long)row->ref_null,
               (unsigned long)row->ref_int_tag, (unsigned long)Py_TAG_BITS,
               (unsigned long)null.bits, (unsigned long)Py_INT_TAG);
        failures++;
    }
#elif MINOR == 13
    if (row->code_ref != PP_CODE_ANY_PTR) {
        printf("3.13's f_executable is any object\n");
        failures++;
    }
#else
    if (row->code_ref != PP_CODE_PTR) {
        printf("f_code is a code object before 3.13\n");
        failures++;
    }
#endif
}

int main(int argc, char **argv)
{
    verbose = argc > 1 && strcmp(argv[1], "-v") == 0;
    row = pp_py_layout_row(3, MINOR, FREE_THREADED);
    if (!row) {
        printf("no row for 3.%d%s\n", MINOR, FREE_THREADED ? "t" : "");
        if (!verbose)
            return 1;
        static const pp_py_layout none;
        row = &none; /* print what a new row needs */
    }
    runtime_and_threads();
    stack_chunks();
    frames();
    code_objects();
    strings_and_bytes();
    objects_and_types();
    managed_dicts();
    dicts();
    ints();
    all_checked();
    completed_layout();
    behaviours();
    printf("3.%d%s: %s\n", MINOR, FREE_THREADED ? "t" : "",
           failures ? "row differs from the headers" : "row matches the headers");
    return failures != 0;
}
