/* The interposed pthread_cond_timedwait and the GIL wait sampling (gil_hooks.h). */
#include "gil_hooks.h"

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "byte_sampling.h"
#include "gil_spans.h"
#include "inproc_hooks.h"
#include "log.h"
#include "own_stack.h"
#include "sampler.h"
#include "span_stacks.h"

typedef int (*timedwait_fn)(pthread_cond_t *, pthread_mutex_t *, const struct timespec *);
typedef int (*wait_fn)(pthread_cond_t *, pthread_mutex_t *);

/* The addresses of the GIL's two condition variables; 1 (no condition variable's address) until
 * the installer publishes them, so every call is a passthrough before that and in non-Python
 * processes. */
static atomic_uintptr_t gil_cond = 1, gil_switch_cond = 1;
static _Atomic(timedwait_fn) next_timedwait;
static _Atomic(wait_fn) next_wait;

static pp_waiter_api api;

static pp_gil_hooks_options opts;
static pp_py_layout layout;
static pp_alloc_ring *ring;
static atomic_int installed;

/* Per thread: waited nanoseconds left until the next sample point. initial-exec: the library is
 * preloaded, its TLS is static (one load, no allocation, no lock). */
static __thread pp_countdown tls __attribute__((tls_model("initial-exec")));

/* The next definition of name (libc's) at the version CPython binds to: GLIBC_2.3.2 on x86_64
 * (GLIBC_2.2.5 is the compatibility version for pre-2.3.2 condition variables), GLIBC_2.17 on
 * aarch64. dlsym's default version is the same; it is the fallback. */
static void *next_definition(const char *name)
{
    void *f = NULL;
#if defined(__x86_64__)
    f = dlvsym(RTLD_NEXT, name, "GLIBC_2.3.2");
#elif defined(__aarch64__)
    f = dlvsym(RTLD_NEXT, name, "GLIBC_2.17");
#endif
    return f ? f : dlsym(RTLD_NEXT, name);
}

/* Resolved by the constructor (dlsym is not async-signal-safe); a call before that resolves them
 * lazily. Casting object pointers to function pointers is how dlsym is used (POSIX). */
static timedwait_fn real_timedwait(void)
{
    timedwait_fn f = atomic_load_explicit(&next_timedwait, memory_order_relaxed);
    if (__builtin_expect(f == NULL, 0)) {
        f = (timedwait_fn)next_definition("pthread_cond_timedwait");
        atomic_store_explicit(&next_timedwait, f, memory_order_relaxed);
    }
    return f;
}

static wait_fn real_wait(void)
{
    wait_fn f = atomic_load_explicit(&next_wait, memory_order_relaxed);
    if (__builtin_expect(f == NULL, 0)) {
        f = (wait_fn)next_definition("pthread_cond_wait");
        atomic_store_explicit(&next_wait, f, memory_order_relaxed);
    }
    return f;
}

__attribute__((constructor)) static void resolve_early(void)
{
    real_timedwait();
    real_wait();
}

static void record(double waited_ns)
{
    /* A wait holding at least one sample point: chance 1 - exp(-wait / interval). */
    double p = pp_sample_probability(waited_ns, opts.interval_ns);
    pp_alloc_record *rec = pp_own_stack_claim(ring, &layout, &api, 0);
    if (!rec)
        return;
    double weight = p > 0 ? waited_ns / p : waited_ns;
    rec->size = weight < 1.8e19 ? (uint64_t)weight : UINT64_MAX;
    pp_alloc_ring_publish(ring, rec);
}

static __attribute__((noinline)) void crossed(double waited_ns)
{
    if (pp_countdown_crossed(&tls, waited_ns, opts.interval_ns))
        record(waited_ns);
}

/* After a GIL wait that began at t0 (errno kept as the wait left it). */
static void charge(int64_t t0)
{
    int saved_errno = errno;
    double waited = (double)(pp_now_ns(CLOCK_MONOTONIC) - t0);
    /* left starts at 0: a thread's first wait always goes on to seed its countdown */
    if (waited > 0 && (tls.left -= waited) <= 0)
        crossed(waited);
    errno = saved_errno;
}

/* take_gil: waits until the GIL is free (timed: a drop request follows a timeout). The wait
 * returns holding the GIL's mutex, so `locked` is what take_gil reads next: clear, it leaves its
 * loop and takes the GIL, which ends the thread's wait span (gil_spans.h). */
static __attribute__((noinline)) int gil_wait(pthread_cond_t *cond, pthread_mutex_t *mutex,
                                              const struct timespec *abstime)
{
    int64_t t0 = pp_now_ns(CLOCK_MONOTONIC);
    uint64_t opened = pp_gil_span_enter();
    if (opened) {
        int saved_errno = errno;
        pp_span_stack_capture(opened, t0);
        errno = saved_errno;
    }
    int rc = real_timedwait()(cond, mutex, abstime);
    /* `locked`, an int in the same struct as cond */
    const atomic_int *locked = (const atomic_int *)((uintptr_t)cond - (uintptr_t)layout.gil_cond +
                                                    (uintptr_t)layout.gil_locked);
    pp_gil_span_leave(atomic_load_explicit(locked, memory_order_relaxed) == 0);
    charge(t0);
    return rc;
}

/* drop_gil, asked to drop: waits until another thread has taken the GIL, then queues for it
 * again in take_gil. Both are time the thread cannot run because of the GIL. */
static __attribute__((noinline)) int gil_switch_wait(pthread_cond_t *cond, pthread_mutex_t *mutex)
{
    int64_t t0 = pp_now_ns(CLOCK_MONOTONIC);
    int rc = real_wait()(cond, mutex);
    charge(t0);
    return rc;
}

/* Exported (exports.map): bind CPython's calls through the PLT. */
__attribute__((visibility("default"))) int
pthread_cond_timedwait(pthread_cond_t *restrict cond, pthread_mutex_t *restrict mutex,
                       const struct timespec *restrict abstime)
{
    if (__builtin_expect((uintptr_t)cond == atomic_load_explicit(&gil_cond, memory_order_relaxed),
                         0))
        return gil_wait(cond, mutex, abstime);
    return real_timedwait()(cond, mutex, abstime);
}

__attribute__((visibility("default"))) int pthread_cond_wait(pthread_cond_t *restrict cond,
                                                             pthread_mutex_t *restrict mutex)
{
    if (__builtin_expect(
            (uintptr_t)cond == atomic_load_explicit(&gil_switch_cond, memory_order_relaxed), 0))
        return gil_switch_wait(cond, mutex);
    return real_wait()(cond, mutex);
}

static uintptr_t runtime_address;

/* With the GIL held, on the main thread: where the GIL's condition variable is. */
static int install(const pp_capi *c, void *ctx)
{
    (void)ctx;
    uintptr_t gil = 0;
    if (layout.rt_gil >= 0) {
        gil = runtime_address + (uintptr_t)layout.rt_gil;
    } else {
        /* 3.12+: the interpreter running this pending call is the main one */
        uintptr_t ts = (uintptr_t)c->tstate_current(), interp = 0;
        if (ts)
            memcpy(&interp, (const void *)(ts + (uintptr_t)layout.ts_interp), sizeof interp);
        if (interp)
            memcpy(&gil, (const void *)(interp + (uintptr_t)layout.is_gil), sizeof gil);
    }
    if (!gil) {
        pp_log(PP_LOG_WARN, "the interpreter's GIL was not found; no GIL wait profiles");
        return -1;
    }
    atomic_store_explicit(&gil_cond, gil + (uintptr_t)layout.gil_cond, memory_order_release);
    atomic_store_explicit(&gil_switch_cond, gil + (uintptr_t)layout.gil_switch_cond,
                          memory_order_release);
    atomic_store(&installed, 1);
    pp_log(PP_LOG_DEBUG, "GIL wait profiles: the GIL's condition variable is at %#lx",
           (unsigned long)(gil + (uintptr_t)layout.gil_cond));
    return 0;
}

static void ring_after_fork(void)
{
    if (ring)
        pp_alloc_ring_reset(ring);
}

int pp_gil_hooks_setup(const pp_runtime *rt, const pp_gil_hooks_options *opt)
{
    if (rt->layout.free_threaded || rt->layout.gil_cond < 0 || rt->layout.gil_switch_cond < 0 ||
        rt->layout.gil_locked < 0 || (rt->layout.rt_gil < 0 && rt->layout.is_gil < 0)) {
        pp_log(PP_LOG_INFO, "GIL wait profiles: %s%s has no GIL; off", rt->version,
               rt->layout.free_threaded ? " (free-threaded)" : "");
        return -1;
    }
    if (pp_waiter_api_resolve(rt, &api, "GIL wait profiles") != 0)
        return -1;
    opts = *opt;
    layout = rt->layout;
    runtime_address = rt->runtime;
    pp_rng_seed_process();
    ring = pp_alloc_ring_new(opts.ring_records, opts.max_frames, 0);
    if (!ring) {
        pp_log(PP_LOG_WARN, "out of memory for the GIL wait profiles; not recording waits");
        return -1;
    }
    pthread_atfork(NULL, NULL, ring_after_fork);
    /* without spans the sampler walks GIL waiters as any running thread; without span stacks it
     * walks each once per wait */
    if (pp_gil_spans_setup() == 0)
        pp_span_stacks_setup(&layout, &api, opts.max_frames);
    return pp_inproc_register("gil", install, NULL);
}

pp_alloc_ring *pp_gil_hooks_ring(void)
{
    return ring;
}

int pp_gil_hooks_installed(void)
{
    return atomic_load(&installed);
}
