/* Keeps the sampler thread out of the allocator while another thread forks, in sanitizer builds.
 *
 * glibc's malloc takes its own locks around fork, so a fork child never finds an arena locked by
 * a thread that no longer exists there. The AddressSanitizer runtime of GCC 12 (Debian 12's) does
 * not: its allocator gained fork handlers only in LLVM 18 (llvm-project pull request 75290). A
 * fork while the sampler thread was inside malloc or free left the child's allocator locked
 * forever, and the child hung (seen in the fork-storm and daemon stress tests, both threads of
 * the child waiting in SizeClassAllocator64::GetFromAllocator). In builds with
 * -fsanitize=address, a fork therefore waits, bounded, until the sampler thread is asleep, and
 * the sampler thread does not start work while a fork is under way. In every other build these
 * calls compile to nothing: production pays nothing and forks never wait. */
#ifndef PODPROF_SAMPLER_FORK_GATE_H
#define PODPROF_SAMPLER_FORK_GATE_H

#include <stdbool.h>
#include <stdint.h>

#include "wake_word.h"

#if defined(__SANITIZE_ADDRESS__)
#define PP_FORK_GATE 1
#else
#define PP_FORK_GATE 0
#endif

#if PP_FORK_GATE
/* The sampler thread is about to work (also set by whoever starts it, before it exists). */
void pp_fork_gate_busy(void);
/* The sampler thread will not touch the allocator until pp_fork_gate_enter succeeds. */
void pp_fork_gate_idle(void);
/* Called by the sampler thread after a sleep: true when it may work; false while a fork is under
 * way (it is then idle, and should sleep on `wake` a little and try again). */
bool pp_fork_gate_enter(void);
/* pthread_atfork handlers: prepare waits for the sampler thread to be idle (at most about a
 * second); parent and child open the gate again and wake the sampler through `wake`. */
void pp_fork_gate_prepare(void);
void pp_fork_gate_release(pp_wake_word *wake);
#else
static inline void pp_fork_gate_busy(void) {}
static inline void pp_fork_gate_idle(void) {}
static inline bool pp_fork_gate_enter(void)
{
    return true;
}
static inline void pp_fork_gate_prepare(void) {}
static inline void pp_fork_gate_release(pp_wake_word *wake)
{
    (void)wake;
}
#endif

#endif
