/* Allocator wrappers and the allocating thread's own stack capture (alloc_hooks.h). */
#include "alloc_hooks.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "byte_sampling.h"
#include "frame_reader.h"
#include "inproc_hooks.h"
#include "log.h"
#include "own_stack.h"

typedef struct domain_hook {
    pp_mem_allocator orig; /* the allocator wrapped, called for everything */
    uint8_t domain;
} domain_hook;

static domain_hook domains[3];
static pp_alloc_hooks_options opts;
static pp_py_layout layout;
static const pp_capi *capi;
static pp_alloc_ring *ring;
static pp_live_heap *heap;
static atomic_int installed;

/* Per thread: bytes left before the next sample point. initial-exec: the library is loaded at
 * start-up (LD_PRELOAD), so its TLS is static and an access is one instruction. */
typedef struct thread_sampling {
    int64_t until;
    uint64_t rng;
    uint8_t seeded;
} thread_sampling;
static __thread thread_sampling tls __attribute__((tls_model("initial-exec")));

static int64_t draw(void)
{
    return (int64_t)(pp_exp_draw(&tls.rng, opts.mean_bytes) + 0.5);
}

/* The countdown crossed zero: does a sample point fall in this allocation? */
static __attribute__((noinline)) int crossed(void)
{
    if (!tls.seeded) {
        /* A thread's first allocation: its first point is a full draw from its first byte. */
        tls.seeded = 1;
        tls.rng = pp_rng_thread_seed(&tls);
        tls.until += draw();
        if (tls.until > 0)
            return 0;
    }
    /* Memoryless: the next point is a fresh draw from the end of this allocation. */
    tls.until = draw();
    return 1;
}

static inline int count(size_t size)
{
    tls.until -= (int64_t)size;
    return __builtin_expect(tls.until <= 0, 0) ? crossed() : 0;
}

static __attribute__((noinline)) void sampled(const domain_hook *d, void *p, size_t size)
{
    pp_alloc_record *rec = pp_alloc_ring_claim(ring);
    if (!rec)
        return;
    rec->ptr = (uintptr_t)p;
    rec->size = size;
    rec->domain = d->domain;
    pp_own_stack_capture(&layout, capi->tstate_current(), rec, ring->max_frames);
    rec->heap_slot = heap ? (int32_t)pp_live_heap_insert(heap, (uintptr_t)p, size, rec->seq) : -1;
    pp_alloc_ring_publish(ring, rec);
}

static void *hook_malloc(void *ctx, size_t size)
{
    const domain_hook *d = ctx;
    void *p = d->orig.malloc(d->orig.ctx, size);
    if (p && count(size))
        sampled(d, p, size);
    return p;
}

static void *hook_calloc(void *ctx, size_t nelem, size_t elsize)
{
    const domain_hook *d = ctx;
    void *p = d->orig.calloc(d->orig.ctx, nelem, elsize);
    if (p && count(nelem * elsize))
        sampled(d, p, nelem * elsize);
    return p;
}

static void *hook_realloc(void *ctx, void *ptr, size_t new_size)
{
    const domain_hook *d = ctx;
    /* Untracked before the block can be handed to another thread; a failed realloc (the old
     * block still live) then goes untracked, which only loses one sample. */
    if (ptr && heap)
        pp_live_heap_remove(heap, (uintptr_t)ptr);
    void *p = d->orig.realloc(d->orig.ctx, ptr, new_size);
    if (p && count(new_size))
        sampled(d, p, new_size);
    return p;
}

static void hook_free(void *ctx, void *ptr)
{
    const domain_hook *d = ctx;
    if (ptr && heap)
        pp_live_heap_remove(heap, (uintptr_t)ptr);
    d->orig.free(d->orig.ctx, ptr);
}

static int wrap(const pp_capi *api, int domain)
{
    domain_hook *d = &domains[domain];
    d->domain = (uint8_t)domain;
    api->mem_get_allocator(domain, &d->orig);
    if (!d->orig.malloc || !d->orig.calloc || !d->orig.realloc || !d->orig.free)
        return -1;
    pp_mem_allocator hook = {d, hook_malloc, hook_calloc, hook_realloc, hook_free};
    api->mem_set_allocator(domain, &hook);
    return 0;
}

static int install(const pp_capi *api, void *ctx)
{
    (void)ctx;
    capi = api;
    if (wrap(api, PP_MEM_DOMAIN_OBJ) != 0 ||
        (opts.mem_domain && wrap(api, PP_MEM_DOMAIN_MEM) != 0)) {
        pp_log(PP_LOG_WARN, "the interpreter's allocator cannot be wrapped; no memory profiles");
        return -1;
    }
    atomic_store(&installed, 1);
    return 0;
}

static void ring_after_fork(void)
{
    if (ring)
        pp_alloc_ring_reset(ring);
}

int pp_alloc_hooks_setup(const pp_runtime *rt, const pp_alloc_hooks_options *opt)
{
    opts = *opt;
    layout = rt->layout;
    pp_rng_seed_process();
    ring = pp_alloc_ring_new(opts.ring_records, opts.max_frames, 0);
    heap = opts.heap ? pp_live_heap_new(opts.heap_slots) : NULL;
    if (!ring || (opts.heap && !heap)) {
        pp_log(PP_LOG_WARN, "out of memory for the memory profiles; not recording allocations");
        return -1;
    }
    pthread_atfork(NULL, NULL, ring_after_fork);
    return pp_inproc_register("allocator", install, NULL);
}

pp_alloc_ring *pp_alloc_hooks_ring(void)
{
    return ring;
}

pp_live_heap *pp_alloc_hooks_heap(void)
{
    return heap;
}

int pp_alloc_hooks_installed(void)
{
    return atomic_load(&installed);
}
