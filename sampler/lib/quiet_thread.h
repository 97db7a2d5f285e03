/* The library's own threads (the sampler, the hooks' installer): detached, and created with every
 * signal blocked so that none of the application's signals is ever delivered to them (its
 * handlers then run only on its own threads, as without the library). */
#ifndef PODPROF_SAMPLER_QUIET_THREAD_H
#define PODPROF_SAMPLER_QUIET_THREAD_H

/* Starts fn(NULL) on such a thread. Returns pthread_create's result (0 on success). */
int pp_start_quiet_thread(void *(*fn)(void *));

#endif
