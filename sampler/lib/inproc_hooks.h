/* Installing hooks that run inside the interpreter, on application threads (allocator wrappers
 * today; lock, GIL and exception observers plug in the same way).
 *
 * The sampler reads the interpreter from outside; a hook needs the interpreter's own C API. This
 * module resolves the few C-API functions hooks may call, the same way the runtime symbols are
 * found (dlsym, else the ELF symbol tables on disk: a statically linked python3 works too), and
 * runs every registered installer once, on the main thread with the GIL held, from a
 * Py_AddPendingCall callback that the sampler thread queues once the interpreter is initialized.
 * When the main thread does not reach it soon (it sits in C, joining workers or waiting on I/O;
 * and 3.12 only notices such a call at its next GIL switch), a short-lived helper thread takes
 * the GIL with PyGILState_Ensure and runs them instead; whichever comes first runs them, once.
 * A fork from a thread without the GIL waits for that helper to leave the interpreter.
 *
 * Rules every hook follows, because it runs inside someone else's interpreter:
 * - it never allocates through the allocator it wraps and never calls Python code or an API
 *   that may allocate, run code or release the GIL;
 * - it never takes a lock the application can hold, and never blocks;
 * - its code and state live in this library, which is never unloaded, so a hook stays callable
 *   after Py_Finalize (a hook is never removed: the interpreter may still hold its pointers);
 * - fork children inherit installed hooks as they are; state shared with the sampler thread is
 *   made consistent again by the owner's pthread_atfork handlers.
 * Usage: pp_inproc_register() before the sampler thread calls pp_inproc_resolve() and then
 * pp_inproc_schedule() on each pass until it reports PP_INPROC_DONE. */
#ifndef PODPROF_SAMPLER_INPROC_HOOKS_H
#define PODPROF_SAMPLER_INPROC_HOOKS_H

#include <stddef.h>
#include <stdint.h>

#include "runtime.h"

/* CPython's PyMemAllocatorEx and domains (Include/cpython/pymem.h; identical in 3.8-3.13). */
typedef struct pp_mem_allocator {
    void *ctx;
    void *(*malloc)(void *ctx, size_t size);
    void *(*calloc)(void *ctx, size_t nelem, size_t elsize);
    void *(*realloc)(void *ctx, void *ptr, size_t new_size);
    void (*free)(void *ctx, void *ptr);
} pp_mem_allocator;

enum { PP_MEM_DOMAIN_RAW = 0, PP_MEM_DOMAIN_MEM = 1, PP_MEM_DOMAIN_OBJ = 2 };

/* CPython's PyMethodDef (Include/methodobject.h; unchanged since 3.0): how a hook's C function is
 * handed to the interpreter. */
typedef struct pp_py_method_def {
    const char *ml_name;
    void *ml_meth;
    int ml_flags;
    const char *ml_doc;
} pp_py_method_def;

/* The C-API functions a hook or installer may call. */
typedef struct pp_capi {
    void (*mem_get_allocator)(int domain, pp_mem_allocator *allocator);
    void (*mem_set_allocator)(int domain, pp_mem_allocator *allocator);
    /* The calling thread's PyThreadState, NULL when it has none; never fails, never allocates
     * (PyThreadState_GetUnchecked, _PyThreadState_UncheckedGet before 3.13). */
    void *(*tstate_current)(void);
} pp_capi;

/* An installer: runs with the GIL held on the main thread; returns 0 when installed, -1 (after
 * one log line) when not, PP_INPROC_AGAIN when a call into the interpreter failed in a way a
 * later try may not (an import): it runs again on a later pass, at most PP_INPROC_TRIES times in
 * all, and must leave nothing half-done in between. */
typedef int (*pp_inproc_install_fn)(const pp_capi *api, void *ctx);

#define PP_INPROC_MAX_HOOKS 8
#define PP_INPROC_AGAIN 1
#define PP_INPROC_TRIES 4

/* For an installer's log line: PP_LOG_WARN on its last try, PP_LOG_DEBUG before. */
int pp_inproc_failure_level(void);

/* Clears the interpreter's current exception, if any (GIL held). */
void pp_inproc_drop_error(void);

/* Takes the interpreter's current exception (clearing it) and writes "Type: message" into buf
 * (GIL held; it may run the exception's __str__). "no exception set" when there is none. */
void pp_inproc_take_error(char *buf, size_t size);

/* Adds an installer (before pp_inproc_schedule; not thread-safe). -1 when the table is full. */
int pp_inproc_register(const char *name, pp_inproc_install_fn install, void *ctx);

/* How many installers are registered. */
size_t pp_inproc_registered(void);

/* Resolves names[0..n) in the runtime rt found, as the C API is (dlsym, else the ELF symbol
 * tables); addrs[i] is 0 for a name not found. 0 when all were found, else -1. */
int pp_inproc_lookup(const pp_runtime *rt, const char *const *names, uintptr_t *addrs, size_t n);

/* Resolves the C API of the runtime rt found. -1 (one log line) when a function is missing. */
int pp_inproc_resolve(const pp_runtime *rt);

typedef enum {
    PP_INPROC_IDLE,    /* nothing queued yet (or the pending-call queue was full: try again) */
    PP_INPROC_QUEUED,  /* waiting for the main thread to run Python code */
    PP_INPROC_DONE,    /* every installer ran (and will not run again) */
    PP_INPROC_FAILED,  /* the C API could not be resolved */
    PP_INPROC_NOTHING, /* no installer registered */
} pp_inproc_state;

/* From the sampler thread, once the interpreter is initialized: queues the installers. Cheap
 * when there is nothing left to do. */
pp_inproc_state pp_inproc_schedule(void);
pp_inproc_state pp_inproc_current(void);

/* pthread_atfork handlers (preload.c calls them first): a fork from a thread without the GIL
 * waits, at most 100 ms, for the helper thread to leave the interpreter, and no helper enters it
 * during a fork. */
void pp_inproc_fork_prepare(void);
void pp_inproc_fork_parent(void);
void pp_inproc_fork_child(void);

#endif
