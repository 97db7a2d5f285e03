/* Observing every acquisition and release of threading.Lock and threading.RLock where no libc
 * call shows them (CPython 3.13 and later, whose locks are PyMutex: an uncontended acquire or
 * release is an atomic compare-and-swap).
 *
 * How. The methods of the types `_thread.lock` and `_thread.RLock` are C functions described by
 * static PyMethodDef entries of the interpreter (Modules/_threadmodule.c). Every way Python code
 * calls them reads the entry's ml_meth at call time: the method descriptor of the type's dict
 * (d_method), a bound method (m_ml; also one made before the swap, e.g. the acquire and release
 * a Condition keeps), and the specialized CALL instructions (CALL_METHOD_DESCRIPTOR_*). The
 * installer, with the GIL held, finds each entry through its descriptor, checks it (the object
 * is a method_descriptor, its entry's ml_name is the name looked up, the calling convention is
 * one of the six CPython has, the entry lies in writable, non-RELRO memory of a loaded object)
 * and replaces ml_meth with a wrapper of the same convention that calls the original and tells
 * the observer. One pointer store per entry (atomic on x86-64 and aarch64: a free-threaded
 * build's other threads see the old or the new function, both valid forever; the library is
 * never unloaded). Each type's tp_dealloc (a heap type of the interpreter) is wrapped the same
 * way, so that a lock freed while held is forgotten.
 *
 * What the observer is told (all with the GIL held on GIL builds, by the calling thread):
 * - acquired: acquire/acquire_lock/__enter__ returned True, or RLock._acquire_restore returned.
 *   For an RLock only the outermost acquisition counts (it was not owned by the caller before),
 *   as through 3.12, where a nested acquire makes no semaphore call.
 * - releasing: before release/release_lock/__exit__ of a Lock, before the RLock release that
 *   frees it (its recursion count is 1) and before RLock._release_save (called only when the
 *   observer holds a sampled acquisition, pp_lock_may_hold).
 * - freed: before a lock object is deallocated (again only when pp_lock_may_hold).
 * A lock is named by its object's address. */
#ifndef PODPROF_SAMPLER_LOCK_METHODS_H
#define PODPROF_SAMPLER_LOCK_METHODS_H

#include <stdint.h>

#include "runtime.h"

/* The observer (lock_hooks.c). */
void pp_lock_method_acquired(uintptr_t lock);
void pp_lock_method_releasing(uintptr_t lock);
void pp_lock_method_freed(uintptr_t lock);
/* Nonzero while a sampled acquisition is remembered, i.e. rarely; cheap. */
int pp_lock_may_hold(void);
/* 1 when lock's acquisition is remembered. */
int pp_lock_is_held(uintptr_t lock);

/* Sampler thread: resolves the C API the installer and wrappers call. -1 (one log line). */
int pp_lock_methods_resolve(const pp_runtime *rt);

/* With the GIL held: wraps the methods. 0 when every lock method found is wrapped, -1 (one log
 * line) when none is (nothing was changed then). */
int pp_lock_methods_install(void);

#endif
