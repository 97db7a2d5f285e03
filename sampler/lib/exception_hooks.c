/* The sys.monitoring RAISE tool and its sampled capture (exception_hooks.h). */
#include "exception_hooks.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "byte_sampling.h"
#include "inproc_hooks.h"
#include "log.h"
#include "own_stack.h"

/* Tool ids tried in turn: 0-2 and 5 are the ones sys.monitoring names for debuggers, coverage,
 * profilers and optimizers; 3 and 4 are unassigned. */
static const int tool_ids[] = {4, 3};
static const char TOOL_NAME[] = "podprof";

typedef pp_py_method_def py_method_def;
#define PY_METH_FASTCALL 0x0080

typedef void py_object; /* PyObject, only ever handled by pointer */

enum {
    F_SYS_GET,
    F_CALL_METHOD,
    F_GET_ATTR,
    F_LONG_AS_LONG,
    F_CFUNCTION_NEW,
    F_DECREF,
    F_ERR_CLEAR,
    F_ERR_FETCH,
    F_ERR_RESTORE,
    F_TYPE_OF,
    F_QUALNAME,
    F_UTF8,
    F_NONE,
    F_COUNT
};
static const char *const fn_names[F_COUNT] = {
    "PySys_GetObject", "PyObject_CallMethod",      "PyObject_GetAttrString",
    "PyLong_AsLong",   "PyCFunction_NewEx",        "Py_DecRef",
    "PyErr_Clear",     "PyErr_GetRaisedException", "PyErr_SetRaisedException",
    "PyObject_Type",   "PyType_GetQualName",       "PyUnicode_AsUTF8AndSize",
    "_Py_NoneStruct"};

static struct {
    py_object *(*sys_get)(const char *name);
    py_object *(*call_method)(py_object *obj, const char *name, const char *format, ...);
    py_object *(*get_attr)(py_object *obj, const char *name);
    long (*long_as_long)(py_object *obj);
    py_object *(*cfunction_new)(py_method_def *def, py_object *self, py_object *module);
    void (*decref)(py_object *obj);
    void (*err_clear)(void);
    py_object *(*err_fetch)(void);
    void (*err_restore)(py_object *exc);
    py_object *(*type_of)(py_object *obj);
    py_object *(*qualname)(py_object *type);
    const char *(*utf8)(py_object *str, ssize_t *len);
    py_object *none;
} api;

static pp_exception_hooks_options opts;
static pp_py_layout layout;
static const pp_capi *capi;
static pp_alloc_ring *ring;
static atomic_int installed;
static double log_keep; /* ln(1 - 1/interval); 0 when every raise is sampled */

/* Per thread: raises left until the next sampled one. initial-exec: static TLS, one load. */
static __thread pp_event_countdown tls __attribute__((tls_model("initial-exec")));

static void py_release(py_object *o)
{
    if (o)
        api.decref(o);
}

/* "module.qualname" of exc's type into buf (cut to fit); "" when unknown. Leaves no error set. */
static void type_name(py_object *exc, char *buf, size_t cap)
{
    buf[0] = 0;
    py_object *type = exc ? api.type_of(exc) : NULL;
    if (!type) {
        api.err_clear();
        return;
    }
    py_object *qual = api.qualname(type);
    py_object *module = api.get_attr(type, "__module__");
    ssize_t qlen = 0, mlen = 0;
    const char *q = qual ? api.utf8(qual, &qlen) : NULL;
    const char *m = module ? api.utf8(module, &mlen) : NULL;
    size_t used = 0;
    if (m && mlen > 0 && (size_t)mlen + 1 < cap) {
        memcpy(buf, m, (size_t)mlen);
        buf[mlen] = '.';
        used = (size_t)mlen + 1;
    }
    if (q) {
        size_t n = (size_t)qlen < cap - 1 - used ? (size_t)qlen : cap - 1 - used;
        memcpy(buf + used, q, n);
        used += n;
    }
    buf[used] = 0;
    py_release(qual);
    py_release(module);
    py_release(type);
    api.err_clear();
}

static __attribute__((noinline)) void sampled(py_object *exc)
{
    pp_alloc_record *rec = pp_alloc_ring_claim(ring);
    if (!rec)
        return;
    rec->ptr = 0;
    rec->size = 1;
    rec->domain = 0;
    rec->heap_slot = -1;
    pp_own_stack_capture(&layout, capi->tstate_current(), rec, ring->max_frames);
    type_name(exc, rec->label, ring->label_bytes);
    pp_alloc_ring_publish(ring, rec);
}

static __attribute__((noinline)) void crossed(py_object *exc)
{
    if (pp_event_countdown_crossed(&tls, log_keep))
        sampled(exc);
}

/* Where the traceback of an exception is, and the next entry of a traceback: both follow the
 * object header (PyObject_HEAD ends with ob_type). PyBaseExceptionObject is PyObject_HEAD, dict,
 * args, notes, traceback, ... (Include/cpython/pyerrors.h, 3.11 and later); PyTracebackObject
 * is PyObject_HEAD, tb_next, ... (Include/cpython/traceback.h). */
static uintptr_t exc_traceback_at, tb_next_at;

/* The interpreter reports RAISE in every frame an exception unwinds through, after adding that
 * frame to the exception's traceback (Python/ceval.c, the error label): only the first report of
 * an exception, whose traceback holds one entry, is its raise. An exception object raised again
 * with its old traceback (`raise err` of a kept error) is not counted again. */
static inline int first_report(py_object *exc)
{
    uintptr_t tb, next = 0;
    memcpy(&tb, (const char *)exc + exc_traceback_at, sizeof tb);
    if (tb)
        memcpy(&next, (const char *)tb + tb_next_at, sizeof next);
    return next == 0;
}

/* The RAISE callback: (code, instruction_offset, exception), vectorcall convention. Returns
 * None; None is immortal on 3.12 and later (PEP 683), so it needs no new reference. */
static py_object *on_raise(py_object *self, py_object *const *args, ssize_t nargs)
{
    (void)self;
    if (nargs >= 3 && args[2] && first_report(args[2]) && __builtin_expect(--tls.left <= 0, 0))
        crossed(args[2]);
    return api.none;
}

static py_method_def on_raise_def = {"podprof_on_raise", (void *)on_raise, PY_METH_FASTCALL, NULL};

/* Calls sys.monitoring.<method>(...) and drops its result; 0 when it returned. */
static int monitoring_ok(py_object *r)
{
    if (!r) {
        api.err_clear();
        return -1;
    }
    api.decref(r);
    return 0;
}

static int register_tool(py_object *mon)
{
    py_object *events = api.get_attr(mon, "events");
    py_object *raise = events ? api.get_attr(events, "RAISE") : NULL;
    long raise_event = raise ? api.long_as_long(raise) : -1;
    py_release(raise);
    py_release(events);
    if (raise_event <= 0) {
        api.err_clear();
        pp_log(PP_LOG_WARN, "sys.monitoring has no RAISE event; no exception profiles");
        return -1;
    }
    int id = -1;
    for (size_t i = 0; i < sizeof tool_ids / sizeof tool_ids[0] && id < 0; i++) {
        py_object *owner = api.call_method(mon, "get_tool", "i", tool_ids[i]);
        if (!owner) {
            api.err_clear();
            continue;
        }
        int free_id = owner == api.none;
        api.decref(owner);
        if (free_id &&
            monitoring_ok(api.call_method(mon, "use_tool_id", "is", tool_ids[i], TOOL_NAME)) == 0)
            id = tool_ids[i];
    }
    if (id < 0) {
        pp_log(PP_LOG_WARN, "sys.monitoring tool ids 4 and 3 are taken by the application; no "
                            "exception profiles");
        return -1;
    }
    py_object *callback = api.cfunction_new(&on_raise_def, NULL, NULL);
    if (!callback ||
        monitoring_ok(
            api.call_method(mon, "register_callback", "ilO", id, raise_event, callback)) != 0 ||
        monitoring_ok(api.call_method(mon, "set_events", "il", id, raise_event)) != 0) {
        api.err_clear();
        py_release(callback);
        monitoring_ok(api.call_method(mon, "free_tool_id", "i", id));
        pp_log(PP_LOG_WARN, "the sys.monitoring RAISE callback could not be registered; no "
                            "exception profiles");
        return -1;
    }
    /* sys.monitoring keeps its own reference to the callback. */
    api.decref(callback);
    pp_log(PP_LOG_DEBUG, "exception profiles: sys.monitoring tool %d", id);
    return 0;
}

static int install(const pp_capi *c, void *ctx)
{
    (void)ctx;
    capi = c;
    /* Whatever exception the interrupted code had in flight is put back untouched. */
    py_object *saved = api.err_fetch();
    py_object *mon = api.sys_get("monitoring"); /* borrowed */
    int rc = mon ? register_tool(mon) : -1;
    if (!mon)
        pp_log(PP_LOG_WARN, "sys.monitoring not found; no exception profiles");
    api.err_clear();
    api.err_restore(saved);
    if (rc == 0)
        atomic_store(&installed, 1);
    return rc;
}

static void ring_after_fork(void)
{
    if (ring)
        pp_alloc_ring_reset(ring);
}

int pp_exception_hooks_setup(const pp_runtime *rt, const pp_exception_hooks_options *opt)
{
    if (rt->hexversion < 0x030c0000) {
        pp_log(PP_LOG_INFO,
               "exception profiles need CPython 3.12 or later (sys.monitoring); "
               "off on %s",
               rt->version);
        return -1;
    }
    uintptr_t addrs[F_COUNT];
    if (pp_inproc_lookup(rt, fn_names, addrs, F_COUNT) != 0) {
        pp_log(PP_LOG_WARN, "CPython's C API for sys.monitoring not found; no exception profiles");
        return -1;
    }
    /* Casting object pointers to function pointers is how dlsym is used (POSIX). */
    api.sys_get = (py_object * (*)(const char *)) addrs[F_SYS_GET];
    api.call_method =
        (py_object * (*)(py_object *, const char *, const char *, ...)) addrs[F_CALL_METHOD];
    api.get_attr = (py_object * (*)(py_object *, const char *)) addrs[F_GET_ATTR];
    api.long_as_long = (long (*)(py_object *))addrs[F_LONG_AS_LONG];
    api.cfunction_new =
        (py_object * (*)(py_method_def *, py_object *, py_object *)) addrs[F_CFUNCTION_NEW];
    api.decref = (void (*)(py_object *))addrs[F_DECREF];
    api.err_clear = (void (*)(void))addrs[F_ERR_CLEAR];
    api.err_fetch = (py_object * (*)(void)) addrs[F_ERR_FETCH];
    api.err_restore = (void (*)(py_object *))addrs[F_ERR_RESTORE];
    api.type_of = (py_object * (*)(py_object *)) addrs[F_TYPE_OF];
    api.qualname = (py_object * (*)(py_object *)) addrs[F_QUALNAME];
    api.utf8 = (const char *(*)(py_object *, ssize_t *))addrs[F_UTF8];
    api.none = (py_object *)addrs[F_NONE];

    opts = *opt;
    layout = rt->layout;
    uintptr_t head = (uintptr_t)layout.ob_type + sizeof(void *);
    exc_traceback_at = head + 3 * sizeof(void *);
    tb_next_at = head;
    log_keep = pp_event_log_keep(opts.interval);
    pp_rng_seed_process();
    ring = pp_alloc_ring_new(opts.ring_records, opts.max_frames, PP_EXCEPTION_TYPE_BYTES);
    if (!ring) {
        pp_log(PP_LOG_WARN, "out of memory for the exception profiles; not recording raises");
        return -1;
    }
    pthread_atfork(NULL, NULL, ring_after_fork);
    return pp_inproc_register("exception", install, NULL);
}

pp_alloc_ring *pp_exception_hooks_ring(void)
{
    return ring;
}

int pp_exception_hooks_installed(void)
{
    return atomic_load(&installed);
}
