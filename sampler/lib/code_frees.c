/* Counting the code objects the interpreter deallocates (code_frees.h). */
#include "code_frees.h"

#include <stdatomic.h>

#include "inproc_hooks.h"
#include "log.h"
#include "safe_read.h"

typedef void (*destructor_fn)(void *obj);

static _Atomic uint64_t begun, ended;
/* PyCode_Type's own tp_dealloc, read by setup: long before the slot holds the wrapper (a pending
 * call's round trip through the interpreter lies between), so a thread that finds the wrapper in
 * the slot finds this set. */
static _Atomic(destructor_fn) original;
static uintptr_t slot; /* &PyCode_Type.tp_dealloc */
static atomic_int installed;

static void counting_dealloc(void *obj)
{
    atomic_fetch_add(&begun, 1);
    atomic_load_explicit(&original, memory_order_acquire)(obj);
    atomic_fetch_add(&ended, 1);
}

/* With the GIL held, on the main thread. PyCode_Type is writable (PyType_Ready filled it in at
 * start-up). A free-threaded build may read the slot on another thread meanwhile: an aligned
 * pointer is stored whole. */
static int install(const pp_capi *c, void *ctx)
{
    (void)c, (void)ctx;
    destructor_fn *at = (destructor_fn *)slot;
    if (__atomic_load_n(at, __ATOMIC_RELAXED) != atomic_load(&original)) {
        pp_log(PP_LOG_INFO, "PyCode_Type's tp_dealloc was replaced by someone else; code objects "
                            "are verified again on every sampling pass");
        return -1;
    }
    __atomic_store_n(at, counting_dealloc, __ATOMIC_SEQ_CST);
    atomic_store(&installed, 1);
    return 0;
}

int pp_code_frees_setup(const pp_runtime *rt)
{
    static int registered;
    if (registered)
        return 0;
    if (!rt->code_type) {
        pp_log(PP_LOG_INFO, "PyCode_Type not found; code objects are verified again on every "
                            "sampling pass");
        return -1;
    }
    /* tp_dealloc follows tp_basicsize and tp_itemsize in PyTypeObject (every version's
     * Include/cpython/object.h, 3.8-3.15) */
    slot = rt->code_type + (uintptr_t)rt->layout.tp_basicsize + 2 * sizeof(int64_t);
    destructor_fn f = NULL;
    if (pp_read(&f, slot, sizeof f) != 0 || !f) {
        pp_log(PP_LOG_INFO, "PyCode_Type's tp_dealloc cannot be read; code objects are verified "
                            "again on every sampling pass");
        return -1;
    }
    atomic_store(&original, f);
    if (pp_inproc_register("code frees", install, NULL) != 0) {
        pp_log(PP_LOG_INFO, "no room for the code frees hook; code objects are verified again "
                            "on every sampling pass");
        return -1;
    }
    registered = 1;
    return 0;
}

int pp_code_frees_quiet(uint64_t *count)
{
    if (!atomic_load_explicit(&installed, memory_order_acquire))
        return -1;
    /* ended first: when equal, every deallocation counted in begun had ended by then */
    uint64_t e = atomic_load(&ended);
    *count = atomic_load(&begun);
    return e == *count;
}
