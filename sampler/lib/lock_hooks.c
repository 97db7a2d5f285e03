/* The interposed semaphore functions and the lock sampling (lock_hooks.h). */
#include "lock_hooks.h"

#include <dlfcn.h>
#include <errno.h>
#include <link.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <time.h>

#include "byte_sampling.h"
#include "inproc_hooks.h"
#include "lock_methods.h"
#include "log.h"
#include "own_stack.h"
#include "sampler.h"

typedef int (*sem_fn)(sem_t *);
typedef int (*sem_timed_fn)(sem_t *, const struct timespec *);
typedef int (*sem_clock_fn)(sem_t *, clockid_t, const struct timespec *);

enum { N_WAIT, N_TIMEDWAIT, N_CLOCKWAIT, N_TRYWAIT, N_POST, N_DESTROY, N_YIELD, N_COUNT };
static const char *const next_names[N_COUNT] = {"sem_wait",    "sem_timedwait", "sem_clockwait",
                                                "sem_trywait", "sem_post",      "sem_destroy",
                                                "sched_yield"};
/* The next definitions (libc's), resolved by the constructor or by the first call before it.
 * sem_clockwait is missing before glibc 2.30 (then nothing calls it either). */
static atomic_uintptr_t next_addr[N_COUNT];

static uintptr_t next_of(int i)
{
    uintptr_t f = atomic_load_explicit(&next_addr[i], memory_order_relaxed);
    if (__builtin_expect(f == 0, 0)) {
        /* Casting object pointers to function pointers is how dlsym is used (POSIX). */
        f = (uintptr_t)dlsym(RTLD_NEXT, next_names[i]);
        atomic_store_explicit(&next_addr[i], f, memory_order_relaxed);
    }
    return f;
}

__attribute__((constructor)) static void resolve_early(void)
{
    for (int i = 0; i < N_COUNT; i++)
        next_of(i);
}

/* The interpreter's code, [lo, lo + len): calls whose return address lies there are CPython's.
 * len stays 0 (nothing matches: every call a passthrough) until the installer arms the observer;
 * the acquire/release range only where each lock has its own semaphore. */
static atomic_uintptr_t wait_lo, wait_len, own_lo, own_len;

static inline int in_range(uintptr_t ra, atomic_uintptr_t *lo, atomic_uintptr_t *len)
{
    return ra - atomic_load_explicit(lo, memory_order_relaxed) <
           atomic_load_explicit(len, memory_order_relaxed);
}
#define CALLER ((uintptr_t)__builtin_return_address(0))

static pp_waiter_api api;
static pp_lock_hooks_options opts;
static pp_py_layout layout;
static pp_alloc_ring *ring;
static atomic_int installed;
static int per_lock;        /* each lock has a semaphore of its own (3.8-3.12) */
static atomic_int methods;  /* the lock methods are wrapped (3.13+): they count acquisitions */
static double log_keep;     /* ln(1 - capture), 0 when every acquisition is sampled */
static double acquire_step; /* what one sampled acquisition stands for: 100 / capture_pct */
static uintptr_t code_lo, code_hi;

/* Per thread: waited nanoseconds to the next wait sample, acquisitions to the next sampled one.
 * initial-exec: the library is preloaded, its TLS is static (one load, no allocation). */
static __thread struct {
    pp_countdown wait;
    pp_event_countdown acquire;
} tls __attribute__((tls_model("initial-exec")));

/* Sampled acquisitions not released yet, by semaphore address: a key is 0 (free), BUSY (being
 * written or taken) or the address. Probing a few slots keeps every operation bounded. */
#define HELD_SLOTS 128
#define HELD_PROBES 8
#define BUSY ((uintptr_t)1)
static struct held {
    atomic_uintptr_t key;
    int64_t since_ns;
} held[HELD_SLOTS];
static atomic_int n_held;
static atomic_uint_fast64_t holds_lost;

static size_t held_home(uintptr_t sem)
{
    return (size_t)(((sem >> 4) * 0x9e3779b97f4a7c15ULL) >> 57) & (HELD_SLOTS - 1);
}

static void remember(uintptr_t sem, int64_t now)
{
    size_t h = held_home(sem);
    for (size_t i = 0; i < HELD_PROBES; i++) {
        struct held *slot = &held[(h + i) & (HELD_SLOTS - 1)];
        uintptr_t expect = 0;
        if (atomic_compare_exchange_strong(&slot->key, &expect, BUSY)) {
            slot->since_ns = now;
            /* counted before it can be found, so a release never skips the table while it is
             * there */
            atomic_fetch_add(&n_held, 1);
            atomic_store_explicit(&slot->key, sem, memory_order_release);
            return;
        }
    }
    atomic_fetch_add_explicit(&holds_lost, 1, memory_order_relaxed);
}

/* sem's slot, NULL when it is not in the table. */
static struct held *find(uintptr_t sem)
{
    size_t h = held_home(sem);
    for (size_t i = 0; i < HELD_PROBES; i++) {
        struct held *slot = &held[(h + i) & (HELD_SLOTS - 1)];
        if (atomic_load_explicit(&slot->key, memory_order_acquire) == sem)
            return slot;
    }
    return NULL;
}

/* Takes sem's entry out of the table: its acquisition time, or -1 when it is not there. */
static int64_t take(uintptr_t sem)
{
    size_t h = held_home(sem);
    for (size_t i = 0; i < HELD_PROBES; i++) {
        struct held *slot = &held[(h + i) & (HELD_SLOTS - 1)];
        uintptr_t expect = sem;
        if (atomic_load_explicit(&slot->key, memory_order_acquire) == sem &&
            atomic_compare_exchange_strong(&slot->key, &expect, BUSY)) {
            int64_t since = slot->since_ns;
            atomic_store_explicit(&slot->key, 0, memory_order_release);
            atomic_fetch_sub(&n_held, 1);
            return since;
        }
    }
    return -1;
}

static inline uint64_t as_value(double v)
{
    return v <= 0 ? 0 : v < 1.8e19 ? (uint64_t)v : UINT64_MAX;
}

static void record(int kind, double count, double ns)
{
    pp_alloc_record *rec = pp_own_stack_claim(ring, &layout, &api, 1);
    if (!rec)
        return;
    rec->domain = (uint8_t)kind;
    rec->size = as_value(count);
    rec->ptr = (uintptr_t)as_value(ns);
    pp_alloc_ring_publish(ring, rec);
}

/* An acquisition of sem (acquired) or a wait for it (waited_ns > 0), or both, at least one of
 * them sampled (wait_sampled, count_sampled). */
static __attribute__((noinline)) void sampled(uintptr_t sem, double waited_ns, int wait_sampled,
                                              int count_sampled)
{
    double wait_weight = 0;
    if (wait_sampled) {
        double p = pp_sample_probability(waited_ns, opts.wait_interval_ns);
        wait_weight = p > 0 ? waited_ns / p : waited_ns;
    }
    record(PP_LOCK_ACQUIRE, count_sampled ? acquire_step : 0, wait_weight);
    if (count_sampled && (per_lock || atomic_load_explicit(&methods, memory_order_relaxed)))
        remember(sem, pp_now_ns(CLOCK_MONOTONIC));
}

static __attribute__((noinline)) void acquire_crossed(uintptr_t sem)
{
    if (pp_event_countdown_crossed(&tls.acquire, log_keep))
        sampled(sem, 0, 0, 1);
}

/* After a blocking wait that began at t0 and ended with rc (errno kept as the wait left it). */
static void waited(uintptr_t sem, int64_t t0, int rc)
{
    int saved_errno = errno;
    double ns = (double)(pp_now_ns(CLOCK_MONOTONIC) - t0);
    int wait_sampled = ns > 0 && (tls.wait.left -= ns) <= 0 &&
                       pp_countdown_crossed(&tls.wait, ns, opts.wait_interval_ns);
    /* where the lock methods are wrapped, they count every acquisition, waited or not */
    int count_sampled = rc == 0 && !atomic_load_explicit(&methods, memory_order_relaxed) &&
                        --tls.acquire.left <= 0 &&
                        pp_event_countdown_crossed(&tls.acquire, log_keep);
    if (wait_sampled || count_sampled)
        sampled(sem, ns, wait_sampled, count_sampled);
    errno = saved_errno;
}

static __attribute__((noinline)) int lock_wait(sem_t *sem)
{
    int64_t t0 = pp_now_ns(CLOCK_MONOTONIC);
    int rc = ((sem_fn)next_of(N_WAIT))(sem);
    waited((uintptr_t)sem, t0, rc);
    return rc;
}

static __attribute__((noinline)) int lock_timedwait(sem_t *sem, const struct timespec *abstime)
{
    int64_t t0 = pp_now_ns(CLOCK_MONOTONIC);
    int rc = ((sem_timed_fn)next_of(N_TIMEDWAIT))(sem, abstime);
    waited((uintptr_t)sem, t0, rc);
    return rc;
}

static __attribute__((noinline)) int lock_clockwait(sem_t *sem, clockid_t clock,
                                                    const struct timespec *abstime)
{
    int64_t t0 = pp_now_ns(CLOCK_MONOTONIC);
    int rc = ((sem_clock_fn)next_of(N_CLOCKWAIT))(sem, clock, abstime);
    waited((uintptr_t)sem, t0, rc);
    return rc;
}

/* A free-threaded build's PyMutex yields the CPU a number of times before it parks: that too is
 * time spent waiting for the lock (no acquisition yet). */
static __attribute__((noinline)) int lock_yield(void)
{
    int64_t t0 = pp_now_ns(CLOCK_MONOTONIC);
    int rc = ((int (*)(void))next_of(N_YIELD))();
    waited(0, t0, -1);
    return rc;
}

static __attribute__((noinline)) void released(uintptr_t sem)
{
    int64_t since = take(sem);
    if (since >= 0)
        record(PP_LOCK_RELEASE, acquire_step,
               (double)(pp_now_ns(CLOCK_MONOTONIC) - since) * acquire_step);
}

/* The lock methods' wrappers (lock_methods.h), 3.13+: a lock is its object's address. */
void pp_lock_method_acquired(uintptr_t lock)
{
    if (__builtin_expect(--tls.acquire.left <= 0, 0))
        acquire_crossed(lock);
}

void pp_lock_method_releasing(uintptr_t lock)
{
    released(lock);
}

void pp_lock_method_freed(uintptr_t lock)
{
    take(lock);
}

int pp_lock_may_hold(void)
{
    return atomic_load_explicit(&n_held, memory_order_relaxed) != 0;
}

int pp_lock_is_held(uintptr_t lock)
{
    return find(lock) != NULL;
}

/* Exported (exports.map): bind CPython's calls through the PLT. */
__attribute__((visibility("default"))) int sem_wait(sem_t *sem)
{
    if (in_range(CALLER, &wait_lo, &wait_len))
        return lock_wait(sem);
    return ((sem_fn)next_of(N_WAIT))(sem);
}

__attribute__((visibility("default"))) int sem_timedwait(sem_t *restrict sem,
                                                         const struct timespec *restrict abstime)
{
    if (in_range(CALLER, &wait_lo, &wait_len))
        return lock_timedwait(sem, abstime);
    return ((sem_timed_fn)next_of(N_TIMEDWAIT))(sem, abstime);
}

__attribute__((visibility("default"))) int sem_clockwait(sem_t *restrict sem, clockid_t clock,
                                                         const struct timespec *restrict abstime)
{
    sem_clock_fn next = (sem_clock_fn)next_of(N_CLOCKWAIT);
    if (!next) {
        errno = ENOSYS;
        return -1;
    }
    if (in_range(CALLER, &wait_lo, &wait_len))
        return lock_clockwait(sem, clock, abstime);
    return next(sem, clock, abstime);
}

__attribute__((visibility("default"))) int sched_yield(void)
{
    if (in_range(CALLER, &wait_lo, &wait_len))
        return lock_yield();
    return ((int (*)(void))next_of(N_YIELD))();
}

/* The acquisition path of every uncontended lock through 3.12: one compare and a thread-local
 * decrement besides libc's own work. */
__attribute__((visibility("default"))) int sem_trywait(sem_t *sem)
{
    int rc = ((sem_fn)next_of(N_TRYWAIT))(sem);
    if (rc == 0 && in_range(CALLER, &own_lo, &own_len) &&
        __builtin_expect(--tls.acquire.left <= 0, 0))
        acquire_crossed((uintptr_t)sem);
    return rc;
}

__attribute__((visibility("default"))) int sem_post(sem_t *sem)
{
    if (__builtin_expect(atomic_load_explicit(&n_held, memory_order_relaxed) != 0, 0) &&
        in_range(CALLER, &own_lo, &own_len))
        released((uintptr_t)sem);
    return ((sem_fn)next_of(N_POST))(sem);
}

/* A lock freed while held (a Condition's waiter lock) must not leave its entry to a new lock at
 * the same address. */
__attribute__((visibility("default"))) int sem_destroy(sem_t *sem)
{
    if (__builtin_expect(atomic_load_explicit(&n_held, memory_order_relaxed) != 0, 0) &&
        in_range(CALLER, &own_lo, &own_len))
        take((uintptr_t)sem);
    return ((sem_fn)next_of(N_DESTROY))(sem);
}

/* The executable segments of the object that holds addr. */
static int find_code(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    uintptr_t addr = *(uintptr_t *)data, lo = UINTPTR_MAX, hi = 0;
    int holds = 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD)
            continue;
        uintptr_t start = info->dlpi_addr + ph->p_vaddr, end = start + ph->p_memsz;
        holds |= addr >= start && addr < end;
        if (ph->p_flags & PF_X) {
            lo = start < lo ? start : lo;
            hi = end > hi ? end : hi;
        }
    }
    if (!holds || hi <= lo)
        return 0;
    code_lo = lo;
    code_hi = hi;
    return 1;
}

/* With the GIL held, on the main thread: arms the observer. */
static int install(const pp_capi *c, void *ctx)
{
    (void)c;
    (void)ctx;
    /* before the waits are armed, so that no acquisition is counted twice */
    int methods_rc = 0;
    if (!per_lock && !atomic_load(&methods)) {
        methods_rc = pp_lock_methods_install();
        if (methods_rc == 0)
            atomic_store(&methods, 1);
    }
    /* the waits are armed once; a try that found no _thread comes again for the methods only */
    if (atomic_load(&installed))
        return methods_rc == PP_INPROC_AGAIN ? PP_INPROC_AGAIN : 0;
    atomic_store(&wait_lo, code_lo);
    atomic_store(&wait_len, code_hi - code_lo);
    if (per_lock) {
        atomic_store(&own_lo, code_lo);
        atomic_store(&own_len, code_hi - code_lo);
    }
    atomic_store(&installed, 1);
    pp_log(PP_LOG_DEBUG, "lock profiles: CPython's code is at %#lx-%#lx", (unsigned long)code_lo,
           (unsigned long)code_hi);
    return methods_rc == PP_INPROC_AGAIN ? PP_INPROC_AGAIN : 0;
}

/* In a fork child the threads that held sampled locks are gone, and so is what they recorded. */
static void after_fork(void)
{
    if (ring)
        pp_alloc_ring_reset(ring);
    for (size_t i = 0; i < HELD_SLOTS; i++)
        atomic_store(&held[i].key, 0);
    atomic_store(&n_held, 0);
}

int pp_lock_hooks_per_lock_semaphores(const pp_runtime *rt)
{
    return rt->hexversion < 0x030d0000;
}

int pp_lock_hooks_setup(const pp_runtime *rt, const pp_lock_hooks_options *opt)
{
    uintptr_t where = rt->runtime;
    if (!dl_iterate_phdr(find_code, &where)) {
        pp_log(PP_LOG_WARN, "the interpreter's code was not found; no lock profiles");
        return -1;
    }
    if (pp_waiter_api_resolve(rt, &api, "lock profiles") != 0)
        return -1;
    opts = *opt;
    layout = rt->layout;
    per_lock = pp_lock_hooks_per_lock_semaphores(rt);
    if (!per_lock && pp_lock_methods_resolve(rt) != 0)
        return -1;
    acquire_step = 100.0 / opts.capture_pct;
    log_keep = pp_event_log_keep(acquire_step);
    pp_rng_seed_process();
    ring = pp_alloc_ring_new(opts.ring_records, opts.max_frames, 0);
    if (!ring) {
        pp_log(PP_LOG_WARN, "out of memory for the lock profiles; not recording locks");
        return -1;
    }
    pthread_atfork(NULL, NULL, after_fork);
    return pp_inproc_register("lock", install, NULL);
}

pp_alloc_ring *pp_lock_hooks_ring(void)
{
    return ring;
}

int pp_lock_hooks_installed(void)
{
    return atomic_load(&installed);
}

uint64_t pp_lock_hooks_holds_lost(void)
{
    return atomic_load(&holds_lost);
}
