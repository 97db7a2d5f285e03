/* The library's only interposer: dlopen. While nothing watches (every CPython found by the
 * constructor, every process without DD_PROFILING_ENABLED) it is one load and an indirect jump.
 *
 * glibc's dlopen takes the caller's identity from its return address: a bare name is searched
 * along the caller's RPATH/RUNPATH, "$ORIGIN" is the caller's directory, and the object goes into
 * the caller's link-map namespace. So the wrapper passes such calls through as a sibling call
 * (the real dlopen sees the application's return address), and only a path with a '/' and no
 * '$', from a caller in the base namespace, is opened from here and then looked at: for those
 * the caller changes nothing. */
#include "late_interpreter.h"

#include <dlfcn.h>
#include <link.h>
#include <stdatomic.h>
#include <string.h>

typedef void *(*dlopen_fn)(const char *, int);
typedef int (*dladdr1_fn)(const void *, Dl_info *, void **, int);
typedef int (*dlinfo_fn)(void *, int, void *);

static _Atomic(pp_late_interpreter_cb) found_cb; /* non-NULL while watching */
static _Atomic(dlopen_fn) next_dlopen;

void pp_late_interpreter_watch(pp_late_interpreter_cb found)
{
    atomic_store(&found_cb, found);
}

static dlopen_fn real_dlopen(void)
{
    dlopen_fn f = atomic_load_explicit(&next_dlopen, memory_order_relaxed);
    if (!f) {
        f = (dlopen_fn)dlsym(RTLD_NEXT, "dlopen");
        atomic_store_explicit(&next_dlopen, f, memory_order_relaxed);
    }
    return f;
}

static int caller_independent(const char *file)
{
    return file && strchr(file, '/') && !strchr(file, '$');
}

/* dladdr1 and dlinfo are looked up at run time so the library references no versioned symbol
 * for them (glibc 2.34 moved them into libc with new versions). */
__attribute__((noinline)) static int in_base_namespace(const void *caller)
{
    static _Atomic(dladdr1_fn) addr1;
    static _Atomic(dlinfo_fn) info;
    if (!atomic_load(&addr1) || !atomic_load(&info)) {
        atomic_store(&addr1, (dladdr1_fn)dlsym(RTLD_DEFAULT, "dladdr1"));
        atomic_store(&info, (dlinfo_fn)dlsym(RTLD_DEFAULT, "dlinfo"));
    }
    dladdr1_fn a = atomic_load(&addr1);
    dlinfo_fn i = atomic_load(&info);
    Dl_info dli;
    void *map = NULL;
    Lmid_t ns = -1;
    int base = a && i && a(caller, &dli, &map, RTLD_DL_LINKMAP) && map &&
               i(map, RTLD_DI_LMID, &ns) == 0 && ns == LM_ID_BASE;
    if (!base)
        dlerror(); /* our failed lookup must not show in the application's dlerror() */
    return base;
}

__attribute__((noinline)) static void *open_and_look(const char *file, int mode)
{
    dlopen_fn next = real_dlopen();
    void *handle = next ? next(file, mode) : NULL;
    if (!handle || !atomic_load(&found_cb))
        return handle;
    /* The handle's scope: the object and its dependencies, however it was opened (RTLD_LOCAL). */
    if (!dlsym(handle, "_PyRuntime")) {
        dlerror(); /* the application's dlopen succeeded: no error of ours for its dlerror() */
        return handle;
    }
    pp_late_interpreter_cb cb = atomic_exchange(&found_cb, (pp_late_interpreter_cb)NULL);
    if (cb) {
        cb();
        dlerror(); /* nor of the runtime lookup's, when the object was opened RTLD_LOCAL */
    }
    return handle;
}

/* Exported by exports.map. */
__attribute__((visibility("default"))) void *dlopen(const char *file, int mode)
{
    if (atomic_load_explicit(&found_cb, memory_order_acquire) && caller_independent(file) &&
        in_base_namespace(__builtin_return_address(0)))
        return open_and_look(file, mode);
    dlopen_fn next = real_dlopen();
    return next ? next(file, mode) : NULL;
}
