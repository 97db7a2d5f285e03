/* Naming the hook records while their code still exists.
 *
 * Allocation, exception, GIL and lock records hold code-object pointers that the sampler thread
 * resolves on its next pass, up to a pass interval later. A program that ends right after a
 * burst of them would have them resolved only by the last flush, after Py_Finalize has freed
 * that code, and each would read "<code freed before it was named>". So an installer of the
 * in-process layer registers a Python atexit callback: atexit callbacks run first in
 * finalization, with every module alive, last registered first (so this one, registered at
 * start-up, runs after the application's own). The callback asks the sampler thread to drain
 * the rings and waits for its answer, for EXIT_DRAIN_TIMEOUT_NS at most.
 *
 * The sampler thread's side: it reads pp_exit_drain_asked() before a drain and passes that value
 * to pp_exit_drain_answer() after it; pp_exit_drain_close() when it ends (nobody waits then). */
#ifndef PODPROF_SAMPLER_EXIT_DRAIN_H
#define PODPROF_SAMPLER_EXIT_DRAIN_H

#include <stdint.h>

#include "runtime.h"

/* Registers the installer (before the in-process layer runs its installers). wake: wakes the
 * sampler thread. 0, or -1 after one log line. */
int pp_exit_drain_setup(const pp_runtime *rt, void (*wake)(void));

/* A sampler thread (re)starts: requests are answered again. */
void pp_exit_drain_open(void);
uint32_t pp_exit_drain_asked(void);
/* A request not answered yet (the sampler thread must not go to sleep on it). */
int pp_exit_drain_pending(void);
void pp_exit_drain_answer(uint32_t asked);
void pp_exit_drain_close(void);

#endif
