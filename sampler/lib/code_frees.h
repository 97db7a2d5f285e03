/* A process-wide count of the code objects the interpreter deallocates, so the sampler thread
 * knows when no code object can have been freed since it last verified the ones it caches.
 *
 * The code cache (code_cache.h) re-reads the header of every code object its walks and hook
 * records use, once per sampling pass, to tell a live code object from another allocated at the
 * address of a freed one. In a steady service code objects are almost never freed, and those reads
 * cost the sampler thread more than anything else it does per frame. An installer of the
 * in-process layer (inproc_hooks.h) replaces PyCode_Type's tp_dealloc with a wrapper that counts
 * the deallocation (sequentially consistent, before the original runs, so the count moves before
 * the object's memory can be given to another) and counts it again once the original returned.
 * The two counts are equal when no deallocation is under way. Code objects are freed only through
 * tp_dealloc (_Py_Dealloc reads it from the type on every version 3.8-3.15, free-threaded
 * included) and the type has no subtypes (no Py_TPFLAGS_BASETYPE).
 *
 * The slot is one pointer-sized store, made once with the GIL held and never undone: the wrapper
 * lives in this library, which is never unloaded, and keeps calling the original. A fork child
 * inherits the wrapper and the counts as they are (plain memory). Registered only when another
 * profile family already runs code inside the interpreter: CPU and wall sampling alone never do,
 * and without the hook the cache re-verifies every pass as before. */
#ifndef PODPROF_SAMPLER_CODE_FREES_H
#define PODPROF_SAMPLER_CODE_FREES_H

#include <stdint.h>

#include "runtime.h"

/* Sampler thread, before the in-process layer runs its installers; once per process (a later
 * call does nothing). -1 (one log line) when PyCode_Type is unknown or nothing can be
 * registered. */
int pp_code_frees_setup(const pp_runtime *rt);

/* -1 while the wrapper is not installed. Else *begun is the number of code objects whose
 * deallocation has begun, and the result is 1 when every one of those had ended before this call
 * began (none under way), 0 otherwise. */
int pp_code_frees_quiet(uint64_t *begun);

#endif
