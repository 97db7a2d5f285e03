/* What the sampler knows about each CPython version's structures (x86_64/aarch64 Linux, release
 * builds): ONE table of rows (py_layout.c), one per minor version and build (with or without the
 * GIL). Everything version-specific the readers need is in the row: field offsets, and small
 * enums for the few behaviours that changed shape (frame chain, line table, dict keys, ints,
 * managed dicts, tagged frame references). No reader branches on the version number, so a new
 * CPython is a new row.
 *
 * From 3.13 the interpreter publishes most offsets itself in _Py_DebugOffsets at &_PyRuntime: a
 * row for such a version names, for each of those fields, the slot of that struct it is read from
 * (PP_DEBUG(slot)), and holds numbers only for what the struct lacks. The struct's `version` must
 * match the row's minor version and its `free_threaded` the row's build. Offsets are bytes from
 * the start of the structure, -1 means "absent in this version". */
#ifndef PODPROF_SAMPLER_PY_LAYOUT_H
#define PODPROF_SAMPLER_PY_LAYOUT_H

#include <stddef.h>
#include <stdint.h>

/* Every numeric field of a row: name, and the CPython struct member it is (the header that
 * defines it is named in py_layout.c). tests/sampler/layout_headers.c derives each from the
 * installed headers of every interpreter the tests run and compares. */
/* clang-format off */
#define PP_LAYOUT_FIELDS(X)                                                                        \
    /* _PyRuntimeState */                                                                          \
    X(rt_initialized)       /* initialized (int) */                                                \
    X(rt_interp_head)       /* interpreters.head */                                                \
    X(rt_gil)               /* ceval.gil, the struct _gil_runtime_state (3.8-3.11) */              \
    /* PyInterpreterState */                                                                       \
    X(is_next)              /* next */                                                             \
    X(is_threads_head)      /* tstate_head (<=3.10), threads.head */                               \
    X(is_id)                /* id */                                                               \
    X(is_modules)           /* modules (<=3.11), imports.modules: sys.modules */                   \
    X(is_gil)               /* ceval.gil, a struct _gil_runtime_state * (3.12+, GIL builds) */     \
    /* struct _gil_runtime_state (GIL builds) */                                                   \
    X(gil_cond)             /* cond: the condition variable take_gil waits on */                   \
    X(gil_switch_cond)      /* switch_cond: drop_gil waits on it for the next holder */            \
    X(gil_locked)           /* locked (int; _Py_atomic_int before 3.13): the GIL is held */        \
    /* PyThreadState */                                                                            \
    X(ts_next)              /* next */                                                             \
    X(ts_interp)            /* interp */                                                           \
    X(ts_frame)             /* frame (<=3.10), cframe (3.11, 3.12), current_frame */               \
    X(ts_cframe_frame)      /* _PyCFrame.current_frame (3.11, 3.12) */                             \
    X(ts_thread_id)         /* thread_id (pthread_t) */                                            \
    X(ts_native_id)         /* native_thread_id (kernel tid, 3.11+) */                             \
    X(ts_datastack_chunk)   /* datastack_chunk, datastack_top follows it (3.11+) */                \
    /* _PyStackChunk (3.11+) */                                                                    \
    X(ck_previous)          /* previous */                                                         \
    X(ck_size)              /* size */                                                             \
    X(ck_top)               /* top */                                                              \
    X(ck_data)              /* data */                                                             \
    /* frames: PyFrameObject (<=3.10), _PyInterpreterFrame */                                      \
    X(fr_size)              /* bytes copied per frame */                                           \
    X(fr_previous)          /* f_back, previous */                                                 \
    X(fr_code)              /* f_code, f_executable (3.13+) */                                     \
    X(fr_instr)             /* f_lasti (int), prev_instr (3.11, 3.12), instr_ptr */                \
    X(fr_owner)             /* owner (uint8, 3.11+) */                                             \
    X(fr_tlbc_index)        /* tlbc_index (int32, free-threaded 3.14+) */                          \
    X(owner_generator)      /* FRAME_OWNED_BY_GENERATOR */                                         \
    X(owner_shim_min)       /* owner >= this: not a Python frame (FRAME_OWNED_BY_CSTACK on         \
                               3.12 and 3.13, FRAME_OWNED_BY_INTERPRETER from 3.14) */             \
    X(lasti_unit)           /* bytes per f_lasti: 1 (3.8, 3.9), sizeof(_Py_CODEUNIT) (3.10) */     \
    /* PyCodeObject */                                                                             \
    X(co_size)              /* bytes copied: the header up to the bytecode */                      \
    X(co_nunits)            /* ob_size: code units of bytecode (3.11+) */                          \
    X(co_filename)          /* co_filename */                                                      \
    X(co_name)              /* co_name */                                                          \
    X(co_qualname)          /* co_qualname (3.11+) */                                              \
    X(co_firstlineno)       /* co_firstlineno */                                                   \
    X(co_linetable)         /* co_lnotab (<=3.9), co_linetable */                                  \
    X(co_code)              /* co_code (bytes, <=3.10), co_code_adaptive (inline) */               \
    X(co_firsttraceable)    /* _co_firsttraceable (int, code units, 3.11+) */                      \
    X(co_tlbc)              /* co_tlbc (_PyCodeArray *, free-threaded 3.14+) */                    \
    X(tlbc_size)            /* _PyCodeArray.size */                                                \
    X(tlbc_entries)         /* _PyCodeArray.entries */                                             \
    /* str: PyASCIIObject, PyCompactUnicodeObject */                                               \
    X(str_length)           /* length */                                                           \
    X(str_state)            /* state */                                                            \
    X(str_kind_shift)       /* bit of state where kind (3 bits), compact, ascii start */           \
    X(str_ascii_size)       /* sizeof(PyASCIIObject) */                                            \
    X(str_compact_size)     /* sizeof(PyCompactUnicodeObject) */                                   \
    /* bytes: PyBytesObject */                                                                     \
    X(bytes_size)           /* ob_size */                                                          \
    X(bytes_sval)           /* ob_sval */                                                          \
    /* objects and types */                                                                        \
    X(ob_type)              /* PyObject.ob_type */                                                 \
    X(mod_dict)             /* PyModuleObject.md_dict */                                           \
    X(tp_flags)             /* PyTypeObject.tp_flags */                                            \
    X(tp_dictoffset)        /* PyTypeObject.tp_dictoffset */                                       \
    X(tp_basicsize)         /* PyTypeObject.tp_basicsize */                                        \
    X(ht_cached_keys)       /* PyHeapTypeObject.ht_cached_keys */                                  \
    X(tpflag_managed_dict)  /* Py_TPFLAGS_MANAGED_DICT (3.11+), 0 when absent */                   \
    X(tpflag_inline_values) /* Py_TPFLAGS_INLINE_VALUES (3.13+), 0 when absent */                  \
    X(obj_dict_ptr)         /* managed dict pointer, relative to the object (3.11+, negative) */   \
    X(obj_values_ptr)       /* values pointer, relative to the object (3.11) */                    \
    /* dict: PyDictObject, PyDictKeysObject, PyDictValues */                                       \
    X(dict_keys)            /* ma_keys */                                                          \
    X(dict_values)          /* ma_values */                                                        \
    X(dk_size)              /* dk_size (<=3.10) */                                                 \
    X(dk_log2_index_bytes)  /* dk_log2_index_bytes (3.11+) */                                      \
    X(dk_kind)              /* dk_kind (3.11+): DICT_KEYS_GENERAL (0) entries have a hash */       \
    X(dk_nentries)          /* dk_nentries */                                                      \
    X(dk_indices)           /* dk_indices */                                                       \
    X(dv_values)            /* PyDictValues.values */                                              \
    X(dv_valid)             /* PyDictValues.valid (3.13+) */                                       \
    /* int: PyLongObject */                                                                        \
    X(long_size)            /* ob_size (<=3.11), long_value.lv_tag */                              \
    X(long_digits)          /* ob_digit, long_value.ob_digit */                                    \
    X(long_shift)           /* PyLong_SHIFT: value bits per 32-bit digit */
/* clang-format on */

typedef enum {
    PP_FRAMES_OBJECT,      /* 3.8-3.10: PyFrameObject chain through f_back */
    PP_FRAMES_INTERPRETER, /* 3.11+: _PyInterpreterFrame chain through previous */
} pp_frame_model;

typedef enum {
    PP_LINES_LNOTAB,    /* 3.8-3.9 co_lnotab, byte offsets */
    PP_LINES_LINETABLE, /* 3.10 co_linetable (PEP 626), byte offsets */
    PP_LINES_LOCATIONS, /* 3.11+ location table (PEP 657), code units */
} pp_line_format;

/* What a frame's code field holds. */
typedef enum {
    PP_CODE_PTR,      /* <=3.12: always a code object */
    PP_CODE_ANY_PTR,  /* 3.13: f_executable, a code object or another object (None) */
    PP_CODE_STACKREF, /* 3.14+: a _PyStackRef to one: tag bits, a NULL value, tagged ints */
} pp_code_ref;

typedef enum {
    PP_KEYS_SIZE, /* <=3.10: dk_size, indices of 1-8 bytes by size, entries {hash, key, value} */
    PP_KEYS_LOG2, /* 3.11+: dk_log2_index_bytes, dk_kind (unicode keys: entries {key, value}) */
} pp_keys_format;

typedef enum {
    PP_LONG_OB_SIZE, /* <=3.11: signed digit count in ob_size */
    PP_LONG_LV_TAG,  /* 3.12+: lv_tag = digits << 3 | sign (2: negative) */
} pp_long_format;

/* Where an instance of a type with a managed dict keeps its attributes. */
typedef enum {
    PP_MANAGED_NONE,       /* <=3.10: only tp_dictoffset */
    PP_MANAGED_VALUES_PTR, /* 3.11: a values pointer and a dict pointer before the object */
    PP_MANAGED_TAGGED,     /* 3.12: one pointer, the values array (tagged +1) or the dict */
    PP_MANAGED_INLINE,     /* 3.13+: dict pointer before, values inline after the object */
} pp_managed_dict;

typedef struct pp_py_layout {
    int minor;         /* 3.<minor> */
    int free_threaded; /* Py_GIL_DISABLED build */
    pp_frame_model frame_model;
    pp_line_format line_format;
    pp_code_ref code_ref;
    uintptr_t ref_tag_bits; /* PP_CODE_STACKREF: Py_TAG_BITS, masked off a reference */
    uintptr_t ref_null;     /* PP_CODE_STACKREF: PyStackRef_NULL's bits */
    uintptr_t ref_int_tag;  /* PP_CODE_STACKREF: Py_INT_TAG, the bits of a tagged int */
    pp_keys_format keys_format;
    pp_long_format long_format;
    pp_managed_dict managed_dict;
    unsigned debug_words; /* sizeof(_Py_DebugOffsets) / 8 (slot 0 the cookie "xdebugpy", 1 the
                             version, 2 free_threaded); 0 before 3.13 */
#define PP_LAYOUT_DECLARE(name) int32_t name;
    PP_LAYOUT_FIELDS(PP_LAYOUT_DECLARE)
#undef PP_LAYOUT_DECLARE
} pp_py_layout;

/* A row field read from _Py_DebugOffsets slot s. */
#define PP_DEBUG_BASE (-1000)
#define PP_DEBUG(s) (PP_DEBUG_BASE - (s))
#define PP_IS_DEBUG(v) ((v) <= PP_DEBUG_BASE)
#define PP_DEBUG_SLOT(v) ((unsigned)(PP_DEBUG_BASE - (v)))

/* Largest _Py_DebugOffsets of a row, in words; what the sampler copies from &_PyRuntime. */
#define PP_DEBUG_OFFSETS_WORDS 160

/* The most the readers copy of a structure at once, in bytes: every field they take from such a
 * copy must lie inside it. */
#define PP_COPY_FRAME 128  /* fr_size: a frame up to its locals */
#define PP_COPY_CODE 256   /* co_size: a code object up to its bytecode */
#define PP_COPY_TSTATE 320 /* a PyThreadState up to the last field read */
#define PP_COPY_STR 64     /* str_ascii_size: the PyASCIIObject part of a str */
#define PP_COPY_KEYS 64    /* dk_indices: a PyDictKeysObject up to its indices */

/* 1 when every field the readers take from a copy lies inside that copy (the limits above) and
 * the bit fields are in range; 0 otherwise. The layout test applies it to every row; a layout
 * completed from _Py_DebugOffsets that fails it is refused. */
int pp_py_layout_fits(const pp_py_layout *l);

/* The row for 3.<minor> (free-threaded build or not), as written: fields read from
 * _Py_DebugOffsets are still PP_DEBUG(slot). NULL when there is none. */
const pp_py_layout *pp_py_layout_row(int major, int minor, int free_threaded);

/* Layout for an interpreter without _Py_DebugOffsets (before 3.13): the row itself. NULL when
 * the version has no row or its row needs the debug offsets. */
const pp_py_layout *pp_py_layout_for(int major, int minor);

typedef enum {
    PP_LAYOUT_OK = 0,
    PP_LAYOUT_NOT_DEBUG_OFFSETS = -1, /* no cookie */
    PP_LAYOUT_UNSUPPORTED = -2,       /* no row for this version and build */
    PP_LAYOUT_BAD_OFFSETS = -3,       /* a published offset is implausible, or outside what
                                         the readers copy (pp_py_layout_fits) */
} pp_layout_status;

/* Resolves the row for the version the _Py_DebugOffsets copy d (n_words words read from
 * &_PyRuntime) announces, reading every PP_DEBUG field from it. *hexversion and *free_threaded
 * receive what the struct says, whatever the result. */
pp_layout_status pp_py_layout_from_debug_offsets(const uint64_t *d, unsigned n_words,
                                                 pp_py_layout *out, uint32_t *hexversion,
                                                 int *free_threaded);

/* Field names and their offsets within pp_py_layout, in PP_LAYOUT_FIELDS order (for the layout
 * test and for diagnostics). */
typedef struct pp_layout_field {
    const char *name;
    size_t offset;
} pp_layout_field;
extern const pp_layout_field pp_layout_fields[];
extern const size_t pp_layout_n_fields;

#endif
