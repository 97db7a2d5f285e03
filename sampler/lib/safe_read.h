/* Copies memory of this process that may be unmapped or freed at any moment, without ever
 * faulting: the kernel does the copy and reports a bad address as an error. Fast path:
 * process_vm_readv on our own pid. Fallback when that syscall is refused (seccomp, gVisor,
 * old kernels): write(2) the range into a private non-blocking pipe and read it back. */
#ifndef PODPROF_SAMPLER_SAFE_READ_H
#define PODPROF_SAMPLER_SAFE_READ_H

#include <stddef.h>
#include <stdint.h>

typedef enum { PP_READ_VM = 0, PP_READ_PIPE = 1 } pp_read_mode;

/* Probes the fast path and opens the fallback pipe. Call again in a fork child. */
int pp_safe_read_init(void);
/* Forces one mode (benchmarks and tests); returns -1 if it cannot work. */
int pp_safe_read_force(pp_read_mode mode);
pp_read_mode pp_safe_read_mode(void);

/* Returns 0 when all len bytes at addr were copied into dst, -1 otherwise. */
int pp_read(void *dst, uintptr_t addr, size_t len);

static inline int pp_read_ptr(uintptr_t addr, uintptr_t *out)
{
    return pp_read(out, addr, sizeof *out);
}

#endif
