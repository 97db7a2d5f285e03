/* The interposed sigaction and the library's SIGTERM handler (a trampoline in front of the
 * handler the library keeps). Only SIGTERM behaves differently, and only once the library asked
 * to keep it; everything else is one load and a call to the next sigaction. The real one is
 * resolved by the constructor (dlsym is not async-signal-safe, sigaction is); a call before that
 * resolves it lazily.
 *
 * Reading SIGTERM's disposition and replacing it are two system calls, so every change the
 * library makes, and every sigaction(SIGTERM) an application makes once the library started
 * keeping, happens under one lock: a handler the application installs through sigaction can never
 * land between the library's read and its write. A handler installed without sigaction (glibc's
 * signal(), a raw system call) can; the library then sees it in the disposition its own install
 * replaced, puts it back at once, and a SIGTERM that arrives in that moment is passed to it. */
#include "sigterm_default.h"

#include <dlfcn.h>
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

typedef int (*sigaction_fn)(int, const struct sigaction *, struct sigaction *);

enum {
    ST_NONE,       /* never installed */
    ST_INSTALLING, /* the trampoline was just installed; what it replaced is being looked at */
    ST_KEPT,       /* the trampoline stands for SIG_DFL: it runs the kept handler */
    ST_FORWARD,    /* the install replaced an application handler, which was put back */
    ST_RELEASED    /* the library let go: SIGTERM is the application's again */
};

static _Atomic(sigaction_fn) next_sigaction;
static atomic_int armed; /* the library asked to keep SIGTERM at least once */
static atomic_int state;
static void (*_Atomic kept)(int);
static atomic_int shown_default;     /* the trampoline is installed where SIG_DFL was (set) */
static struct sigaction app_default; /* that SIG_DFL action, to show back */
static struct sigaction handed_back; /* ST_FORWARD: the application's handler */
static atomic_int lock_tid;          /* 0, or the thread holding the lock */

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

/* Every signal is blocked while the lock is held, so a signal handler (ours or the
 * application's, calling sigaction) never waits for a lock its own thread holds. A holder that
 * does not exist in this process (a fork child of a process forked while another thread held it)
 * is passed over. */
static void lock(sigset_t *saved)
{
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, saved);
    int me = (int)syscall(SYS_gettid);
    for (;;) {
        int holder = 0;
        if (atomic_compare_exchange_weak(&lock_tid, &holder, me))
            return;
        if (holder != 0 && syscall(SYS_tgkill, getpid(), holder, 0) != 0 && errno == ESRCH)
            atomic_compare_exchange_strong(&lock_tid, &holder, 0);
        sched_yield();
    }
}

static void unlock(const sigset_t *saved)
{
    atomic_store(&lock_tid, 0);
    pthread_sigmask(SIG_SETMASK, saved, NULL);
}

static int is_default(const struct sigaction *act)
{
    return !(act->sa_flags & SA_SIGINFO) && act->sa_handler == SIG_DFL;
}

static void trampoline(int sig, siginfo_t *info, void *ctx);

static int is_trampoline(const struct sigaction *act)
{
    return (act->sa_flags & SA_SIGINFO) && act->sa_sigaction == trampoline;
}

static int install_trampoline(sigaction_fn next, struct sigaction *prev)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = trampoline;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART | SA_SIGINFO;
    return next(SIGTERM, &sa, prev);
}

/* Puts back `give`, which the trampoline replaced; if yet another handler arrived (without
 * sigaction) after the trampoline, that newer one is put back instead. */
static void hand_back(sigaction_fn next, struct sigaction give)
{
    for (int i = 0; i < 8; i++) {
        struct sigaction cur;
        if (next(SIGTERM, &give, &cur) != 0 || is_trampoline(&cur))
            return;
        give = cur;
    }
}

int pp_sigterm_keep(void (*handler)(int))
{
    sigaction_fn next = real_sigaction();
    if (!next)
        return -1;
    atomic_store(&armed, 1);
    sigset_t saved;
    lock(&saved);
    int rc = -1;
    struct sigaction cur, prev;
    if (atomic_load(&state) == ST_KEPT) {
        rc = 0;
    } else if (next(SIGTERM, NULL, &cur) == 0 && is_default(&cur)) {
        atomic_store(&kept, handler);
        atomic_store(&state, ST_INSTALLING);
        if (install_trampoline(next, &prev) != 0) {
            atomic_store(&state, ST_NONE);
        } else if (is_default(&prev)) {
            app_default = prev;
            atomic_store(&shown_default, 1);
            atomic_store(&state, ST_KEPT);
            rc = 0;
        } else {
            /* set between the read and the install, without sigaction */
            handed_back = prev;
            atomic_store(&state, ST_FORWARD);
            hand_back(next, prev);
        }
    }
    unlock(&saved);
    return rc;
}

int pp_sigterm_release(void)
{
    sigaction_fn next = real_sigaction();
    if (!next)
        return 0;
    sigset_t saved;
    lock(&saved);
    struct sigaction cur;
    int ours = next(SIGTERM, NULL, &cur) == 0 && is_trampoline(&cur);
    if (ours) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = SIG_DFL;
        sigemptyset(&sa.sa_mask);
        next(SIGTERM, &sa, NULL);
    }
    atomic_store(&state, ST_RELEASED);
    atomic_store(&kept, (void (*)(int))NULL);
    atomic_store(&shown_default, 0);
    unlock(&saved);
    return ours;
}

static void trampoline(int sig, siginfo_t *info, void *ctx)
{
    int saved_errno = errno;
    int s;
    /* The installing thread has every signal blocked and holds nothing this thread needs: it
     * decides within a few system calls. */
    while ((s = atomic_load(&state)) == ST_INSTALLING)
        sched_yield();
    void (*handler)(int) = atomic_load(&kept);
    if (s == ST_KEPT && handler) {
        handler(sig);
    } else if (s == ST_FORWARD) {
        if (handed_back.sa_flags & SA_SIGINFO)
            handed_back.sa_sigaction(sig, info, ctx);
        else if (handed_back.sa_handler != SIG_IGN && handed_back.sa_handler != SIG_DFL)
            handed_back.sa_handler(sig);
    } else {
        /* released meanwhile: SIGTERM's disposition is SIG_DFL again, or the application's */
        pp_sigterm_release();
        raise(sig);
    }
    errno = saved_errno;
}

/* Exported by exports.map. */
__attribute__((visibility("default"))) int sigaction(int sig, const struct sigaction *act,
                                                     struct sigaction *old)
{
    sigaction_fn next = real_sigaction();
    if (!next) {
        errno = ENOSYS;
        return -1;
    }
    if (sig != SIGTERM || !atomic_load(&armed))
        return next(sig, act, old);
    sigset_t saved;
    lock(&saved);
    int keeping = atomic_load(&state) == ST_KEPT;
    int shown = atomic_load(&shown_default);
    struct sigaction prev;
    int rc;
    if (keeping && act && is_default(act)) {
        rc = install_trampoline(next, &prev);
        if (rc == 0) {
            if (old)
                *old = shown ? app_default : prev;
            app_default = *act;
            atomic_store(&shown_default, 1);
        }
    } else {
        rc = next(sig, act, &prev);
        if (rc == 0) {
            if (old)
                *old = keeping && shown ? app_default : prev;
            if (act)
                atomic_store(&shown_default, 0); /* the application's own handler, or SIG_IGN */
        }
    }
    int saved_errno = errno;
    unlock(&saved);
    errno = saved_errno;
    return rc;
}
