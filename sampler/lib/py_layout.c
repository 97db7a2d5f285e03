/* The rows of py_layout.h: one per CPython minor version and build. Every number was derived
 * from that version's own headers (offsetof over the internal headers, their constants and
 * inline helpers), and tests/sampler/layout_headers.c derives them again from the headers of
 * every interpreter the tests run and compares, field by field. Each row names the headers its
 * structures come from; the member each field is lives in PP_LAYOUT_FIELDS.
 *
 * The GIL's fields (rt_gil, is_gil, gil_cond, gil_switch_cond, gil_locked) come from
 * internal/pycore_gil.h (struct _gil_runtime_state), internal/pycore_ceval.h (3.8-3.11,
 * _PyRuntimeState.ceval) and internal/pycore_ceval_state.h (3.12+, PyInterpreterState.ceval.gil).
 * Free-threaded rows leave them absent: the GIL wait profile is off on builds without a GIL.
 *
 * D(n) is word n of the version's _Py_DebugOffsets (the member layout_headers.c checks it is):
 * the value is taken from the running interpreter. Rows hold numbers only for what that struct
 * does not publish. */
#include "py_layout.h"

#include <string.h>

/* A published offset at or above this is not an offset into any structure the sampler reads
 * (the largest, PyInterpreterState.imports.modules, is below 8 KiB). */
#define MAX_PUBLISHED_OFFSET (1u << 16)

#define D(slot) PP_DEBUG(slot)

/* One line per group of fields keeps a row on one screen. */
/* clang-format off */
static const pp_py_layout rows[] = {
    /* 3.8: internal/pycore_pystate.h (_PyRuntimeState, PyInterpreterState), cpython/pystate.h
     * (PyThreadState), frameobject.h, code.h, cpython/unicodeobject.h, bytesobject.h, object.h,
     * cpython/object.h, longintrepr.h; Objects/dict-common.h (keys, not installed). */
    {.minor = 8, .free_threaded = 0,
     .frame_model = PP_FRAMES_OBJECT, .line_format = PP_LINES_LNOTAB, .code_ref = PP_CODE_PTR,
     .keys_format = PP_KEYS_SIZE, .long_format = PP_LONG_OB_SIZE, .managed_dict = PP_MANAGED_NONE,
     /* _PyRuntimeState */
     .rt_initialized = 12, .rt_interp_head = 32, .rt_gil = 1152,
     /* PyInterpreterState */
     .is_next = 0, .is_threads_head = 8, .is_id = 16, .is_modules = 56,
     .is_gil = -1, .gil_cond = 32, .gil_switch_cond = 120, .gil_locked = 16,
     /* PyThreadState */
     .ts_next = 8, .ts_interp = 16, .ts_frame = 24, .ts_cframe_frame = -1, .ts_thread_id = 176,
     .ts_native_id = -1, .ts_datastack_chunk = -1,
     /* _PyStackChunk */
     .ck_previous = -1, .ck_size = -1, .ck_top = -1, .ck_data = -1,
     /* frames */
     .fr_size = 112, .fr_previous = 24, .fr_code = 32, .fr_instr = 104, .fr_owner = -1,
     .fr_tlbc_index = -1, .owner_generator = -1, .owner_shim_min = -1, .lasti_unit = 1,
     /* PyCodeObject */
     .co_size = 128, .co_nunits = -1, .co_filename = 104, .co_name = 112, .co_qualname = -1,
     .co_firstlineno = 40, .co_linetable = 120, .co_code = 48, .co_firsttraceable = -1,
     .co_tlbc = -1, .tlbc_size = -1, .tlbc_entries = -1,
     /* str, bytes */
     .str_length = 16, .str_state = 32, .str_kind_shift = 2, .str_ascii_size = 48,
     .str_compact_size = 72, .bytes_size = 16, .bytes_sval = 32,
     /* objects, types */
     .ob_type = 8, .mod_dict = 16, .tp_flags = 168, .tp_dictoffset = 288, .tp_basicsize = 32,
     .ht_cached_keys = 872, .tpflag_managed_dict = 0, .tpflag_inline_values = 0,
     .obj_dict_ptr = -1, .obj_values_ptr = -1,
     /* dict */
     .dict_keys = 32, .dict_values = 40, .dk_size = 8, .dk_log2_index_bytes = -1, .dk_kind = -1,
     .dk_nentries = 32, .dk_indices = 40, .dv_values = 0, .dv_valid = -1,
     /* int */
     .long_size = 16, .long_digits = 24, .long_shift = 30},
    /* 3.9: internal/pycore_runtime.h, internal/pycore_interp.h, cpython/pystate.h,
     * cpython/frameobject.h, cpython/code.h, cpython/unicodeobject.h, cpython/object.h,
     * longintrepr.h; Objects/dict-common.h (keys, not installed). */
    {.minor = 9, .free_threaded = 0,
     .frame_model = PP_FRAMES_OBJECT, .line_format = PP_LINES_LNOTAB, .code_ref = PP_CODE_PTR,
     .keys_format = PP_KEYS_SIZE, .long_format = PP_LONG_OB_SIZE, .managed_dict = PP_MANAGED_NONE,
     /* _PyRuntimeState */
     .rt_initialized = 12, .rt_interp_head = 32, .rt_gil = 352,
     /* PyInterpreterState */
     .is_next = 0, .is_threads_head = 8, .is_id = 24, .is_modules = 856,
     .is_gil = -1, .gil_cond = 32, .gil_switch_cond = 120, .gil_locked = 16,
     /* PyThreadState */
     .ts_next = 8, .ts_interp = 16, .ts_frame = 24, .ts_cframe_frame = -1, .ts_thread_id = 176,
     .ts_native_id = -1, .ts_datastack_chunk = -1,
     /* _PyStackChunk */
     .ck_previous = -1, .ck_size = -1, .ck_top = -1, .ck_data = -1,
     /* frames */
     .fr_size = 112, .fr_previous = 24, .fr_code = 32, .fr_instr = 104, .fr_owner = -1,
     .fr_tlbc_index = -1, .owner_generator = -1, .owner_shim_min = -1, .lasti_unit = 1,
     /* PyCodeObject */
     .co_size = 128, .co_nunits = -1, .co_filename = 104, .co_name = 112, .co_qualname = -1,
     .co_firstlineno = 40, .co_linetable = 120, .co_code = 48, .co_firsttraceable = -1,
     .co_tlbc = -1, .tlbc_size = -1, .tlbc_entries = -1,
     /* str, bytes */
     .str_length = 16, .str_state = 32, .str_kind_shift = 2, .str_ascii_size = 48,
     .str_compact_size = 72, .bytes_size = 16, .bytes_sval = 32,
     /* objects, types */
     .ob_type = 8, .mod_dict = 16, .tp_flags = 168, .tp_dictoffset = 288, .tp_basicsize = 32,
     .ht_cached_keys = 864, .tpflag_managed_dict = 0, .tpflag_inline_values = 0,
     .obj_dict_ptr = -1, .obj_values_ptr = -1,
     /* dict */
     .dict_keys = 32, .dict_values = 40, .dk_size = 8, .dk_log2_index_bytes = -1, .dk_kind = -1,
     .dk_nentries = 32, .dk_indices = 40, .dv_values = 0, .dv_valid = -1,
     /* int */
     .long_size = 16, .long_digits = 24, .long_shift = 30},
    /* 3.10: as 3.9, f_lasti in code units, co_linetable (PEP 626),
     * internal/pycore_moduleobject.h. */
    {.minor = 10, .free_threaded = 0,
     .frame_model = PP_FRAMES_OBJECT, .line_format = PP_LINES_LINETABLE, .code_ref = PP_CODE_PTR,
     .keys_format = PP_KEYS_SIZE, .long_format = PP_LONG_OB_SIZE, .managed_dict = PP_MANAGED_NONE,
     /* _PyRuntimeState */
     .rt_initialized = 12, .rt_interp_head = 32, .rt_gil = 352,
     /* PyInterpreterState */
     .is_next = 0, .is_threads_head = 8, .is_id = 24, .is_modules = 856,
     .is_gil = -1, .gil_cond = 32, .gil_switch_cond = 120, .gil_locked = 16,
     /* PyThreadState */
     .ts_next = 8, .ts_interp = 16, .ts_frame = 24, .ts_cframe_frame = -1, .ts_thread_id = 176,
     .ts_native_id = -1, .ts_datastack_chunk = -1,
     /* _PyStackChunk */
     .ck_previous = -1, .ck_size = -1, .ck_top = -1, .ck_data = -1,
     /* frames */
     .fr_size = 104, .fr_previous = 24, .fr_code = 32, .fr_instr = 96, .fr_owner = -1,
     .fr_tlbc_index = -1, .owner_generator = -1, .owner_shim_min = -1, .lasti_unit = 2,
     /* PyCodeObject */
     .co_size = 128, .co_nunits = -1, .co_filename = 104, .co_name = 112, .co_qualname = -1,
     .co_firstlineno = 40, .co_linetable = 120, .co_code = 48, .co_firsttraceable = -1,
     .co_tlbc = -1, .tlbc_size = -1, .tlbc_entries = -1,
     /* str, bytes */
     .str_length = 16, .str_state = 32, .str_kind_shift = 2, .str_ascii_size = 48,
     .str_compact_size = 72, .bytes_size = 16, .bytes_sval = 32,
     /* objects, types */
     .ob_type = 8, .mod_dict = 16, .tp_flags = 168, .tp_dictoffset = 288, .tp_basicsize = 32,
     .ht_cached_keys = 872, .tpflag_managed_dict = 0, .tpflag_inline_values = 0,
     .obj_dict_ptr = -1, .obj_values_ptr = -1,
     /* dict */
     .dict_keys = 32, .dict_values = 40, .dk_size = 8, .dk_log2_index_bytes = -1, .dk_kind = -1,
     .dk_nentries = 32, .dk_indices = 40, .dv_values = 0, .dv_valid = -1,
     /* int */
     .long_size = 16, .long_digits = 24, .long_shift = 30},
    /* 3.11: internal/pycore_runtime.h, pycore_interp.h, pycore_frame.h (_PyInterpreterFrame,
     * _PyStackChunk), pycore_dict.h (keys, values), pycore_object.h (managed dict pointers),
     * cpython/pystate.h (PyThreadState, _PyCFrame), cpython/code.h, cpython/longintrepr.h. */
    {.minor = 11, .free_threaded = 0,
     .frame_model = PP_FRAMES_INTERPRETER, .line_format = PP_LINES_LOCATIONS,
     .code_ref = PP_CODE_PTR, .keys_format = PP_KEYS_LOG2, .long_format = PP_LONG_OB_SIZE,
     .managed_dict = PP_MANAGED_VALUES_PTR,
     /* _PyRuntimeState */
     .rt_initialized = 16, .rt_interp_head = 40, .rt_gil = 360,
     /* PyInterpreterState */
     .is_next = 0, .is_threads_head = 16, .is_id = 48, .is_modules = 888,
     .is_gil = -1, .gil_cond = 32, .gil_switch_cond = 120, .gil_locked = 16,
     /* PyThreadState */
     .ts_next = 8, .ts_interp = 16, .ts_frame = 56, .ts_cframe_frame = 8, .ts_thread_id = 152,
     .ts_native_id = 160, .ts_datastack_chunk = 296,
     /* _PyStackChunk */
     .ck_previous = 0, .ck_size = 8, .ck_top = 16, .ck_data = 24,
     /* frames */
     .fr_size = 72, .fr_previous = 48, .fr_code = 32, .fr_instr = 56, .fr_owner = 69,
     .fr_tlbc_index = -1, .owner_generator = 1, .owner_shim_min = -1, .lasti_unit = -1,
     /* PyCodeObject */
     .co_size = 184, .co_nunits = 16, .co_filename = 112, .co_name = 120, .co_qualname = 128,
     .co_firstlineno = 72, .co_linetable = 136, .co_code = 184, .co_firsttraceable = 168,
     .co_tlbc = -1, .tlbc_size = -1, .tlbc_entries = -1,
     /* str, bytes */
     .str_length = 16, .str_state = 32, .str_kind_shift = 2, .str_ascii_size = 48,
     .str_compact_size = 72, .bytes_size = 16, .bytes_sval = 32,
     /* objects, types */
     .ob_type = 8, .mod_dict = 16, .tp_flags = 168, .tp_dictoffset = 288, .tp_basicsize = 32,
     .ht_cached_keys = 872, .tpflag_managed_dict = 16, .tpflag_inline_values = 0,
     .obj_dict_ptr = -24, .obj_values_ptr = -32,
     /* dict */
     .dict_keys = 32, .dict_values = 40, .dk_size = -1, .dk_log2_index_bytes = 9, .dk_kind = 10,
     .dk_nentries = 24, .dk_indices = 32, .dv_values = 0, .dv_valid = -1,
     /* int */
     .long_size = 16, .long_digits = 24, .long_shift = 30},
    /* 3.12: as 3.11; PyInterpreterState.threads and .imports, shim frames (FRAME_OWNED_BY_CSTACK),
     * lv_tag ints (pycore_long.h), one tagged dict-or-values pointer. */
    {.minor = 12, .free_threaded = 0,
     .frame_model = PP_FRAMES_INTERPRETER, .line_format = PP_LINES_LOCATIONS,
     .code_ref = PP_CODE_PTR, .keys_format = PP_KEYS_LOG2, .long_format = PP_LONG_LV_TAG,
     .managed_dict = PP_MANAGED_TAGGED,
     /* _PyRuntimeState */
     .rt_initialized = 16, .rt_interp_head = 40, .rt_gil = -1,
     /* PyInterpreterState */
     .is_next = 0, .is_threads_head = 72, .is_id = 8, .is_modules = 944,
     .is_gil = 384, .gil_cond = 32, .gil_switch_cond = 120, .gil_locked = 16,
     /* PyThreadState */
     .ts_next = 8, .ts_interp = 16, .ts_frame = 56, .ts_cframe_frame = 0, .ts_thread_id = 136,
     .ts_native_id = 144, .ts_datastack_chunk = 232,
     /* _PyStackChunk */
     .ck_previous = 0, .ck_size = 8, .ck_top = 16, .ck_data = 24,
     /* frames */
     .fr_size = 72, .fr_previous = 8, .fr_code = 0, .fr_instr = 56, .fr_owner = 70,
     .fr_tlbc_index = -1, .owner_generator = 1, .owner_shim_min = 3, .lasti_unit = -1,
     /* PyCodeObject */
     .co_size = 192, .co_nunits = 16, .co_filename = 112, .co_name = 120, .co_qualname = 128,
     .co_firstlineno = 68, .co_linetable = 136, .co_code = 192, .co_firsttraceable = 176,
     .co_tlbc = -1, .tlbc_size = -1, .tlbc_entries = -1,
     /* str, bytes */
     .str_length = 16, .str_state = 32, .str_kind_shift = 2, .str_ascii_size = 40,
     .str_compact_size = 56, .bytes_size = 16, .bytes_sval = 32,
     /* objects, types */
     .ob_type = 8, .mod_dict = 16, .tp_flags = 168, .tp_dictoffset = 288, .tp_basicsize = 32,
     .ht_cached_keys = 880, .tpflag_managed_dict = 16, .tpflag_inline_values = 0,
     .obj_dict_ptr = -24, .obj_values_ptr = -1,
     /* dict */
     .dict_keys = 32, .dict_values = 40, .dk_size = -1, .dk_log2_index_bytes = 9, .dk_kind = 10,
     .dk_nentries = 24, .dk_indices = 32, .dv_values = 0, .dv_valid = -1,
     /* int */
     .long_size = 16, .long_digits = 24, .long_shift = 30},
    /* 3.13: internal/pycore_runtime.h (_Py_DebugOffsets, 73 words); the rest as 3.12, plus
     * inline values (pycore_dict.h PyDictValues, Py_TPFLAGS_INLINE_VALUES). */
    {.minor = 13, .free_threaded = 0, .debug_words = 73,
     .frame_model = PP_FRAMES_INTERPRETER, .line_format = PP_LINES_LOCATIONS,
     .code_ref = PP_CODE_ANY_PTR, .keys_format = PP_KEYS_LOG2, .long_format = PP_LONG_LV_TAG,
     .managed_dict = PP_MANAGED_INLINE,
     /* _PyRuntimeState */
     .rt_initialized = 600, .rt_interp_head = D(5), .rt_gil = -1,
     /* PyInterpreterState */
     .is_next = D(8), .is_threads_head = D(9), .is_id = D(7), .is_modules = D(11),
     .is_gil = D(14), .gil_cond = 32, .gil_switch_cond = 120, .gil_locked = 16,
     /* PyThreadState */
     .ts_next = D(21), .ts_interp = D(22), .ts_frame = D(23), .ts_cframe_frame = -1,
     .ts_thread_id = D(24), .ts_native_id = D(25), .ts_datastack_chunk = D(26),
     /* _PyStackChunk */
     .ck_previous = 0, .ck_size = 8, .ck_top = 16, .ck_data = 24,
     /* frames */
     .fr_size = D(28), .fr_previous = D(29), .fr_code = D(30), .fr_instr = D(31),
     .fr_owner = D(33), .fr_tlbc_index = -1, .owner_generator = 1, .owner_shim_min = 3,
     .lasti_unit = -1,
     /* PyCodeObject */
     .co_size = D(43), .co_nunits = 16, .co_filename = D(35), .co_name = D(36),
     .co_qualname = D(37), .co_firstlineno = D(39), .co_linetable = D(38), .co_code = D(43),
     .co_firsttraceable = 184, .co_tlbc = -1, .tlbc_size = -1, .tlbc_entries = -1,
     /* str, bytes */
     .str_length = D(69), .str_state = D(68), .str_kind_shift = 2, .str_ascii_size = D(70),
     .str_compact_size = 56, .bytes_size = D(65), .bytes_sval = D(66),
     /* objects, types */
     .ob_type = D(45), .mod_dict = 16, .tp_flags = D(49), .tp_dictoffset = 288, .tp_basicsize = 32,
     .ht_cached_keys = 880, .tpflag_managed_dict = 16, .tpflag_inline_values = 4,
     .obj_dict_ptr = -24, .obj_values_ptr = -1,
     /* dict */
     .dict_keys = D(57), .dict_values = D(58), .dk_size = -1, .dk_log2_index_bytes = 9,
     .dk_kind = 10, .dk_nentries = 24, .dk_indices = 32, .dv_values = 8, .dv_valid = 3,
     /* int */
     .long_size = D(62), .long_digits = D(63), .long_shift = 30},
    /* 3.13t: the 3.13 headers of a Py_GIL_DISABLED build (installed by scripts/build_python_ft.sh):
     * object header 32 bytes (ob_tid, ob_ref_local, ob_ref_shared), managed dict pointer at -8;
     * no thread-local bytecode yet (instr_ptr points into co_code_adaptive). */
    {.minor = 13, .free_threaded = 1, .debug_words = 73,
     .frame_model = PP_FRAMES_INTERPRETER, .line_format = PP_LINES_LOCATIONS,
     .code_ref = PP_CODE_ANY_PTR, .keys_format = PP_KEYS_LOG2, .long_format = PP_LONG_LV_TAG,
     .managed_dict = PP_MANAGED_INLINE,
     /* _PyRuntimeState */
     .rt_initialized = 600, .rt_interp_head = D(5), .rt_gil = -1,
     /* PyInterpreterState */
     .is_next = D(8), .is_threads_head = D(9), .is_id = D(7), .is_modules = D(11),
     .is_gil = -1, .gil_cond = -1, .gil_switch_cond = -1, .gil_locked = -1,
     /* PyThreadState */
     .ts_next = D(21), .ts_interp = D(22), .ts_frame = D(23), .ts_cframe_frame = -1,
     .ts_thread_id = D(24), .ts_native_id = D(25), .ts_datastack_chunk = D(26),
     /* _PyStackChunk */
     .ck_previous = 0, .ck_size = 8, .ck_top = 16, .ck_data = 24,
     /* frames */
     .fr_size = D(28), .fr_previous = D(29), .fr_code = D(30), .fr_instr = D(31),
     .fr_owner = D(33), .fr_tlbc_index = -1, .owner_generator = 1, .owner_shim_min = 3,
     .lasti_unit = -1,
     /* PyCodeObject */
     .co_size = D(43), .co_nunits = 32, .co_filename = D(35), .co_name = D(36),
     .co_qualname = D(37), .co_firstlineno = D(39), .co_linetable = D(38), .co_code = D(43),
     .co_firsttraceable = 200, .co_tlbc = -1, .tlbc_size = -1, .tlbc_entries = -1,
     /* str, bytes */
     .str_length = D(69), .str_state = D(68), .str_kind_shift = 2, .str_ascii_size = D(70),
     .str_compact_size = 72, .bytes_size = D(65), .bytes_sval = D(66),
     /* objects, types */
     .ob_type = D(45), .mod_dict = 32, .tp_flags = D(49), .tp_dictoffset = 304, .tp_basicsize = 48,
     .ht_cached_keys = 896, .tpflag_managed_dict = 16, .tpflag_inline_values = 4,
     .obj_dict_ptr = -8, .obj_values_ptr = -1,
     /* dict */
     .dict_keys = D(57), .dict_values = D(58), .dk_size = -1, .dk_log2_index_bytes = 9,
     .dk_kind = 10, .dk_nentries = 24, .dk_indices = 32, .dv_values = 8, .dv_valid = 3,
     /* int */
     .long_size = D(62), .long_digits = D(63), .long_shift = 30},
    /* 3.14: internal/pycore_debug_offsets.h (95 words), pycore_runtime_structs.h,
     * pycore_interp_structs.h, pycore_interpframe_structs.h (owners: INTERPRETER 3, CSTACK 4),
     * pycore_stackref.h (GIL build: Py_TAG_BITS 3, NULL = 1, tagged ints & 3 == 3), cpython/code.h. */
    {.minor = 14, .free_threaded = 0, .debug_words = 95,
     .frame_model = PP_FRAMES_INTERPRETER, .line_format = PP_LINES_LOCATIONS,
     .code_ref = PP_CODE_STACKREF, .ref_tag_bits = 3, .ref_null = 1, .ref_int_tag = 3,
     .keys_format = PP_KEYS_LOG2, .long_format = PP_LONG_LV_TAG, .managed_dict = PP_MANAGED_INLINE,
     /* _PyRuntimeState */
     .rt_initialized = 776, .rt_interp_head = D(5), .rt_gil = -1,
     /* PyInterpreterState */
     .is_next = D(8), .is_threads_head = D(9), .is_id = D(7), .is_modules = D(12),
     .is_gil = D(15), .gil_cond = 32, .gil_switch_cond = 120, .gil_locked = 16,
     /* PyThreadState */
     .ts_next = D(24), .ts_interp = D(25), .ts_frame = D(26), .ts_cframe_frame = -1,
     .ts_thread_id = D(27), .ts_native_id = D(28), .ts_datastack_chunk = D(29),
     /* _PyStackChunk */
     .ck_previous = 0, .ck_size = 8, .ck_top = 16, .ck_data = 24,
     /* frames */
     .fr_size = D(31), .fr_previous = D(32), .fr_code = D(33), .fr_instr = D(34),
     .fr_owner = D(36), .fr_tlbc_index = -1, .owner_generator = 1, .owner_shim_min = 3,
     .lasti_unit = -1,
     /* PyCodeObject */
     .co_size = D(48), .co_nunits = 16, .co_filename = D(40), .co_name = D(41),
     .co_qualname = D(42), .co_firstlineno = D(44), .co_linetable = D(43), .co_code = D(48),
     .co_firsttraceable = 192, .co_tlbc = -1, .tlbc_size = -1, .tlbc_entries = -1,
     /* str, bytes */
     .str_length = D(79), .str_state = D(78), .str_kind_shift = 2, .str_ascii_size = D(80),
     .str_compact_size = 56, .bytes_size = D(75), .bytes_sval = D(76),
     /* objects, types */
     .ob_type = D(51), .mod_dict = 16, .tp_flags = D(55), .tp_dictoffset = 288, .tp_basicsize = 32,
     .ht_cached_keys = 880, .tpflag_managed_dict = 16, .tpflag_inline_values = 4,
     .obj_dict_ptr = -24, .obj_values_ptr = -1,
     /* dict */
     .dict_keys = D(67), .dict_values = D(68), .dk_size = -1, .dk_log2_index_bytes = 9,
     .dk_kind = 10, .dk_nentries = 24, .dk_indices = 32, .dv_values = 8, .dv_valid = 3,
     /* int */
     .long_size = D(72), .long_digits = D(73), .long_shift = 30},
    /* 3.15: as 3.14 (_Py_DebugOffsets: 111 words, now with the type, heap-type and compact-str
     * sizes); FRAME_OWNED_BY_CSTACK is gone. */
    {.minor = 15, .free_threaded = 0, .debug_words = 111,
     .frame_model = PP_FRAMES_INTERPRETER, .line_format = PP_LINES_LOCATIONS,
     .code_ref = PP_CODE_STACKREF, .ref_tag_bits = 3, .ref_null = 1, .ref_int_tag = 3,
     .keys_format = PP_KEYS_LOG2, .long_format = PP_LONG_LV_TAG, .managed_dict = PP_MANAGED_INLINE,
     /* _PyRuntimeState */
     .rt_initialized = 904, .rt_interp_head = D(5), .rt_gil = -1,
     /* PyInterpreterState */
     .is_next = D(8), .is_threads_head = D(9), .is_id = D(7), .is_modules = D(12),
     .is_gil = D(15), .gil_cond = 32, .gil_switch_cond = 120, .gil_locked = 16,
     /* PyThreadState */
     .ts_next = D(24), .ts_interp = D(25), .ts_frame = D(26), .ts_cframe_frame = -1,
     .ts_thread_id = D(30), .ts_native_id = D(31), .ts_datastack_chunk = D(32),
     /* _PyStackChunk */
     .ck_previous = 0, .ck_size = 8, .ck_top = 16, .ck_data = 24,
     /* frames */
     .fr_size = D(39), .fr_previous = D(40), .fr_code = D(41), .fr_instr = D(42),
     .fr_owner = D(44), .fr_tlbc_index = -1, .owner_generator = 1, .owner_shim_min = 3,
     .lasti_unit = -1,
     /* PyCodeObject */
     .co_size = D(56), .co_nunits = 16, .co_filename = D(48), .co_name = D(49),
     .co_qualname = D(50), .co_firstlineno = D(52), .co_linetable = D(51), .co_code = D(56),
     .co_firsttraceable = 192, .co_tlbc = -1, .tlbc_size = -1, .tlbc_entries = -1,
     /* str, bytes */
     .str_length = D(91), .str_state = D(90), .str_kind_shift = 2, .str_ascii_size = D(92),
     .str_compact_size = D(93), .bytes_size = D(87), .bytes_sval = D(88),
     /* objects, types */
     .ob_type = D(59), .mod_dict = 16, .tp_flags = D(63), .tp_dictoffset = D(65),
     .tp_basicsize = D(64), .ht_cached_keys = D(67), .tpflag_managed_dict = 16,
     .tpflag_inline_values = 4, .obj_dict_ptr = -24, .obj_values_ptr = -1,
     /* dict */
     .dict_keys = D(79), .dict_values = D(80), .dk_size = -1, .dk_log2_index_bytes = 9,
     .dk_kind = 10, .dk_nentries = 24, .dk_indices = 32, .dv_values = 8, .dv_valid = 3,
     /* int */
     .long_size = D(84), .long_digits = D(85), .long_shift = 30},
    /* 3.14t: the 3.14 headers built with Py_GIL_DISABLED (no interpreter to run yet): object
     * header 32 bytes (ob_tid, split refcounts), Py_TAG_BITS 1, one byte for str's interned
     * state, managed dict pointer at -8, thread-local bytecode (co_tlbc, frame tlbc_index). */
    {.minor = 14, .free_threaded = 1, .debug_words = 95,
     .frame_model = PP_FRAMES_INTERPRETER, .line_format = PP_LINES_LOCATIONS,
     .code_ref = PP_CODE_STACKREF, .ref_tag_bits = 1, .ref_null = 1, .ref_int_tag = 3,
     .keys_format = PP_KEYS_LOG2, .long_format = PP_LONG_LV_TAG, .managed_dict = PP_MANAGED_INLINE,
     /* _PyRuntimeState */
     .rt_initialized = 776, .rt_interp_head = D(5), .rt_gil = -1,
     /* PyInterpreterState */
     .is_next = D(8), .is_threads_head = D(9), .is_id = D(7), .is_modules = D(12),
     .is_gil = -1, .gil_cond = -1, .gil_switch_cond = -1, .gil_locked = -1,
     /* PyThreadState */
     .ts_next = D(24), .ts_interp = D(25), .ts_frame = D(26), .ts_cframe_frame = -1,
     .ts_thread_id = D(27), .ts_native_id = D(28), .ts_datastack_chunk = D(29),
     /* _PyStackChunk */
     .ck_previous = 0, .ck_size = 8, .ck_top = 16, .ck_data = 24,
     /* frames */
     .fr_size = D(31), .fr_previous = D(32), .fr_code = D(33), .fr_instr = D(34),
     .fr_owner = D(36), .fr_tlbc_index = D(38), .owner_generator = 1, .owner_shim_min = 3,
     .lasti_unit = -1,
     /* PyCodeObject */
     .co_size = D(48), .co_nunits = 32, .co_filename = D(40), .co_name = D(41),
     .co_qualname = D(42), .co_firstlineno = D(44), .co_linetable = D(43), .co_code = D(48),
     .co_firsttraceable = 208, .co_tlbc = D(49), .tlbc_size = 0, .tlbc_entries = 8,
     /* str, bytes */
     .str_length = D(79), .str_state = D(78), .str_kind_shift = 8, .str_ascii_size = D(80),
     .str_compact_size = 72, .bytes_size = D(75), .bytes_sval = D(76),
     /* objects, types */
     .ob_type = D(51), .mod_dict = 32, .tp_flags = D(55), .tp_dictoffset = 304, .tp_basicsize = 48,
     .ht_cached_keys = 896, .tpflag_managed_dict = 16, .tpflag_inline_values = 4,
     .obj_dict_ptr = -8, .obj_values_ptr = -1,
     /* dict */
     .dict_keys = D(67), .dict_values = D(68), .dk_size = -1, .dk_log2_index_bytes = 9,
     .dk_kind = 10, .dk_nentries = 24, .dk_indices = 32, .dv_values = 8, .dv_valid = 3,
     /* int */
     .long_size = D(72), .long_digits = D(73), .long_shift = 30},
    /* 3.15t: the 3.15 headers built with Py_GIL_DISABLED (no interpreter to run yet), as 3.14t
     * but Py_TAG_BITS is 3 in both builds. */
    {.minor = 15, .free_threaded = 1, .debug_words = 111,
     .frame_model = PP_FRAMES_INTERPRETER, .line_format = PP_LINES_LOCATIONS,
     .code_ref = PP_CODE_STACKREF, .ref_tag_bits = 3, .ref_null = 1, .ref_int_tag = 3,
     .keys_format = PP_KEYS_LOG2, .long_format = PP_LONG_LV_TAG, .managed_dict = PP_MANAGED_INLINE,
     /* _PyRuntimeState */
     .rt_initialized = 904, .rt_interp_head = D(5), .rt_gil = -1,
     /* PyInterpreterState */
     .is_next = D(8), .is_threads_head = D(9), .is_id = D(7), .is_modules = D(12),
     .is_gil = -1, .gil_cond = -1, .gil_switch_cond = -1, .gil_locked = -1,
     /* PyThreadState */
     .ts_next = D(24), .ts_interp = D(25), .ts_frame = D(26), .ts_cframe_frame = -1,
     .ts_thread_id = D(30), .ts_native_id = D(31), .ts_datastack_chunk = D(32),
     /* _PyStackChunk */
     .ck_previous = 0, .ck_size = 8, .ck_top = 16, .ck_data = 24,
     /* frames */
     .fr_size = D(39), .fr_previous = D(40), .fr_code = D(41), .fr_instr = D(42),
     .fr_owner = D(44), .fr_tlbc_index = D(46), .owner_generator = 1, .owner_shim_min = 3,
     .lasti_unit = -1,
     /* PyCodeObject */
     .co_size = D(56), .co_nunits = 32, .co_filename = D(48), .co_name = D(49),
     .co_qualname = D(50), .co_firstlineno = D(52), .co_linetable = D(51), .co_code = D(56),
     .co_firsttraceable = 208, .co_tlbc = D(57), .tlbc_size = 0, .tlbc_entries = 8,
     /* str, bytes */
     .str_length = D(91), .str_state = D(90), .str_kind_shift = 8, .str_ascii_size = D(92),
     .str_compact_size = D(93), .bytes_size = D(87), .bytes_sval = D(88),
     /* objects, types */
     .ob_type = D(59), .mod_dict = 32, .tp_flags = D(63), .tp_dictoffset = D(65),
     .tp_basicsize = D(64), .ht_cached_keys = D(67), .tpflag_managed_dict = 16,
     .tpflag_inline_values = 4, .obj_dict_ptr = -8, .obj_values_ptr = -1,
     /* dict */
     .dict_keys = D(79), .dict_values = D(80), .dk_size = -1, .dk_log2_index_bytes = 9,
     .dk_kind = 10, .dk_nentries = 24, .dk_indices = 32, .dv_values = 8, .dv_valid = 3,
     /* int */
     .long_size = D(84), .long_digits = D(85), .long_shift = 30},
};
/* clang-format on */
const pp_layout_field pp_layout_fields[] = {
#define PP_LAYOUT_NAME(name) {#name, offsetof(pp_py_layout, name)},
    PP_LAYOUT_FIELDS(PP_LAYOUT_NAME)
#undef PP_LAYOUT_NAME
};
const size_t pp_layout_n_fields = sizeof pp_layout_fields / sizeof pp_layout_fields[0];

const pp_py_layout *pp_py_layout_row(int major, int minor, int free_threaded)
{
    if (major != 3)
        return NULL;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        if (rows[i].minor == minor && rows[i].free_threaded == free_threaded)
            return &rows[i];
    return NULL;
}

const pp_py_layout *pp_py_layout_for(int major, int minor)
{
    const pp_py_layout *row = pp_py_layout_row(major, minor, 0);
    return row && row->debug_words == 0 ? row : NULL;
}

/* A field of `size` bytes at off lies within the first `limit` bytes (an absent field, -1, does).
 */
static int inside(int32_t off, int32_t size, int32_t limit)
{
    return off < 0 || (int64_t)off + size <= limit;
}

int pp_py_layout_fits(const pp_py_layout *l)
{
    const int32_t ptr = (int32_t)sizeof(uintptr_t);
    /* frames: the fields keep_raw takes from the copy of fr_size bytes */
    int32_t instr = l->frame_model == PP_FRAMES_OBJECT ? 4 : ptr;
    int frame = l->fr_size > 0 && l->fr_size <= PP_COPY_FRAME &&
                inside(l->fr_previous, ptr, l->fr_size) && inside(l->fr_code, ptr, l->fr_size) &&
                inside(l->fr_instr, instr, l->fr_size) && inside(l->fr_owner, 1, l->fr_size) &&
                inside(l->fr_tlbc_index, 4, l->fr_size);
    /* code objects: the fields the code cache takes from the header of co_size bytes */
    int code =
        l->co_size > 0 && l->co_size <= PP_COPY_CODE && inside(l->ob_type, ptr, l->co_size) &&
        inside(l->co_filename, ptr, l->co_size) && inside(l->co_name, ptr, l->co_size) &&
        inside(l->co_qualname, ptr, l->co_size) && inside(l->co_linetable, ptr, l->co_size) &&
        inside(l->co_firstlineno, 4, l->co_size) && inside(l->co_firsttraceable, 4, l->co_size) &&
        inside(l->co_nunits, 8, l->co_size) && inside(l->co_tlbc, ptr, l->co_size);
    /* thread states: the fields read_thread takes from one copy */
    int tstate =
        inside(l->ts_next, ptr, PP_COPY_TSTATE) && inside(l->ts_interp, ptr, PP_COPY_TSTATE) &&
        inside(l->ts_thread_id, ptr, PP_COPY_TSTATE) && inside(l->ts_frame, ptr, PP_COPY_TSTATE) &&
        inside(l->ts_native_id, 4, PP_COPY_TSTATE);
    /* str: length and state from the PyASCIIObject part; kind, compact, ascii in 5 bits */
    int str = l->str_ascii_size > 0 && l->str_ascii_size <= PP_COPY_STR &&
              inside(l->str_length, 8, l->str_ascii_size) &&
              inside(l->str_state, 4, l->str_ascii_size) && l->str_kind_shift >= 0 &&
              l->str_kind_shift <= 27;
    /* dict keys: the header fields before the indices */
    int keys = l->dk_indices > 0 && l->dk_indices <= PP_COPY_KEYS &&
               inside(l->dk_size, 8, l->dk_indices) && inside(l->dk_nentries, 8, l->dk_indices) &&
               inside(l->dk_log2_index_bytes, 1, l->dk_indices) &&
               inside(l->dk_kind, 1, l->dk_indices);
    int ints = l->long_shift > 0 && l->long_shift < 32;
    return frame && code && tstate && str && keys && ints;
}

static int32_t *field_at(pp_py_layout *l, size_t i)
{
    return (int32_t *)((char *)l + pp_layout_fields[i].offset);
}

pp_layout_status pp_py_layout_from_debug_offsets(const uint64_t *d, unsigned n_words,
                                                 pp_py_layout *out, uint32_t *hexversion,
                                                 int *free_threaded)
{
    *hexversion = 0;
    *free_threaded = 0;
    if (n_words < 3 || memcmp(d, "xdebugpy", 8) != 0)
        return PP_LAYOUT_NOT_DEBUG_OFFSETS;
    *hexversion = (uint32_t)d[1];
    *free_threaded = d[2] != 0;
    const pp_py_layout *row = pp_py_layout_row((int)(*hexversion >> 24 & 0xff),
                                               (int)(*hexversion >> 16 & 0xff), *free_threaded);
    if (!row || row->debug_words == 0 || row->debug_words > n_words)
        return PP_LAYOUT_UNSUPPORTED;
    pp_py_layout l = *row;
    for (size_t i = 0; i < pp_layout_n_fields; i++) {
        int32_t *f = field_at(&l, i);
        if (!PP_IS_DEBUG(*f))
            continue;
        unsigned slot = PP_DEBUG_SLOT(*f);
        /* Every structure read is far smaller; a bigger value is not an offset of this build. */
        if (slot < 3 || slot >= row->debug_words || d[slot] >= MAX_PUBLISHED_OFFSET)
            return PP_LAYOUT_BAD_OFFSETS;
        *f = (int32_t)d[slot];
    }
    if (!pp_py_layout_fits(&l))
        return PP_LAYOUT_BAD_OFFSETS;
    *out = l;
    return PP_LAYOUT_OK;
}
