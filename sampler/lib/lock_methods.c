/* Wrapping the lock types' method entries and deallocation (lock_methods.h). */
#include "lock_methods.h"

#include <link.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/types.h>

#include "inproc_hooks.h"
#include "log.h"

typedef void py_object; /* PyObject, only ever handled by pointer */

typedef pp_py_method_def py_method_def;

/* The calling conventions (Include/methodobject.h): METH_VARARGS, METH_VARARGS|METH_KEYWORDS,
 * METH_NOARGS, METH_O, METH_FASTCALL, METH_FASTCALL|METH_KEYWORDS. */
enum { C_VARARGS, C_VARARGS_KW, C_NOARGS, C_O, C_FAST, C_FAST_KW, C_COUNT };
static const int convention_flags[C_COUNT] = {0x1, 0x3, 0x4, 0x8, 0x80, 0x82};

typedef py_object *(*varargs_fn)(py_object *, py_object *);
typedef py_object *(*varargs_kw_fn)(py_object *, py_object *, py_object *);
typedef py_object *(*fast_fn)(py_object *, py_object *const *, ssize_t);
typedef py_object *(*fast_kw_fn)(py_object *, py_object *const *, ssize_t, py_object *);
typedef void (*dealloc_fn)(py_object *);

/* What a method does to its lock. */
enum {
    R_ACQUIRE, /* acquire, acquire_lock, __enter__: True when acquired */
    R_RESTORE, /* RLock._acquire_restore: acquires (not owned before); None when done */
    R_RELEASE, /* release, release_lock, __exit__ */
    R_SAVE,    /* RLock._release_save: releases whatever the depth */
};

enum { T_LOCK, T_RLOCK, T_COUNT };
static const char *const type_attr[T_COUNT] = {"LockType", "RLock"};
static const char *const type_name[T_COUNT] = {"_thread.lock", "_thread.RLock"};

static const struct wanted {
    uint8_t type, role;
    const char *name;
} wanted[] = {
    {T_LOCK, R_ACQUIRE, "acquire"},           {T_LOCK, R_ACQUIRE, "acquire_lock"},
    {T_LOCK, R_ACQUIRE, "__enter__"},         {T_LOCK, R_RELEASE, "release"},
    {T_LOCK, R_RELEASE, "release_lock"},      {T_LOCK, R_RELEASE, "__exit__"},
    {T_RLOCK, R_ACQUIRE, "acquire"},          {T_RLOCK, R_ACQUIRE, "__enter__"},
    {T_RLOCK, R_RESTORE, "_acquire_restore"}, {T_RLOCK, R_RELEASE, "release"},
    {T_RLOCK, R_RELEASE, "__exit__"},         {T_RLOCK, R_SAVE, "_release_save"},
};
#define N_SLOTS (sizeof wanted / sizeof wanted[0])
/* Names that may be missing (deprecated aliases). */
static int optional(const char *name)
{
    return strcmp(name, "acquire_lock") == 0 || strcmp(name, "release_lock") == 0;
}

/* The original function of each wrapped entry; written before the entry points at a wrapper. */
static void *original[N_SLOTS];
/* RLock._is_owned and RLock._recursion_count (METH_NOARGS). */
static py_object *(*rlock_is_owned)(py_object *, py_object *);
static py_object *(*rlock_count)(py_object *, py_object *);
static dealloc_fn original_dealloc[T_COUNT];

enum {
    F_SYS_GET,
    F_MAPPING_GET,
    F_GET_ATTR,
    F_DECREF,
    F_ERR_FETCH,
    F_ERR_RESTORE,
    F_LONG_AS_LONG,
    F_ERR_CLEAR,
    F_TRUE,
    F_COUNT
};
static const char *const fn_names[F_COUNT] = {"PySys_GetObject",
                                              "PyMapping_GetItemString",
                                              "PyObject_GetAttrString",
                                              "Py_DecRef",
                                              "PyErr_GetRaisedException",
                                              "PyErr_SetRaisedException",
                                              "PyLong_AsLong",
                                              "PyErr_Clear",
                                              "_Py_TrueStruct"};
static struct {
    py_object *(*sys_get)(const char *name);
    py_object *(*mapping_get)(py_object *mapping, const char *key);
    py_object *(*get_attr)(py_object *obj, const char *name);
    void (*decref)(py_object *obj);
    py_object *(*err_fetch)(void);
    void (*err_restore)(py_object *exc);
    long (*long_as_long)(py_object *obj);
    void (*err_clear)(void);
    py_object *py_true;
} api;

/* Object and type layout: PyObject's header ends after ob_type; PyTypeObject's tp_name precedes
 * tp_basicsize, then tp_itemsize and tp_dealloc follow (Include/cpython/object.h); a method
 * descriptor is PyDescr_COMMON (header, d_type, d_name, d_qualname) then d_method
 * (Include/cpython/descrobject.h). */
static size_t ob_type_at, tp_name_at, tp_flags_at, tp_dealloc_at, d_method_at;
#define HEAPTYPE (1UL << 9) /* Py_TPFLAGS_HEAPTYPE */

static inline void *word_at(const void *base, size_t offset)
{
    void *v;
    memcpy(&v, (const char *)base + offset, sizeof v);
    return v;
}

static inline long recursion_count(py_object *self)
{
    py_object *n = rlock_count(self, NULL);
    long v = n ? api.long_as_long(n) : 0;
    if (n)
        api.decref(n);
    return v;
}

/* Before the call: for an RLock acquire, whether the caller owned it already. */
static inline __attribute__((always_inline)) int before(size_t slot, py_object *self)
{
    switch (wanted[slot].role) {
    case R_ACQUIRE:
        return wanted[slot].type == T_RLOCK && rlock_is_owned(self, NULL) == api.py_true;
    case R_RELEASE:
        if (__builtin_expect(pp_lock_may_hold(), 0) &&
            (wanted[slot].type == T_LOCK ||
             (pp_lock_is_held((uintptr_t)self) && recursion_count(self) == 1)))
            pp_lock_method_releasing((uintptr_t)self);
        return 0;
    case R_SAVE:
        if (__builtin_expect(pp_lock_may_hold(), 0) && pp_lock_is_held((uintptr_t)self) &&
            recursion_count(self) > 0)
            pp_lock_method_releasing((uintptr_t)self);
        return 0;
    default:
        return 0;
    }
}

static inline __attribute__((always_inline)) py_object *after(size_t slot, py_object *self,
                                                              int owned_before, py_object *r)
{
    int role = wanted[slot].role;
    if ((role == R_ACQUIRE && r == api.py_true && !owned_before) || (role == R_RESTORE && r))
        pp_lock_method_acquired((uintptr_t)self);
    return r;
}

/* One wrapper per entry and calling convention: a C function receives no PyMethodDef, so the
 * entry's number is the wrapper's own. */
#define WRAPPERS(i)                                                                                \
    static py_object *varargs_##i(py_object *s, py_object *a)                                      \
    {                                                                                              \
        int b = before(i, s);                                                                      \
        return after(i, s, b, ((varargs_fn)original[i])(s, a));                                    \
    }                                                                                              \
    static py_object *varargs_kw_##i(py_object *s, py_object *a, py_object *k)                     \
    {                                                                                              \
        int b = before(i, s);                                                                      \
        return after(i, s, b, ((varargs_kw_fn)original[i])(s, a, k));                              \
    }                                                                                              \
    static py_object *fast_##i(py_object *s, py_object *const *a, ssize_t n)                       \
    {                                                                                              \
        int b = before(i, s);                                                                      \
        return after(i, s, b, ((fast_fn)original[i])(s, a, n));                                    \
    }                                                                                              \
    static py_object *fast_kw_##i(py_object *s, py_object *const *a, ssize_t n, py_object *k)      \
    {                                                                                              \
        int b = before(i, s);                                                                      \
        return after(i, s, b, ((fast_kw_fn)original[i])(s, a, n, k));                              \
    }
WRAPPERS(0)
WRAPPERS(1)
WRAPPERS(2)
WRAPPERS(3)
WRAPPERS(4)
WRAPPERS(5)
WRAPPERS(6)
WRAPPERS(7)
WRAPPERS(8)
WRAPPERS(9)
WRAPPERS(10)
WRAPPERS(11)
_Static_assert(N_SLOTS == 12, "one WRAPPERS line per wanted entry");

/* METH_NOARGS and METH_O functions have the METH_VARARGS signature (self, one object). */
#define ROW(i)                                                                                     \
    {                                                                                              \
        (void *)varargs_##i, (void *)varargs_kw_##i, (void *)varargs_##i, (void *)varargs_##i,     \
            (void *)fast_##i, (void *)fast_kw_##i                                                  \
    }
static void *const wrapper[N_SLOTS][C_COUNT] = {ROW(0), ROW(1), ROW(2), ROW(3), ROW(4),  ROW(5),
                                                ROW(6), ROW(7), ROW(8), ROW(9), ROW(10), ROW(11)};

static void dealloc_lock(py_object *self)
{
    if (__builtin_expect(pp_lock_may_hold(), 0))
        pp_lock_method_freed((uintptr_t)self);
    original_dealloc[T_LOCK](self);
}

static void dealloc_rlock(py_object *self)
{
    if (__builtin_expect(pp_lock_may_hold(), 0))
        pp_lock_method_freed((uintptr_t)self);
    original_dealloc[T_RLOCK](self);
}

static const dealloc_fn dealloc_wrapper[T_COUNT] = {dealloc_lock, dealloc_rlock};

/* Whether [addr, addr + len) lies in a writable segment of a loaded object, outside its RELRO
 * range (made read-only after relocation). */
struct writable_query {
    uintptr_t addr, len;
    int found;
};

static int find_writable(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    struct writable_query *q = data;
    int writable = 0, relro = 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        uintptr_t start = info->dlpi_addr + ph->p_vaddr, end = start + ph->p_memsz;
        int holds = q->addr >= start && q->addr + q->len <= end;
        if (ph->p_type == PT_LOAD && holds && (ph->p_flags & PF_W))
            writable = 1;
        if (ph->p_type == PT_GNU_RELRO && q->addr + q->len > start && q->addr < end)
            relro = 1;
    }
    if (writable && !relro) {
        q->found = 1;
        return 1;
    }
    return 0;
}

static int writable(const void *p, size_t len)
{
    struct writable_query q = {(uintptr_t)p, len, 0};
    dl_iterate_phdr(find_writable, &q);
    return q.found;
}

static int convention_of(int flags)
{
    for (int c = 0; c < C_COUNT; c++)
        if (convention_flags[c] == flags)
            return c;
    return -1;
}

static int is_type_named(py_object *obj, const char *name)
{
    py_object *type = word_at(obj, ob_type_at);
    const char *tp_name = type ? word_at(type, tp_name_at) : NULL;
    return tp_name && strcmp(tp_name, name) == 0;
}

/* The PyMethodDef of type's method name, checked; NULL when absent or not as expected (why in
 * *why). */
static py_method_def *entry_of(py_object *type, const char *name, const char **why)
{
    py_object *descr = api.get_attr(type, name);
    if (!descr) {
        api.err_clear(); /* no C-API call with an exception set */
        *why = "missing";
        return NULL;
    }
    py_method_def *def = NULL;
    if (!is_type_named(descr, "method_descriptor"))
        *why = "not a method descriptor";
    else if (!(def = word_at(descr, d_method_at)) || !def->ml_name ||
             strcmp(def->ml_name, name) != 0)
        *why = "an unexpected descriptor layout", def = NULL;
    api.decref(descr); /* the type keeps the descriptor */
    return def;
}

struct plan {
    py_object *types[T_COUNT];
    py_method_def *defs[N_SLOTS];
    int convention[N_SLOTS];
    py_method_def *is_owned, *count;
};

/* Finds and checks everything; writes nothing. 0 when all is as expected, PP_INPROC_AGAIN when
 * _thread could not be had (a later try may succeed). */
static int prepare(struct plan *p)
{
    /* from sys.modules, where the interpreter puts it at start-up: no import machinery runs */
    py_object *modules = api.sys_get("modules"); /* borrowed */
    py_object *module = modules ? api.mapping_get(modules, "_thread") : NULL;
    if (!module) {
        char why[256];
        pp_inproc_take_error(why, sizeof why);
        pp_log(pp_inproc_failure_level(),
               "lock profiles: _thread not in sys.modules (%s); no lock releases on 3.13+", why);
        return PP_INPROC_AGAIN;
    }
    for (int t = 0; t < T_COUNT; t++) {
        p->types[t] = api.get_attr(module, type_attr[t]);
        /* the module keeps its types */
        if (p->types[t])
            api.decref(p->types[t]);
        else
            api.err_clear();
        const char *tp_name = p->types[t] ? word_at(p->types[t], tp_name_at) : NULL;
        unsigned long flags = 0;
        if (p->types[t])
            memcpy(&flags, (const char *)p->types[t] + tp_flags_at, sizeof flags);
        /* a heap type lives in allocated, writable memory */
        if (!tp_name || strcmp(tp_name, type_name[t]) != 0 || !(flags & HEAPTYPE)) {
            api.decref(module);
            pp_log(PP_LOG_WARN,
                   "lock profiles: _thread.%s is not the type %s expected; no lock "
                   "releases on 3.13+",
                   type_attr[t], type_name[t]);
            return -1;
        }
    }
    api.decref(module);
    for (size_t i = 0; i < N_SLOTS; i++) {
        const char *why = "";
        p->defs[i] = entry_of(p->types[wanted[i].type], wanted[i].name, &why);
        if (!p->defs[i] && optional(wanted[i].name) && strcmp(why, "missing") == 0)
            continue;
        p->convention[i] = p->defs[i] ? convention_of(p->defs[i]->ml_flags) : -1;
        if (p->defs[i] && p->convention[i] < 0)
            why = "an unknown calling convention";
        else if (p->defs[i] && !writable(p->defs[i], sizeof *p->defs[i]))
            why = "read-only";
        if (!p->defs[i] || *why) {
            pp_log(PP_LOG_WARN, "lock profiles: %s.%s is %s (flags %#x); no lock releases on 3.13+",
                   type_name[wanted[i].type], wanted[i].name, why,
                   p->defs[i] ? (unsigned)p->defs[i]->ml_flags : 0u);
            return -1;
        }
    }
    const char *why = "";
    p->is_owned = entry_of(p->types[T_RLOCK], "_is_owned", &why);
    p->count = entry_of(p->types[T_RLOCK], "_recursion_count", &why);
    if (!p->is_owned || !p->count || convention_of(p->is_owned->ml_flags) != C_NOARGS ||
        convention_of(p->count->ml_flags) != C_NOARGS) {
        pp_log(PP_LOG_WARN, "lock profiles: _thread.RLock has no _is_owned and _recursion_count "
                            "without arguments; no lock releases on 3.13+");
        return -1;
    }
    return 0;
}

int pp_lock_methods_install(void)
{
    /* Whatever exception the interrupted code had in flight is put back untouched. */
    py_object *saved = api.err_fetch();
    struct plan p = {0};
    int rc = prepare(&p);
    api.err_clear();
    api.err_restore(saved);
    if (rc != 0)
        return rc;
    /* Casting object pointers to function pointers is how CPython stores ml_meth. */
    rlock_is_owned = (py_object * (*)(py_object *, py_object *)) p.is_owned->ml_meth;
    rlock_count = (py_object * (*)(py_object *, py_object *)) p.count->ml_meth;
    for (int t = 0; t < T_COUNT; t++) {
        _Atomic(dealloc_fn) *at = (_Atomic(dealloc_fn) *)((char *)p.types[t] + tp_dealloc_at);
        original_dealloc[t] = atomic_load(at);
        atomic_store(at, dealloc_wrapper[t]);
    }
    size_t wrapped = 0;
    for (size_t i = 0; i < N_SLOTS; i++) {
        if (!p.defs[i])
            continue;
        _Atomic(void *) *meth = (_Atomic(void *) *)&p.defs[i]->ml_meth;
        original[i] = atomic_load(meth);
        atomic_store(meth, wrapper[i][p.convention[i]]);
        wrapped++;
    }
    pp_log(PP_LOG_DEBUG, "lock profiles: %zu lock methods wrapped", wrapped);
    return 0;
}

int pp_lock_methods_resolve(const pp_runtime *rt)
{
    uintptr_t addrs[F_COUNT];
    if (pp_inproc_lookup(rt, fn_names, addrs, F_COUNT) != 0) {
        pp_log(PP_LOG_WARN, "CPython's C API for the lock methods not found; no lock releases");
        return -1;
    }
    /* Casting object pointers to function pointers is how dlsym is used (POSIX). */
    api.sys_get = (py_object * (*)(const char *)) addrs[F_SYS_GET];
    api.mapping_get = (py_object * (*)(py_object *, const char *)) addrs[F_MAPPING_GET];
    api.get_attr = (py_object * (*)(py_object *, const char *)) addrs[F_GET_ATTR];
    api.decref = (void (*)(py_object *))addrs[F_DECREF];
    api.err_fetch = (py_object * (*)(void)) addrs[F_ERR_FETCH];
    api.err_restore = (void (*)(py_object *))addrs[F_ERR_RESTORE];
    api.long_as_long = (long (*)(py_object *))addrs[F_LONG_AS_LONG];
    api.err_clear = (void (*)(void))addrs[F_ERR_CLEAR];
    api.py_true = (py_object *)addrs[F_TRUE];
    ob_type_at = (size_t)rt->layout.ob_type;
    tp_name_at = (size_t)rt->layout.tp_basicsize - sizeof(void *);
    tp_flags_at = (size_t)rt->layout.tp_flags;
    tp_dealloc_at = (size_t)rt->layout.tp_basicsize + 2 * sizeof(void *);
    d_method_at = ob_type_at + 4 * sizeof(void *);
    return 0;
}
