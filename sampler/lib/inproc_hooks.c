/* Resolving the C API and running the installers of in-process hooks (inproc_hooks.h). */
#include "inproc_hooks.h"

#include <dlfcn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "elf_symbols.h"
#include "log.h"
#include "quiet_thread.h"
#include "wake_word.h"

/* How long the pending call may wait for the main thread before a helper thread asks for the
 * GIL instead: the main thread may sit in C (joining workers, waiting on a socket), and 3.12
 * only notices a call queued from a thread without a thread state at its next GIL switch. */
#define NUDGE_AFTER_NS 200000000LL
#define RETRY_FIRST_NS 100000000LL
/* How long a fork waits at most for the helper thread to leave the interpreter (its installers
 * take a fraction of a millisecond). */
#define FORK_WAIT_NS 100000000LL

enum {
    F_ADD_PENDING,
    F_GET_ALLOC,
    F_SET_ALLOC,
    F_TSTATE,
    F_TSTATE_OLD,
    F_GIL_ENSURE,
    F_GIL_RELEASE,
    F_GIL_CHECK,
    F_FINALIZING,
    F_FINALIZING_OLD,
    F_ERR_FETCH,
    F_OBJECT_STR,
    F_UNICODE_UTF8,
    F_DECREF,
    F_COUNT
};
static const char *const fn_names[F_COUNT] = {"Py_AddPendingCall",
                                              "PyMem_GetAllocator",
                                              "PyMem_SetAllocator",
                                              "PyThreadState_GetUnchecked",
                                              "_PyThreadState_UncheckedGet",
                                              "PyGILState_Ensure",
                                              "PyGILState_Release",
                                              "PyGILState_Check",
                                              "Py_IsFinalizing",
                                              "_Py_IsFinalizing",
                                              "PyErr_Fetch",
                                              "PyObject_Str",
                                              "PyUnicode_AsUTF8",
                                              "Py_DecRef"};

static struct {
    const char *name;
    pp_inproc_install_fn install;
    void *ctx;
    int settled; /* installed, or failed for good */
} hooks[PP_INPROC_MAX_HOOKS];
static size_t n_hooks;

static pp_capi capi;
static int (*add_pending_call)(int (*fn)(void *), void *arg);
static int (*gil_ensure)(void);
static void (*gil_release)(int);
static int (*gil_check)(void);
static int (*is_finalizing)(void);
/* for pp_inproc_take_error; NULL when the runtime lacks one of them */
static struct {
    void (*fetch)(void **type, void **value, void **tb);
    void *(*str)(void *obj);
    const char *(*utf8)(void *str);
    void (*decref)(void *obj);
    size_t tp_name_at; /* tp_name precedes tp_basicsize (Include/cpython/object.h) */
} err;
static int tries; /* of run_installers, including the one running */
/* Not before this CLOCK_MONOTONIC time is a failed try queued again: a condition that made an
 * import fail (the application replacing sys.modules entries at start-up, a loaded machine) may
 * last, and each try runs on an application thread. */
static _Atomic int64_t retry_at;
static atomic_int state = PP_INPROC_IDLE;
static atomic_int claimed; /* the installers ran, or are running */
static int64_t queued_at;
static atomic_int nudged;
/* Forks under way, and whether the helper thread is in the interpreter (from before it asks for
 * the GIL until after it gave it back). Each writes its own and then reads the other's (both
 * sequentially consistent): a helper and a fork never miss each other. */
static atomic_int forking, helper_inside;
static pp_wake_word helper_left; /* a fork waits on it */

int pp_inproc_register(const char *name, pp_inproc_install_fn install, void *ctx)
{
    if (n_hooks == PP_INPROC_MAX_HOOKS)
        return -1;
    hooks[n_hooks].name = name;
    hooks[n_hooks].install = install;
    hooks[n_hooks].ctx = ctx;
    n_hooks++;
    return 0;
}

size_t pp_inproc_registered(void)
{
    return n_hooks;
}

static size_t count_missing(const uintptr_t *addrs, size_t n)
{
    size_t missing = 0;
    for (size_t i = 0; i < n; i++)
        missing += !addrs[i];
    return missing;
}

int pp_inproc_lookup(const pp_runtime *rt, const char *const *names, uintptr_t *addrs, size_t n)
{
    memset(addrs, 0, n * sizeof *addrs);
    if (!rt->found_by_elf)
        for (size_t i = 0; i < n; i++)
            addrs[i] = (uintptr_t)dlsym(RTLD_DEFAULT, names[i]);
    if (count_missing(addrs, n))
        pp_elf_lookup(names, addrs, n);
    return count_missing(addrs, n) ? -1 : 0;
}

int pp_inproc_resolve(const pp_runtime *rt)
{
    uintptr_t addrs[F_COUNT] = {0};
    if (!rt->found_by_elf)
        for (int i = 0; i < F_COUNT; i++)
            addrs[i] = (uintptr_t)dlsym(RTLD_DEFAULT, fn_names[i]);
    /* Only one of the two thread-state getters exists in a given version. */
    if (!addrs[F_ADD_PENDING] || !addrs[F_GET_ALLOC] || !addrs[F_SET_ALLOC] ||
        (!addrs[F_TSTATE] && !addrs[F_TSTATE_OLD]) || !addrs[F_GIL_ENSURE])
        pp_elf_lookup(fn_names, addrs, F_COUNT);
    uintptr_t tstate = addrs[F_TSTATE] ? addrs[F_TSTATE] : addrs[F_TSTATE_OLD];
    if (!addrs[F_ADD_PENDING] || !addrs[F_GET_ALLOC] || !addrs[F_SET_ALLOC] || !tstate) {
        pp_log(PP_LOG_WARN, "CPython's C API (Py_AddPendingCall, PyMem_SetAllocator) not found; "
                            "no in-process profiles");
        atomic_store(&state, PP_INPROC_FAILED);
        return -1;
    }
    /* Casting object pointers to function pointers is how dlsym is used (POSIX). */
    add_pending_call = (int (*)(int (*)(void *), void *))addrs[F_ADD_PENDING];
    capi.mem_get_allocator = (void (*)(int, pp_mem_allocator *))addrs[F_GET_ALLOC];
    capi.mem_set_allocator = (void (*)(int, pp_mem_allocator *))addrs[F_SET_ALLOC];
    capi.tstate_current = (void *(*)(void))tstate;
    if (addrs[F_GIL_ENSURE] && addrs[F_GIL_RELEASE]) {
        gil_ensure = (int (*)(void))addrs[F_GIL_ENSURE];
        gil_release = (void (*)(int))addrs[F_GIL_RELEASE];
        gil_check = addrs[F_GIL_CHECK] ? (int (*)(void))addrs[F_GIL_CHECK] : NULL;
    }
    uintptr_t fin = addrs[F_FINALIZING] ? addrs[F_FINALIZING] : addrs[F_FINALIZING_OLD];
    is_finalizing = fin ? (int (*)(void))fin : NULL;
    if (addrs[F_ERR_FETCH] && addrs[F_OBJECT_STR] && addrs[F_UNICODE_UTF8] && addrs[F_DECREF]) {
        err.fetch = (void (*)(void **, void **, void **))addrs[F_ERR_FETCH];
        err.str = (void *(*)(void *))addrs[F_OBJECT_STR];
        err.utf8 = (const char *(*)(void *))addrs[F_UNICODE_UTF8];
        err.decref = (void (*)(void *))addrs[F_DECREF];
        err.tp_name_at = (size_t)rt->layout.tp_basicsize - sizeof(void *);
    }
    return 0;
}

int pp_inproc_failure_level(void)
{
    return tries >= PP_INPROC_TRIES ? PP_LOG_WARN : PP_LOG_DEBUG;
}

/* Drops the three parts of an exception: the ones given, or (fetch) the current one's. */
static void drop_parts(void *type, void *value, void *tb, int fetch)
{
    if (fetch)
        err.fetch(&type, &value, &tb);
    void *parts[] = {type, value, tb};
    for (int i = 0; i < 3; i++)
        if (parts[i])
            err.decref(parts[i]);
}

void pp_inproc_drop_error(void)
{
    if (err.fetch)
        drop_parts(NULL, NULL, NULL, 1);
}

/* str(obj) into buf; "?" when that fails (its error is dropped). */
static void str_into(void *obj, char *buf, size_t size)
{
    void *s = obj ? err.str(obj) : NULL;
    const char *text = s ? err.utf8(s) : NULL;
    snprintf(buf, size, "%s", text ? text : "?");
    if (s)
        err.decref(s);
    drop_parts(NULL, NULL, NULL, 1);
}

void pp_inproc_take_error(char *buf, size_t size)
{
    if (!size)
        return;
    snprintf(buf, size, "no exception set");
    if (!err.fetch)
        return;
    void *type = NULL, *value = NULL, *tb = NULL;
    err.fetch(&type, &value, &tb);
    if (!type)
        return;
    /* PyTypeObject's tp_name: a C string the type owns */
    const char *type_name;
    memcpy(&type_name, (const char *)type + err.tp_name_at, sizeof type_name);
    char value_text[160];
    str_into(value, value_text, sizeof value_text);
    snprintf(buf, size, "%s: %s", type_name ? type_name : "?", value_text);
    drop_parts(type, value, tb, 0);
}

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* With the GIL held: the pending call (main thread, between two bytecodes), or the helper. */
static int run_installers(void *arg)
{
    (void)arg;
    int expected = 0;
    if (!atomic_compare_exchange_strong(&claimed, &expected, 1))
        return 0;
    tries++;
    int again = 0;
    for (size_t i = 0; i < n_hooks; i++) {
        if (hooks[i].settled)
            continue;
        int rc = hooks[i].install(&capi, hooks[i].ctx);
        if (rc == 0)
            pp_log(PP_LOG_DEBUG, "%s hooks installed", hooks[i].name);
        if (rc == PP_INPROC_AGAIN && tries < PP_INPROC_TRIES)
            again = 1;
        else
            hooks[i].settled = 1;
    }
    if (!again) {
        atomic_store(&state, PP_INPROC_DONE);
        return 0;
    }
    /* a later pass queues them again (0.1 s, then 1 s, then 10 s after this try); claimed
     * last, so nothing runs them before that */
    int64_t backoff = RETRY_FIRST_NS;
    for (int i = 1; i < tries; i++)
        backoff *= 10;
    atomic_store(&retry_at, now_ns() + backoff);
    atomic_store(&nudged, 0);
    atomic_store(&state, PP_INPROC_IDLE);
    atomic_store(&claimed, 0);
    return 0;
}

/* Takes the GIL as a thread of its own (so the sampler never waits for it) and runs the
 * installers unless the pending call did first. PyGILState_Ensure may end this thread when the
 * interpreter is finalizing: it owns nothing, so that is harmless. During a fork it does not
 * start: a later pass starts another. */
static void *helper_main(void *arg)
{
    (void)arg;
    atomic_store(&helper_inside, 1);
    if (atomic_load(&forking)) {
        atomic_store(&nudged, 0);
    } else if (!is_finalizing || !is_finalizing()) {
        int g = gil_ensure();
        run_installers(NULL);
        gil_release(g);
    }
    atomic_store(&helper_inside, 0);
    pp_wake_up(&helper_left);
    return NULL;
}

static void nudge(void)
{
    atomic_store(&nudged, 1);
    if (!gil_ensure || atomic_load(&claimed))
        return;
    if (pp_start_quiet_thread(helper_main) != 0)
        pp_log(PP_LOG_DEBUG, "no helper thread for the hooks; waiting for the main thread");
}

pp_inproc_state pp_inproc_schedule(void)
{
    int s = atomic_load(&state);
    if (s == PP_INPROC_QUEUED && !atomic_load(&nudged) && now_ns() - queued_at > NUDGE_AFTER_NS)
        nudge();
    if (s != PP_INPROC_IDLE || now_ns() < atomic_load(&retry_at))
        return (pp_inproc_state)s;
    if (n_hooks == 0) {
        atomic_store(&state, PP_INPROC_NOTHING);
        return PP_INPROC_NOTHING;
    }
    if (!add_pending_call) {
        atomic_store(&state, PP_INPROC_FAILED);
        return PP_INPROC_FAILED;
    }
    atomic_store(&state, PP_INPROC_QUEUED);
    queued_at = now_ns();
    /* Needs neither a thread state nor the GIL (Doc/c-api/init.rst); -1 when the queue is full. */
    if (add_pending_call(run_installers, NULL) != 0) {
        int expected = PP_INPROC_QUEUED;
        atomic_compare_exchange_strong(&state, &expected, PP_INPROC_IDLE);
    }
    return (pp_inproc_state)atomic_load(&state);
}

pp_inproc_state pp_inproc_current(void)
{
    return (pp_inproc_state)atomic_load(&state);
}

/* A child forked while the helper thread holds the GIL (or the lock of the interpreter's thread
 * states, which PyGILState_Ensure and _Release take) has them held by a thread it does not have.
 * A Python os.fork repairs both in the child (PyOS_AfterFork_Child); a server forking from C does
 * not (uWSGI without --py-call-osafterfork): its worker would wait for the GIL for good. So a fork
 * from a thread without the GIL waits for the helper to leave. One from a thread holding the GIL
 * does not: the helper cannot get in before the fork, and waiting would only delay it. */
void pp_inproc_fork_prepare(void)
{
    atomic_fetch_add(&forking, 1);
    if (!atomic_load(&helper_inside) || (gil_check && gil_check()))
        return;
    int64_t deadline = now_ns() + FORK_WAIT_NS;
    for (;;) {
        uint32_t seen = pp_wake_seen(&helper_left);
        if (!atomic_load(&helper_inside) || now_ns() >= deadline)
            return;
        pp_wake_wait(&helper_left, seen, deadline);
    }
}

void pp_inproc_fork_parent(void)
{
    atomic_fetch_sub(&forking, 1);
}

/* The helper thread is not in the child. */
void pp_inproc_fork_child(void)
{
    atomic_store(&forking, 0);
    atomic_store(&helper_inside, 0);
}
