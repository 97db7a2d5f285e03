/* Thread names without the GIL. The name a Python thread has is the `_name` of its
 * threading.Thread object, found through sys.modules["threading"]._active (thread ident ->
 * Thread), read with the same fault-free copies as the stacks and refreshed at most once a second
 * (10 times a second while some thread is still unnamed). A thread unknown to the threading module
 * is named after its OS name (/proc/self/task/<tid>/comm, set by pthread_setname_np /
 * prctl(PR_SET_NAME)) when that differs from the process's own name, else "Thread-<tid>"; the
 * main thread is "MainThread". */
#ifndef PODPROF_SAMPLER_THREAD_NAMES_H
#define PODPROF_SAMPLER_THREAD_NAMES_H

#include <stdint.h>

#include "runtime.h"

typedef struct pp_thread_names pp_thread_names;

pp_thread_names *pp_thread_names_new(const pp_runtime *rt);
void pp_thread_names_free(pp_thread_names *names);

/* Starts a pass: the Python name table may be re-read. now_ns: CLOCK_MONOTONIC. */
void pp_thread_names_pass(pp_thread_names *names, int64_t now_ns);

/* Returns a NUL-terminated name valid until the next call. */
const char *pp_thread_name(pp_thread_names *names, uint64_t ident, int32_t tid, int64_t now_ns);
/* The same for a sample a hook recorded on the thread itself up to a pass or two ago (hook rings
 * are drained after the fact): a thread that `threading` listed before and no longer does has
 * ended since, and keeps the Python name it was last listed with (same ident and kernel tid). */
const char *pp_thread_name_of_record(pp_thread_names *names, uint64_t ident, int32_t tid,
                                     int64_t now_ns);

/* Before a flush: a thread labelled with its fallback name because `threading` did not list it
 * yet when it was sampled usually does by now. When some thread got a fallback since the last
 * flush, re-reads the table (if reread: not while the interpreter finalizes, the last table read
 * is used then) and returns 1: pp_thread_late_name may have answers. */
int pp_thread_names_settle(pp_thread_names *names, int reread);
/* The Python name of a thread (ident, kernel tid) that got a fallback name since the last flush,
 * if now known (valid until the next call into this module), else NULL. The tid tells two
 * threads apart that had the same ident one after the other (pthread_t values are reused). */
const char *pp_thread_late_name(pp_thread_names *names, uint64_t ident, int32_t tid);
/* After the flush: forget which threads got fallbacks. */
void pp_thread_names_settled(pp_thread_names *names);

#endif
