/* The interposed sigaction: only SIGTERM, only while a handler is kept, behaves differently;
 * everything else is one load and a call to the next sigaction. The real one is resolved by the
 * constructor (dlsym is not async-signal-safe, sigaction is); a call before that resolves it
 * lazily. Concurrent sigaction(SIGTERM) calls from several threads may report each other's
 * previous SIG_DFL flags: the disposition itself is always one of theirs or the kept handler. */
#include "sigterm_default.h"

#include <dlfcn.h>
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>

typedef int (*sigaction_fn)(int, const struct sigaction *, struct sigaction *);

static _Atomic(sigaction_fn) next_sigaction;
static void (*_Atomic kept)(int);    /* non-NULL: SIG_DFL means this handler */
static atomic_int shown_default;     /* kept is installed where the application set SIG_DFL */
static struct sigaction app_default; /* the SIG_DFL action the application set, to show back */

static sigaction_fn real_sigaction(void)
{
    sigaction_fn f = atomic_load_explicit(&next_sigaction, memory_order_relaxed);
    if (!f) {
        f = (sigaction_fn)dlsym(RTLD_NEXT, "sigaction");
        atomic_store_explicit(&next_sigaction, f, memory_order_relaxed);
    }
    return f;
}

__attribute__((constructor)) static void resolve_early(void)
{
    real_sigaction();
}

static int is_default(const struct sigaction *act)
{
    return !(act->sa_flags & SA_SIGINFO) && act->sa_handler == SIG_DFL;
}

static int install_kept(void (*handler)(int), const struct sigaction *as_set, struct sigaction *old)
{
    sigaction_fn next = real_sigaction();
    struct sigaction sa, prev;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = handler;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    if (!next || next(SIGTERM, &sa, &prev) != 0)
        return -1;
    if (old)
        *old = atomic_load(&shown_default) ? app_default : prev;
    app_default = *as_set;
    atomic_store(&shown_default, 1);
    return 0;
}

int pp_sigterm_keep(void (*handler)(int))
{
    sigaction_fn next = real_sigaction();
    struct sigaction cur;
    if (!next || next(SIGTERM, NULL, &cur) != 0 || !is_default(&cur))
        return -1;
    if (install_kept(handler, &cur, NULL) != 0)
        return -1;
    atomic_store(&kept, handler);
    return 0;
}

void pp_sigterm_really_default(void)
{
    atomic_store(&kept, (void (*)(int))NULL);
    atomic_store(&shown_default, 0);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_DFL;
    sigemptyset(&sa.sa_mask);
    sigaction_fn next = real_sigaction();
    if (next)
        next(SIGTERM, &sa, NULL);
}

/* Exported by exports.map. */
__attribute__((visibility("default"))) int sigaction(int sig, const struct sigaction *act,
                                                     struct sigaction *old)
{
    void (*handler)(int) = atomic_load(&kept);
    sigaction_fn next = real_sigaction();
    if (!next) {
        errno = ENOSYS;
        return -1;
    }
    if (sig != SIGTERM || !handler)
        return next(sig, act, old);
    if (act && is_default(act))
        return install_kept(handler, act, old);
    int shown = atomic_load(&shown_default);
    struct sigaction prev;
    int rc = next(sig, act, &prev);
    if (rc != 0)
        return rc;
    if (old)
        *old = shown ? app_default : prev;
    if (act)
        atomic_store(&shown_default, 0); /* the application's own handler, or SIG_IGN */
    return 0;
}
