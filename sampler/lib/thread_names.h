/* Thread names without the GIL. CPython 3.8-3.13 keeps a thread's name only in its
 * threading.Thread object; the OS name (/proc/self/task/<tid>/comm) is what pthread_setname_np /
 * prctl(PR_SET_NAME) set, which CPython itself does from 3.14 on (threading.Thread names, 15
 * bytes). So: the main thread is "MainThread"; another thread is its OS name when it was set (it
 * differs from the process's own name), else "Thread-<tid>". Names are cached per tid and
 * re-read at most once a second. */
#ifndef PODPROF_SAMPLER_THREAD_NAMES_H
#define PODPROF_SAMPLER_THREAD_NAMES_H

#include <stdint.h>

typedef struct pp_thread_names pp_thread_names;

pp_thread_names *pp_thread_names_new(void);
void pp_thread_names_free(pp_thread_names *names);

/* Returns a NUL-terminated name valid until the next call. now_ns: CLOCK_MONOTONIC. */
const char *pp_thread_name(pp_thread_names *names, int32_t tid, int64_t now_ns);

#endif
