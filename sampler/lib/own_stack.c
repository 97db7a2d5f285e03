/* The calling thread's own stack, read in place (own_stack.h). */
#include "own_stack.h"

#include <pthread.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "frame_reader.h"
#include "inproc_hooks.h"
#include "log.h"
#include "thread_clock.h"

/* The calling thread's kernel tid, on versions whose thread state lacks it: glibc's own record
 * of the thread (struct pthread, where the sampler found it), which a fork child's is updated in;
 * a tid cached per thread would name the parent's thread in the child. A system call only when
 * that record's place is unknown. */
static int32_t own_kernel_tid(void)
{
    int32_t tid = 0;
    uintptr_t at = pp_tid_field((uint64_t)pthread_self());
    if (at)
        memcpy(&tid, (const void *)at, sizeof tid);
    return tid > 0 ? tid : (int32_t)syscall(SYS_gettid);
}

/* The thread's own frames and the code objects they hold are read in place. */
static const void *own_view(void *ctx, void *scratch, uintptr_t addr, size_t len)
{
    (void)ctx;
    (void)scratch;
    (void)len;
    return addr < 4096 ? NULL : (const void *)addr;
}

static uintptr_t own_top_frame(const pp_py_layout *layout, uintptr_t ts)
{
    uintptr_t frame;
    memcpy(&frame, (const void *)(ts + (uintptr_t)layout->ts_frame), sizeof frame);
    if (layout->ts_cframe_frame >= 0 && frame) /* 3.11, 3.12: through _PyCFrame */
        memcpy(&frame, (const void *)(frame + (uintptr_t)layout->ts_cframe_frame), sizeof frame);
    return frame;
}

void pp_own_stack_capture(const pp_py_layout *layout, void *tstate, pp_alloc_record *rec,
                          size_t max_frames)
{
    uintptr_t ts = (uintptr_t)tstate;
    rec->thread_id = (uint64_t)pthread_self();
    int32_t tid = 0;
    if (ts && layout->ts_native_id >= 0)
        memcpy(&tid, (const void *)(ts + (uintptr_t)layout->ts_native_id), sizeof tid);
    if (tid <= 0)
        tid = own_kernel_tid();
    rec->native_id = tid;
    size_t raw = 0, omitted = 0;
    uintptr_t top = ts ? own_top_frame(layout, ts) : 0;
    pp_walk_buf b = {.cap = max_frames,
                     .code = rec->code,
                     .where = rec->where,
                     .owner = rec->owner,
                     .tlbc = rec->tlbc,
                     .name = rec->name};
    if (top && pp_walk_raw(layout, own_view, NULL, top, &b, &raw, &omitted) != PP_WALK_OK)
        raw = omitted = 0;
    rec->n_raw = (uint32_t)raw;
    rec->n_omitted = (uint32_t)omitted;
}

int pp_waiter_api_resolve(const pp_runtime *rt, pp_waiter_api *api, const char *what)
{
    /* Py_IsFinalizing is public from 3.13; _Py_IsFinalizing before (removed in 3.13). */
    const char *names[2] = {"PyGILState_GetThisThreadState",
                            rt->hexversion >= 0x030d0000 ? "Py_IsFinalizing" : "_Py_IsFinalizing"};
    uintptr_t addrs[2];
    if (pp_inproc_lookup(rt, names, addrs, 2) != 0) {
        pp_log(PP_LOG_WARN, "CPython's %s not found; no %s", addrs[0] ? names[1] : names[0], what);
        return -1;
    }
    /* Casting object pointers to function pointers is how dlsym is used (POSIX). */
    api->this_thread = (void *(*)(void))addrs[0];
    api->finalizing = (int (*)(void))addrs[1];
    return 0;
}

pp_alloc_record *pp_own_stack_claim(pp_alloc_ring *ring, const pp_py_layout *layout,
                                    const pp_waiter_api *api, int python_only)
{
    if (api->finalizing())
        return NULL;
    void *tstate = api->this_thread();
    if (python_only && (!tstate || !own_top_frame(layout, (uintptr_t)tstate)))
        return NULL;
    pp_alloc_record *rec = pp_alloc_ring_claim(ring);
    if (!rec)
        return NULL;
    rec->ptr = 0;
    rec->size = 0;
    rec->domain = 0;
    rec->heap_slot = -1;
    pp_own_stack_capture(layout, tstate, rec, ring->max_frames);
    return rec;
}
