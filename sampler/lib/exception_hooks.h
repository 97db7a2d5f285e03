/* The exception observer of the exception profiles: on CPython 3.12 and later, a sys.monitoring
 * tool whose RAISE callback is a C function of this library (PEP 669). sys.monitoring calls it on
 * the raising thread, with the GIL held (or, free-threaded, on that thread alone), for every
 * exception raised or re-raised in Python code or propagated out of a C call.
 *
 * Unsampled raises cost one thread-local countdown. Each raise is sampled with probability
 * 1/interval (a geometric countdown per thread: memoryless, so the chance does not depend on
 * where a thread's raises fall), and a sample stands for interval raises. A sampled raise records
 * the thread's own stack (own_stack.h) and the exception's type, qualified as
 * `module.qualname` (`builtins.ValueError`), on a ring for the sampler thread to name. Naming the
 * type uses the C API (PyType_GetQualName, the type's __module__): allowed there, as the callback
 * is an ordinary Python call, during which the interpreter does not report events again.
 *
 * Before 3.12 there is no observer as cheap (sys.setprofile / settrace cost every call, and the
 * interpreter offers no C hook on raise), so the profile is off there with one info line. */
#ifndef PODPROF_SAMPLER_EXCEPTION_HOOKS_H
#define PODPROF_SAMPLER_EXCEPTION_HOOKS_H

#include <stddef.h>

#include "alloc_ring.h"
#include "runtime.h"

/* Bytes of the recorded type name, NUL included (longer names are cut). */
#define PP_EXCEPTION_TYPE_BYTES 128

typedef struct pp_exception_hooks_options {
    double interval;     /* mean raises between samples (>= 1) */
    size_t max_frames;   /* frames recorded per sample */
    size_t ring_records; /* samples in flight to the sampler thread */
} pp_exception_hooks_options;

/* Sampler thread, before pp_inproc_schedule: resolves the C API the tool needs, preallocates the
 * ring and registers the installer with inproc_hooks. -1 (one log line) when the interpreter is
 * older than 3.12, lacks a function, or memory is short. */
int pp_exception_hooks_setup(const pp_runtime *rt, const pp_exception_hooks_options *opt);

/* NULL before setup. */
pp_alloc_ring *pp_exception_hooks_ring(void);
/* 1 once the tool is registered. */
int pp_exception_hooks_installed(void);

#endif
