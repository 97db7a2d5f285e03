/* The GIL wait span table (gil_spans.h). */
#include "gil_spans.h"

#include <pthread.h>
#include <stdatomic.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "log.h"

/* 32 KiB: tids are dense, so live threads rarely share a slot; a shared slot only costs walks. */
#define SLOTS 4096u
#define OPEN 1u
/* glibc stores the values of the first 32 keys in struct pthread itself; a larger key's first
 * value allocates its second-level block, which a hook must not do. */
#define KEYS_STORED_INLINE 32u

static _Atomic uint64_t slots[SLOTS];
static atomic_int spans_on;
static pthread_key_t exit_key;

/* initial-exec: the library is preloaded, its TLS is static (no allocation, no lock) */
#define TLS __thread __attribute__((tls_model("initial-exec")))
static TLS int32_t my_tid;   /* 0 until the thread's first span */
static TLS uint64_t my_word; /* the open word this thread wrote, 0 when no span is open */

static _Atomic uint64_t *slot_of(int32_t tid)
{
    return &slots[(uint32_t)tid % SLOTS];
}

static uint64_t pack(int32_t tid, uint64_t counter)
{
    return (uint64_t)(uint32_t)tid << 32 | (counter & 0x7fffffffu) << 1 | OPEN;
}

/* Clears the open bit of this thread's word if the slot still holds it. The release fence keeps
 * what the thread does next (its frames once it runs) from being seen before the close. */
static void close_own(void)
{
    uint64_t w = my_word;
    if (!w)
        return;
    my_word = 0;
    atomic_compare_exchange_strong_explicit(slot_of(my_tid), &w, w & ~(uint64_t)OPEN,
                                            memory_order_seq_cst, memory_order_relaxed);
    atomic_thread_fence(memory_order_release);
}

static void thread_exit(void *value)
{
    (void)value;
    close_own();
}

/* A fork child has only the forking thread, which holds the GIL (no span of its own) and has a
 * new tid; the spans of the parent's other threads end with them. */
static void after_fork_child(void)
{
    my_tid = 0;
    my_word = 0;
    for (uint32_t i = 0; i < SLOTS; i++) {
        uint64_t w = atomic_load_explicit(&slots[i], memory_order_relaxed);
        if (w & OPEN)
            atomic_store_explicit(&slots[i], w & ~(uint64_t)OPEN, memory_order_relaxed);
    }
}

int pp_gil_spans_setup(void)
{
    if (pthread_key_create(&exit_key, thread_exit) != 0)
        return -1;
    if ((unsigned)exit_key >= KEYS_STORED_INLINE) {
        pthread_key_delete(exit_key);
        pp_log(PP_LOG_DEBUG, "GIL wait spans: no thread-specific key free below %u; off",
               KEYS_STORED_INLINE);
        return -1;
    }
    pthread_atfork(NULL, NULL, after_fork_child);
    atomic_store_explicit(&spans_on, 1, memory_order_release);
    return 0;
}

uint64_t pp_gil_span_enter(void)
{
    if (my_word || !atomic_load_explicit(&spans_on, memory_order_relaxed))
        return 0;
    if (!my_tid) {
        my_tid = (int32_t)syscall(SYS_gettid);
        /* the destructor runs only for a non-NULL value */
        pthread_setspecific(exit_key, &my_tid);
    }
    _Atomic uint64_t *slot = slot_of(my_tid);
    uint64_t w = atomic_load_explicit(slot, memory_order_relaxed), next;
    do
        next = pack(my_tid, (w >> 1) + 1);
    while (!atomic_compare_exchange_weak_explicit(slot, &w, next, memory_order_seq_cst,
                                                  memory_order_relaxed));
    my_word = next;
    return next;
}

void pp_gil_span_leave(int gil_free)
{
    if (gil_free)
        close_own();
}

uint64_t pp_gil_span_word(int32_t tid)
{
    /* what the sampler read of the thread before this load (its previous walk) is complete */
    atomic_thread_fence(memory_order_acquire);
    uint64_t w = atomic_load_explicit(slot_of(tid), memory_order_acquire);
    return (w & OPEN) && (int32_t)(uint32_t)(w >> 32) == tid ? w : 0;
}
