/* Stands between libpodprof's sigaction interposer and libc's in the SIGTERM unit test: the
 * interposer finds "the next sigaction" with dlsym(RTLD_NEXT), which from the test executable is
 * this library's. It forwards every call to libc and, when a test armed it, runs the test's hook
 * before and after a SIGTERM call: that is how a test makes another thread act exactly between two
 * of the library's system calls, instead of hoping a race happens. */
#include <dlfcn.h>
#include <signal.h>
#include <stddef.h>

#include "fake_sigaction.h"

typedef int (*sigaction_fn)(int, const struct sigaction *, struct sigaction *);

static fake_sigaction_hook hook;

void fake_sigaction_arm(fake_sigaction_hook h)
{
    hook = h;
}

int fake_sigaction_real(int sig, const struct sigaction *act, struct sigaction *old)
{
    sigaction_fn next = (sigaction_fn)dlsym(RTLD_NEXT, "sigaction");
    return next(sig, act, old);
}

int sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
    fake_sigaction_hook h = hook;
    if (sig != SIGTERM || !h)
        return fake_sigaction_real(sig, act, old);
    h(act, 0);
    int rc = fake_sigaction_real(sig, act, old);
    h(act, 1);
    return rc;
}
