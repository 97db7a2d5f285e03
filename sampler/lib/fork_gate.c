/* The fork gate of sanitizer builds (fork_gate.h says why). Two flags and a Dekker-style
 * handshake: the sampler raises `busy` then looks at `hold`; a forking thread raises `hold` then
 * looks at `busy` (both sequentially consistent), so at least one of them sees the other. */
#include "fork_gate.h"

#if PP_FORK_GATE

#include <stdatomic.h>
#include <time.h>

/* How long a fork waits at most for the sampler thread to finish what it is doing (a pass, or a
 * flush under ASan, takes milliseconds; a stuck sampler must not hang the application's fork). */
#define FORK_GATE_WAIT_NS 1000000000LL

static atomic_int busy;
static atomic_int hold;
static pp_wake_word idle_word; /* bumped when the sampler thread becomes idle */

static int64_t monotonic_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

void pp_fork_gate_busy(void)
{
    atomic_store(&busy, 1);
}

void pp_fork_gate_idle(void)
{
    atomic_store(&busy, 0);
    pp_wake_up(&idle_word);
}

bool pp_fork_gate_enter(void)
{
    atomic_store(&busy, 1);
    if (!atomic_load(&hold))
        return true;
    pp_fork_gate_idle();
    return false;
}

void pp_fork_gate_prepare(void)
{
    atomic_store(&hold, 1);
    int64_t deadline = monotonic_ns() + FORK_GATE_WAIT_NS;
    for (;;) {
        uint32_t seen = pp_wake_seen(&idle_word);
        if (!atomic_load(&busy) || monotonic_ns() >= deadline)
            return;
        pp_wake_wait(&idle_word, seen, deadline);
    }
}

void pp_fork_gate_release(pp_wake_word *wake)
{
    atomic_store(&hold, 0);
    pp_wake_up(wake);
}

#endif
