/* Copies memory of this process that may be unmapped or freed at any moment, without ever
 * faulting: the kernel does the copy and reports a bad address as an error. Fast path:
 * process_vm_readv on our own pid, no descriptor; on the sampler thread, scattered small ranges go
 * through its private pipe instead (private_pipe.h: the same copy without pinning every page).
 * Fallback when process_vm_readv is refused (seccomp profiles such as Docker's default without
 * CAP_SYS_PTRACE): pread on /proc/self/mem, opened for one pass at most and released before the
 * sampler sleeps (and the pipe for whatever it takes). */
#ifndef PODPROF_SAMPLER_SAFE_READ_H
#define PODPROF_SAMPLER_SAFE_READ_H

#include <stddef.h>
#include <stdint.h>

typedef enum { PP_READ_VM = 0, PP_READ_PROC_MEM = 1 } pp_read_mode;

/* Picks the mode: the fast path when it works, else the fallback; -1 when neither does. Call
 * again in a fork child (it drops a descriptor inherited from the parent). */
int pp_safe_read_init(void);
/* Forces one mode (benchmarks and tests); returns -1 if it cannot work. */
int pp_safe_read_force(pp_read_mode mode);
pp_read_mode pp_safe_read_mode(void);

/* Closes the fallback's descriptor, if one is open; the next read opens it again. Called
 * whenever the library stops reading for a while (before every sleep). */
void pp_safe_read_release(void);

/* From now on the calling thread's reads name the process by the thread's own tid (the sampler
 * thread calls it first thing): they keep working after the main thread has ended. */
void pp_safe_read_bind_thread(void);

/* What the calling thread's reads have cost since it started: system calls (pipe_calls of them
 * through its private pipe, private_pipe.h) and bytes copied. */
typedef struct pp_read_stats {
    uint64_t calls, bytes, pipe_calls;
} pp_read_stats;
void pp_safe_read_stats(pp_read_stats *out);

/* The largest gap between two ranges that is cheaper to copy than to skip with a range of its
 * own, for the calling thread's reads (read_plan.h): smaller through the pipe, which copies every
 * byte twice, than through process_vm_readv, whose cost is the pages touched. */
size_t pp_read_merge_gap(void);

/* Returns 0 when all len bytes at addr were copied into dst, -1 otherwise. */
int pp_read(void *dst, uintptr_t addr, size_t len);

/* One range of a batch: ok is set to 1 when all len bytes at addr were copied into dst. */
typedef struct pp_read_req {
    void *dst;
    uintptr_t addr;
    size_t len;
    int ok;
} pp_read_req;

/* Copies many independent ranges with as few system calls as the kernel allows (one
 * process_vm_readv for up to PP_READ_BATCH ranges); a bad range fails alone. Returns how many
 * ranges were copied. */
#define PP_READ_BATCH 64
size_t pp_read_many(pp_read_req *reqs, size_t n);

/* Whether pp_read_many copies a batch in one system call on the calling thread (through
 * process_vm_readv or the thread's private pipe), not one call per range. */
int pp_read_batches(void);

/* One field of a structure: size bytes at offset, copied to dst. */
typedef struct pp_field {
    int32_t offset;
    size_t size;
    void *dst;
} pp_field;

/* Copies fields of the structure at base: in one read when they lie within PP_FIELDS_SPAN bytes,
 * else one read each. Returns 0 when every field was copied, -1 otherwise. */
#define PP_FIELDS_SPAN 256
int pp_read_fields(uintptr_t base, const pp_field *fields, size_t n);

/* A reader of this process's memory with the contract of pp_read (0: all len bytes copied), for
 * a caller that serves some reads from copies it already holds. */
typedef int (*pp_read_fn)(void *ctx, void *dst, uintptr_t addr, size_t len);
/* read(ctx, dst, addr, len), or pp_read when read is NULL. */
static inline int pp_read_with(pp_read_fn read, void *ctx, void *dst, uintptr_t addr, size_t len)
{
    return read ? read(ctx, dst, addr, len) : pp_read(dst, addr, len);
}
/* pp_read_fields with each of its reads made by read(ctx, ...) (NULL: pp_read). */
int pp_read_fields_with(pp_read_fn read, void *ctx, uintptr_t base, const pp_field *fields,
                        size_t n);

static inline int pp_read_ptr(uintptr_t addr, uintptr_t *out)
{
    return pp_read(out, addr, sizeof *out);
}

#endif
