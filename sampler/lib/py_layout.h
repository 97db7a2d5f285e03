/* Where the fields a sampler reads live in each CPython version's structures (x86_64/aarch64,
 * release builds). ONE table of rows, one row per minor version (py_layout.c); on 3.13+ the row's
 * values are replaced by what the interpreter itself publishes in _Py_DebugOffsets, so a new
 * CPython is a new row. Offsets are bytes from the start of the structure; -1 means "absent". */
#ifndef PODPROF_SAMPLER_PY_LAYOUT_H
#define PODPROF_SAMPLER_PY_LAYOUT_H

#include <stdint.h>

typedef enum {
    PP_FRAMES_OBJECT,      /* 3.8-3.10: PyFrameObject chain through f_back */
    PP_FRAMES_INTERPRETER, /* 3.11+: _PyInterpreterFrame chain through previous */
} pp_frame_model;

typedef enum {
    PP_LINES_LNOTAB,    /* 3.8-3.9 co_lnotab, byte offsets */
    PP_LINES_LINETABLE, /* 3.10 co_linetable (PEP 626), byte offsets */
    PP_LINES_LOCATIONS, /* 3.11+ location table (PEP 657), code units */
} pp_line_format;

typedef struct pp_py_layout {
    int minor; /* 3.<minor> */
    /* _PyRuntimeState */
    int32_t rt_initialized; /* int */
    int32_t rt_interp_head; /* PyInterpreterState * */
    /* PyInterpreterState */
    int32_t is_next, is_threads_head, is_id;
    int32_t is_modules; /* sys.modules dict */
    /* PyThreadState */
    int32_t ts_next, ts_interp;
    int32_t ts_frame;           /* top frame, or the _PyCFrame * when ts_cframe_frame >= 0 */
    int32_t ts_cframe_frame;    /* _PyCFrame.current_frame (3.11, 3.12) */
    int32_t ts_thread_id;       /* pthread_t */
    int32_t ts_native_id;       /* kernel tid (3.11+) */
    int32_t ts_datastack_chunk; /* _PyStackChunk *, followed by datastack_top (3.11+) */
    /* frames */
    pp_frame_model frame_model;
    int32_t fr_size;     /* bytes to copy per frame */
    int32_t fr_previous; /* f_back / previous */
    int32_t fr_code;     /* f_code / f_executable */
    int32_t fr_instr;    /* f_lasti (int) / prev_instr / instr_ptr (pointer) */
    int32_t fr_owner;    /* uint8 owner (3.11+) */
    int owner_cstack;    /* owner value of C-entry shim frames, -1 when none (3.11) */
    int lasti_unit;      /* f_lasti scale to bytes: 1 (3.8, 3.9), 2 (3.10) */
    /* PyCodeObject */
    int32_t co_size; /* bytes to copy: the header up to the bytecode */
    int32_t co_filename, co_name, co_qualname, co_firstlineno, co_linetable;
    int32_t co_code;           /* bytes object (<=3.10) or start of inline bytecode (3.11+) */
    int32_t co_firsttraceable; /* int, code units (3.11+) */
    pp_line_format line_format;
    /* str and bytes */
    int32_t str_length, str_state, str_ascii_size, str_compact_size;
    int32_t bytes_size, bytes_sval;
    int32_t ob_type;
    /* PyTypeObject / PyHeapTypeObject, for instance attributes */
    int32_t tp_flags, tp_dictoffset, tp_basicsize, ht_cached_keys;
} pp_py_layout;

/* The row for 3.<minor>, or NULL when the version is not supported. */
const pp_py_layout *pp_py_layout_for(int major, int minor);

/* Fills out from the row for the debug offsets' version, then overrides every field that the
 * _Py_DebugOffsets copy at debug (read from &_PyRuntime) provides. Returns 0 when the cookie and
 * version are valid and supported, -1 otherwise. hexversion receives the published version. */
int pp_py_layout_from_debug_offsets(const uint64_t *debug, unsigned n_words, pp_py_layout *out,
                                    uint32_t *hexversion);

#define PP_DEBUG_OFFSETS_WORDS 80

#endif
