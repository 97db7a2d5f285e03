#include "py_layout.h"

#include <string.h>

/* Values measured with offsetof() against each version's installed internal headers; the
 * sources and cross-checks are in shared/reference/python-sampling.md §1.3. */
static const pp_py_layout rows[] = {
    {.minor = 8,
     .is_modules = 56,
     .tp_flags = 168,
     .tp_dictoffset = 288,
     .tp_basicsize = 32,
     .ht_cached_keys = 872,
     .rt_initialized = 12,
     .rt_interp_head = 32,
     .is_next = 0,
     .is_threads_head = 8,
     .is_id = 16,
     .ts_next = 8,
     .ts_interp = 16,
     .ts_frame = 24,
     .ts_cframe_frame = -1,
     .ts_thread_id = 176,
     .ts_native_id = -1,
     .ts_datastack_chunk = -1,
     .frame_model = PP_FRAMES_OBJECT,
     .fr_size = 112,
     .fr_previous = 24,
     .fr_code = 32,
     .fr_instr = 104,
     .fr_owner = -1,
     .owner_cstack = -1,
     .lasti_unit = 1,
     .co_size = 128,
     .co_filename = 104,
     .co_name = 112,
     .co_qualname = -1,
     .co_firstlineno = 40,
     .co_linetable = 120,
     .co_code = 48,
     .co_firsttraceable = -1,
     .line_format = PP_LINES_LNOTAB,
     .str_length = 16,
     .str_state = 32,
     .str_ascii_size = 48,
     .str_compact_size = 72,
     .bytes_size = 16,
     .bytes_sval = 32,
     .ob_type = 8},
    {.minor = 9,
     .is_modules = 856,
     .tp_flags = 168,
     .tp_dictoffset = 288,
     .tp_basicsize = 32,
     .ht_cached_keys = 864,
     .rt_initialized = 12,
     .rt_interp_head = 32,
     .is_next = 0,
     .is_threads_head = 8,
     .is_id = 24,
     .ts_next = 8,
     .ts_interp = 16,
     .ts_frame = 24,
     .ts_cframe_frame = -1,
     .ts_thread_id = 176,
     .ts_native_id = -1,
     .ts_datastack_chunk = -1,
     .frame_model = PP_FRAMES_OBJECT,
     .fr_size = 112,
     .fr_previous = 24,
     .fr_code = 32,
     .fr_instr = 104,
     .fr_owner = -1,
     .owner_cstack = -1,
     .lasti_unit = 1,
     .co_size = 128,
     .co_filename = 104,
     .co_name = 112,
     .co_qualname = -1,
     .co_firstlineno = 40,
     .co_linetable = 120,
     .co_code = 48,
     .co_firsttraceable = -1,
     .line_format = PP_LINES_LNOTAB,
     .str_length = 16,
     .str_state = 32,
     .str_ascii_size = 48,
     .str_compact_size = 72,
     .bytes_size = 16,
     .bytes_sval = 32,
     .ob_type = 8},
    {.minor = 10,
     .is_modules = 856,
     .tp_flags = 168,
     .tp_dictoffset = 288,
     .tp_basicsize = 32,
     .ht_cached_keys = 872,
     .rt_initialized = 12,
     .rt_interp_head = 32,
     .is_next = 0,
     .is_threads_head = 8,
     .is_id = 24,
     .ts_next = 8,
     .ts_interp = 16,
     .ts_frame = 24,
     .ts_cframe_frame = -1,
     .ts_thread_id = 176,
     .ts_native_id = -1,
     .ts_datastack_chunk = -1,
     .frame_model = PP_FRAMES_OBJECT,
     .fr_size = 104,
     .fr_previous = 24,
     .fr_code = 32,
     .fr_instr = 96,
     .fr_owner = -1,
     .owner_cstack = -1,
     .lasti_unit = 2,
     .co_size = 128,
     .co_filename = 104,
     .co_name = 112,
     .co_qualname = -1,
     .co_firstlineno = 40,
     .co_linetable = 120,
     .co_code = 48,
     .co_firsttraceable = -1,
     .line_format = PP_LINES_LINETABLE,
     .str_length = 16,
     .str_state = 32,
     .str_ascii_size = 48,
     .str_compact_size = 72,
     .bytes_size = 16,
     .bytes_sval = 32,
     .ob_type = 8},
    {.minor = 11,
     .is_modules = 888,
     .tp_flags = 168,
     .tp_dictoffset = 288,
     .tp_basicsize = 32,
     .ht_cached_keys = 872,
     .rt_initialized = 16,
     .rt_interp_head = 40,
     .is_next = 0,
     .is_threads_head = 16,
     .is_id = 48,
     .ts_next = 8,
     .ts_interp = 16,
     .ts_frame = 56,
     .ts_cframe_frame = 8,
     .ts_thread_id = 152,
     .ts_native_id = 160,
     .ts_datastack_chunk = 296,
     .frame_model = PP_FRAMES_INTERPRETER,
     .fr_size = 72,
     .fr_previous = 48,
     .fr_code = 32,
     .fr_instr = 56,
     .fr_owner = 69,
     .owner_cstack = -1,
     .lasti_unit = 2,
     .co_size = 184,
     .co_filename = 112,
     .co_name = 120,
     .co_qualname = 128,
     .co_firstlineno = 72,
     .co_linetable = 136,
     .co_code = 184,
     .co_firsttraceable = 168,
     .line_format = PP_LINES_LOCATIONS,
     .str_length = 16,
     .str_state = 32,
     .str_ascii_size = 48,
     .str_compact_size = 72,
     .bytes_size = 16,
     .bytes_sval = 32,
     .ob_type = 8},
    {.minor = 12,
     .is_modules = 944,
     .tp_flags = 168,
     .tp_dictoffset = 288,
     .tp_basicsize = 32,
     .ht_cached_keys = 880,
     .rt_initialized = 16,
     .rt_interp_head = 40,
     .is_next = 0,
     .is_threads_head = 72,
     .is_id = 8,
     .ts_next = 8,
     .ts_interp = 16,
     .ts_frame = 56,
     .ts_cframe_frame = 0,
     .ts_thread_id = 136,
     .ts_native_id = 144,
     .ts_datastack_chunk = 232,
     .frame_model = PP_FRAMES_INTERPRETER,
     .fr_size = 72,
     .fr_previous = 8,
     .fr_code = 0,
     .fr_instr = 56,
     .fr_owner = 70,
     .owner_cstack = 3,
     .lasti_unit = 2,
     .co_size = 192,
     .co_filename = 112,
     .co_name = 120,
     .co_qualname = 128,
     .co_firstlineno = 68,
     .co_linetable = 136,
     .co_code = 192,
     .co_firsttraceable = 176,
     .line_format = PP_LINES_LOCATIONS,
     .str_length = 16,
     .str_state = 32,
     .str_ascii_size = 40,
     .str_compact_size = 56,
     .bytes_size = 16,
     .bytes_sval = 32,
     .ob_type = 8},
    /* 3.13: the fields _Py_DebugOffsets does not publish (initialized, owner value of shim
     * frames, _co_firsttraceable) come from here; the rest is overridden at run time. */
    {.minor = 13,
     .is_modules = 7656,
     .tp_flags = 168,
     .tp_dictoffset = 288,
     .tp_basicsize = 32,
     .ht_cached_keys = 880,
     .rt_initialized = 600,
     .rt_interp_head = 632,
     .is_next = 7264,
     .is_threads_head = 7344,
     .is_id = 7272,
     .ts_next = 8,
     .ts_interp = 16,
     .ts_frame = 72,
     .ts_cframe_frame = -1,
     .ts_thread_id = 152,
     .ts_native_id = 160,
     .ts_datastack_chunk = 232,
     .frame_model = PP_FRAMES_INTERPRETER,
     .fr_size = 72,
     .fr_previous = 8,
     .fr_code = 0,
     .fr_instr = 56,
     .fr_owner = 70,
     .owner_cstack = 3,
     .lasti_unit = 2,
     .co_size = 200,
     .co_filename = 112,
     .co_name = 120,
     .co_qualname = 128,
     .co_firstlineno = 68,
     .co_linetable = 136,
     .co_code = 200,
     .co_firsttraceable = 184,
     .line_format = PP_LINES_LOCATIONS,
     .str_length = 16,
     .str_state = 32,
     .str_ascii_size = 40,
     .str_compact_size = 56,
     .bytes_size = 16,
     .bytes_sval = 32,
     .ob_type = 8},
};

const pp_py_layout *pp_py_layout_for(int major, int minor)
{
    if (major != 3)
        return NULL;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        if (rows[i].minor == minor)
            return &rows[i];
    return NULL;
}

/* Slots of the 3.13 _Py_DebugOffsets, read as an array of uint64 (pycore_runtime.h). */
enum {
    D313_VERSION = 1,
    D313_FREE_THREADED = 2,
    D313_INTERP_HEAD = 5,
    D313_IS_ID = 7,
    D313_IS_NEXT = 8,
    D313_IS_THREADS_HEAD = 9,
    D313_IS_MODULES = 11,
    D313_TS_NEXT = 21,
    D313_TS_INTERP = 22,
    D313_TS_CURRENT_FRAME = 23,
    D313_TS_THREAD_ID = 24,
    D313_TS_NATIVE_ID = 25,
    D313_TS_DATASTACK_CHUNK = 26,
    D313_FR_PREVIOUS = 29,
    D313_FR_EXECUTABLE = 30,
    D313_FR_INSTR_PTR = 31,
    D313_FR_OWNER = 33,
    D313_CO_FILENAME = 35,
    D313_CO_NAME = 36,
    D313_CO_QUALNAME = 37,
    D313_CO_LINETABLE = 38,
    D313_CO_FIRSTLINENO = 39,
    D313_CO_CODE_ADAPTIVE = 43,
    D313_OB_TYPE = 45,
    D313_BYTES_SIZE = 65,
    D313_BYTES_SVAL = 66,
    D313_STR_STATE = 68,
    D313_STR_LENGTH = 69,
    D313_STR_ASCII_SIZE = 70,
    D313_WORDS = 73,
};

static int plausible(uint64_t off, uint64_t limit)
{
    return off < limit;
}

int pp_py_layout_from_debug_offsets(const uint64_t *d, unsigned n_words, pp_py_layout *out,
                                    uint32_t *hexversion)
{
    if (n_words < D313_WORDS || memcmp(d, "xdebugpy", 8) != 0)
        return -1;
    uint32_t version = (uint32_t)d[D313_VERSION];
    *hexversion = version;
    int major = (int)(version >> 24 & 0xff), minor = (int)(version >> 16 & 0xff);
    /* Only 3.13's struct is known; 3.14 inserts fields, so its slots differ (reference §1.2). */
    const pp_py_layout *row = pp_py_layout_for(major, minor);
    if (!row || minor != 13 || d[D313_FREE_THREADED] != 0)
        return -1;
    const unsigned slots[] = {D313_INTERP_HEAD,      D313_IS_ID,
                              D313_IS_NEXT,          D313_IS_THREADS_HEAD,
                              D313_TS_NEXT,          D313_TS_INTERP,
                              D313_TS_CURRENT_FRAME, D313_TS_THREAD_ID,
                              D313_TS_NATIVE_ID,     D313_TS_DATASTACK_CHUNK,
                              D313_FR_PREVIOUS,      D313_FR_EXECUTABLE,
                              D313_FR_INSTR_PTR,     D313_FR_OWNER,
                              D313_CO_FILENAME,      D313_CO_NAME,
                              D313_CO_QUALNAME,      D313_CO_LINETABLE,
                              D313_CO_FIRSTLINENO,   D313_CO_CODE_ADAPTIVE,
                              D313_OB_TYPE,          D313_BYTES_SIZE,
                              D313_BYTES_SVAL,       D313_STR_STATE,
                              D313_STR_LENGTH,       D313_STR_ASCII_SIZE};
    for (size_t i = 0; i < sizeof slots / sizeof slots[0]; i++)
        if (!plausible(d[slots[i]], 1 << 16))
            return -1;
    *out = *row;
    out->rt_interp_head = (int32_t)d[D313_INTERP_HEAD];
    out->is_id = (int32_t)d[D313_IS_ID];
    out->is_next = (int32_t)d[D313_IS_NEXT];
    out->is_threads_head = (int32_t)d[D313_IS_THREADS_HEAD];
    out->is_modules = (int32_t)d[D313_IS_MODULES];
    out->ts_next = (int32_t)d[D313_TS_NEXT];
    out->ts_interp = (int32_t)d[D313_TS_INTERP];
    out->ts_frame = (int32_t)d[D313_TS_CURRENT_FRAME];
    out->ts_thread_id = (int32_t)d[D313_TS_THREAD_ID];
    out->ts_native_id = (int32_t)d[D313_TS_NATIVE_ID];
    out->ts_datastack_chunk = (int32_t)d[D313_TS_DATASTACK_CHUNK];
    out->fr_previous = (int32_t)d[D313_FR_PREVIOUS];
    out->fr_code = (int32_t)d[D313_FR_EXECUTABLE];
    out->fr_instr = (int32_t)d[D313_FR_INSTR_PTR];
    out->fr_owner = (int32_t)d[D313_FR_OWNER];
    out->co_filename = (int32_t)d[D313_CO_FILENAME];
    out->co_name = (int32_t)d[D313_CO_NAME];
    out->co_qualname = (int32_t)d[D313_CO_QUALNAME];
    out->co_linetable = (int32_t)d[D313_CO_LINETABLE];
    out->co_firstlineno = (int32_t)d[D313_CO_FIRSTLINENO];
    out->co_code = (int32_t)d[D313_CO_CODE_ADAPTIVE];
    out->co_size = out->co_code;
    out->co_firsttraceable = out->co_code - 16;
    out->ob_type = (int32_t)d[D313_OB_TYPE];
    out->bytes_size = (int32_t)d[D313_BYTES_SIZE];
    out->bytes_sval = (int32_t)d[D313_BYTES_SVAL];
    out->str_state = (int32_t)d[D313_STR_STATE];
    out->str_length = (int32_t)d[D313_STR_LENGTH];
    out->str_ascii_size = (int32_t)d[D313_STR_ASCII_SIZE];
    out->str_compact_size = out->str_ascii_size + 16;
    return 0;
}
