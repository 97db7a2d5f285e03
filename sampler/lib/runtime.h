/* Finds the CPython runtime of this process: &_PyRuntime (dlsym, else the ELF symbol tables of
 * the loaded objects), the interpreter version, and the structure layout to read it with. */
#ifndef PODPROF_SAMPLER_RUNTIME_H
#define PODPROF_SAMPLER_RUNTIME_H

#include <stdint.h>

#include "py_layout.h"
#include "safe_read.h"

typedef struct pp_runtime {
    uintptr_t runtime;   /* &_PyRuntime */
    uintptr_t code_type; /* &PyCode_Type, 0 when unknown */
    uint32_t hexversion; /* PY_VERSION_HEX; micro may be 0 when only the soname told */
    char version[24];    /* "3.12.1" */
    int found_by_elf;    /* _PyRuntime was not exported: found in a symbol table on disk */
    pp_py_layout layout;
} pp_runtime;

/* Cheap test run from the constructor: is this a CPython process? Fills rt->runtime and
 * rt->code_type. force_elf skips dlsym (tests of the fallback). Returns 0 when found. */
int pp_runtime_find(pp_runtime *rt, int force_elf);

/* Detects the version and picks the layout. Returns 0 when the version is supported, -1 with
 * one logged line otherwise. */
int pp_runtime_resolve(pp_runtime *rt);

/* 1 once Py_Initialize has finished, 0 before, -1 when unreadable. */
int pp_runtime_initialized(const pp_runtime *rt);

/* The same, and when 1 the head of the interpreter list, read together (one read per pass) by
 * read(ctx, ...) (NULL: pp_read). */
int pp_runtime_state(const pp_runtime *rt, pp_read_fn read, void *ctx, uintptr_t *interp_head);

#endif
