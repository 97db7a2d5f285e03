/* A Python atexit callback that has the hook records named before finalization (exit_drain.h). */
#include "exit_drain.h"

#include <stdatomic.h>
#include <stdio.h>
#include <time.h>

#include "sampler.h"
#include "inproc_hooks.h"
#include "log.h"
#include "wake_word.h"

/* The sampler thread answers within a pass's work (a drain of a full ring is about a millisecond);
 * a starved one must not hold the exiting program for long. */
#define EXIT_DRAIN_TIMEOUT_NS 200000000LL
#define PY_METH_NOARGS 0x0004

typedef void py_object; /* PyObject, only ever handled by pointer */

enum {
    F_IMPORT,
    F_SYS_GET,
    F_MAPPING_GET,
    F_GET_ATTR,
    F_HAS_KEY,
    F_LONG_FROM_ULONG,
    F_THREAD_IDENT,
    F_CALL_METHOD,
    F_CFUNCTION_NEW,
    F_INCREF,
    F_DECREF,
    F_FETCH,
    F_RESTORE,
    F_NONE,
    F_COUNT
};
static const char *const fn_names[F_COUNT] = {"PyImport_ImportModule",
                                              "PySys_GetObject",
                                              "PyMapping_GetItemString",
                                              "PyObject_GetAttrString",
                                              "PyMapping_HasKey",
                                              "PyLong_FromUnsignedLong",
                                              "PyThread_get_thread_ident",
                                              "PyObject_CallMethod",
                                              "PyCFunction_NewEx",
                                              "Py_IncRef",
                                              "Py_DecRef",
                                              "PyErr_Fetch",
                                              "PyErr_Restore",
                                              "_Py_NoneStruct"};
static struct {
    py_object *(*import)(const char *name);
    py_object *(*sys_get)(const char *name);
    py_object *(*mapping_get)(py_object *mapping, const char *key);
    py_object *(*get_attr)(py_object *obj, const char *name);
    int (*has_key)(py_object *mapping, py_object *key);
    py_object *(*long_from_ulong)(unsigned long v);
    unsigned long (*thread_ident)(void);
    py_object *(*call_method)(py_object *obj, const char *name, const char *format, ...);
    py_object *(*cfunction_new)(pp_py_method_def *def, py_object *self, py_object *module);
    void (*incref)(py_object *obj);
    void (*decref)(py_object *obj);
    void (*fetch)(py_object **type, py_object **value, py_object **tb);
    void (*restore)(py_object *type, py_object *value, py_object *tb);
    py_object *none;
} api;

static void (*wake_sampler)(void);
static _Atomic uint32_t asked, answered;
static atomic_int closed = 1;
static pp_wake_word answer_word;

void pp_exit_drain_open(void)
{
    atomic_store(&closed, 0);
}

uint32_t pp_exit_drain_asked(void)
{
    return atomic_load(&asked);
}

int pp_exit_drain_pending(void)
{
    return atomic_load(&asked) != atomic_load(&answered);
}

void pp_exit_drain_answer(uint32_t value)
{
    if (atomic_load(&answered) != value) {
        atomic_store(&answered, value);
        pp_wake_up(&answer_word);
    }
}

void pp_exit_drain_close(void)
{
    atomic_store(&closed, 1);
    pp_wake_up(&answer_word);
}

/* On the thread that runs the atexit callbacks, with the GIL held: the sampler thread never
 * takes the GIL, so holding it while waiting cannot stop the answer. */
static py_object *on_exit(py_object *self, py_object *unused)
{
    (void)self, (void)unused;
    if (!atomic_load(&closed) && wake_sampler) {
        uint32_t ticket = atomic_fetch_add(&asked, 1) + 1;
        wake_sampler();
        int64_t deadline = pp_now_ns(CLOCK_MONOTONIC) + EXIT_DRAIN_TIMEOUT_NS;
        for (;;) {
            uint32_t seen = pp_wake_seen(&answer_word);
            /* wrap-safe: answered has reached the ticket */
            if ((int32_t)(atomic_load(&answered) - ticket) >= 0 || atomic_load(&closed) ||
                pp_now_ns(CLOCK_MONOTONIC) >= deadline)
                break;
            pp_wake_wait(&answer_word, seen, deadline);
        }
    }
    api.incref(api.none); /* None is not immortal before 3.12 */
    return api.none;
}

static pp_py_method_def on_exit_def = {"podprof_name_hook_samples", (void *)on_exit, PY_METH_NOARGS,
                                       NULL};

static void drop(py_object *obj)
{
    if (obj)
        api.decref(obj);
}

/* 3.12+: importlib keeps a list per thread in `_blocking_on`, to which a nested import adds and
 * from which it removes only its own lock: importing from a pending call is safe anywhere. (The
 * list lives in a `_WeakValueDictionary`, which PyMapping_HasKey cannot look into: 3.13+ would
 * print that failure on the application's stderr.) */
static int nesting_safe;

/* Whether this thread is inside importlib's module-lock acquire, or it cannot tell. There, the
 * bootstrap's `_blocking_on` holds an entry under this thread's ident; through 3.11 a dict with
 * one entry per thread, which an import made now (from a pending call between two of its
 * instructions) would take out from under it: the application's own import then fails with a
 * KeyError. Errors raised here are dropped with the caller's. */
static int inside_module_lock(void)
{
    py_object *modules = api.sys_get("modules"); /* borrowed */
    py_object *bootstrap = modules ? api.mapping_get(modules, "_frozen_importlib") : NULL;
    py_object *blocking = bootstrap ? api.get_attr(bootstrap, "_blocking_on") : NULL;
    py_object *ident = blocking ? api.long_from_ulong(api.thread_ident()) : NULL;
    int inside = ident ? api.has_key(blocking, ident) != 0 : 1;
    drop(ident);
    drop(blocking);
    drop(bootstrap);
    return inside;
}

/* atexit, a new reference: from sys.modules when it was imported, else imported unless that would
 * nest in an import this thread is making. NULL with an exception set, or with *nested set. */
static py_object *atexit_module(int *nested)
{
    py_object *modules = api.sys_get("modules"); /* borrowed */
    py_object *module = modules ? api.mapping_get(modules, "atexit") : NULL;
    if (module)
        return module;
    pp_inproc_drop_error(); /* the KeyError */
    *nested = !nesting_safe && inside_module_lock();
    return *nested ? NULL : api.import("atexit");
}

/* With the GIL held: atexit.register(on_exit). Whatever error state the interrupted code had is
 * put back untouched. */
static int install(const pp_capi *c, void *ctx)
{
    (void)c, (void)ctx;
    py_object *type = NULL, *value = NULL, *tb = NULL;
    api.fetch(&type, &value, &tb);
    int nested = 0;
    py_object *module = atexit_module(&nested);
    py_object *fn = module ? api.cfunction_new(&on_exit_def, NULL, NULL) : NULL;
    py_object *r = fn ? api.call_method(module, "register", "O", fn) : NULL;
    if (r)
        api.decref(r);
    if (fn)
        api.decref(fn); /* atexit keeps its own reference */
    if (module)
        api.decref(module);
    char why[256] = "";
    if (nested)
        snprintf(why, sizeof why, "not imported yet, and an import is being made");
    else if (!r)
        pp_inproc_take_error(why, sizeof why);
    api.restore(type, value, tb);
    if (!r) {
        pp_log(pp_inproc_failure_level(),
               "atexit.register failed (%s): hook samples of the last moments before exit may be "
               "named after their code was freed",
               why);
        return PP_INPROC_AGAIN;
    }
    return 0;
}

int pp_exit_drain_setup(const pp_runtime *rt, void (*wake)(void))
{
    uintptr_t addrs[F_COUNT];
    if (pp_inproc_lookup(rt, fn_names, addrs, F_COUNT) != 0) {
        pp_log(PP_LOG_WARN, "CPython's C API for atexit not found: hook samples of the last "
                            "moments before exit may be named after their code was freed");
        return -1;
    }
    /* Casting object pointers to function pointers is how dlsym is used (POSIX). */
    api.import = (py_object * (*)(const char *)) addrs[F_IMPORT];
    api.sys_get = (py_object * (*)(const char *)) addrs[F_SYS_GET];
    api.mapping_get = (py_object * (*)(py_object *, const char *)) addrs[F_MAPPING_GET];
    api.get_attr = (py_object * (*)(py_object *, const char *)) addrs[F_GET_ATTR];
    api.has_key = (int (*)(py_object *, py_object *))addrs[F_HAS_KEY];
    api.long_from_ulong = (py_object * (*)(unsigned long)) addrs[F_LONG_FROM_ULONG];
    api.thread_ident = (unsigned long (*)(void))addrs[F_THREAD_IDENT];
    api.call_method =
        (py_object * (*)(py_object *, const char *, const char *, ...)) addrs[F_CALL_METHOD];
    api.cfunction_new =
        (py_object * (*)(pp_py_method_def *, py_object *, py_object *)) addrs[F_CFUNCTION_NEW];
    api.incref = (void (*)(py_object *))addrs[F_INCREF];
    api.decref = (void (*)(py_object *))addrs[F_DECREF];
    api.fetch = (void (*)(py_object **, py_object **, py_object **))addrs[F_FETCH];
    api.restore = (void (*)(py_object *, py_object *, py_object *))addrs[F_RESTORE];
    api.none = (py_object *)addrs[F_NONE];
    wake_sampler = wake;
    nesting_safe = rt->hexversion >= 0x030c0000;
    return pp_inproc_register("exit drain", install, NULL);
}
