#include "safe_read.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "own_fd.h"
#include "private_pipe.h"
#include "read_plan.h"

/* The fallback's descriptor is /proc/self/mem, opened for one sampling pass at most: pread on it
 * copies this process's memory through the kernel and fails (EIO) on an unmapped address.
 * Opened by the first read after a release and closed by pp_safe_read_release, which the sampler
 * calls before every sleep, so it is never held between passes. A number the application closed and
 * reused meanwhile is never harmful to it: pread never consumes data from a pipe, socket or other
 * stream (ESPIPE) and never moves a file's position; the number is checked before it is closed
 * (own_fd.c). */
#define PROC_MEM "/proc/self/mem"
/* The position the descriptor is left at ("podprof"), which tells it from any other open of
 * /proc/self/mem: reads use pread and never move it. */
#define MEM_MARK 0x706f6470726f66LL

static pid_t self_pid;
/* The reading thread's own tid, set by pp_safe_read_bind_thread: process_vm_readv names the
 * process by any of its threads, and the process id is its main thread's, which stops naming a
 * live task once that thread has ended (a C main that calls pthread_exit while others run). A
 * thread's own tid names this process for as long as the thread runs. 0: use self_pid. */
static __thread pid_t reader_tid __attribute__((tls_model("initial-exec")));

static pid_t target(void)
{
    return reader_tid ? reader_tid : self_pid;
}

void pp_safe_read_bind_thread(void)
{
    reader_tid = (pid_t)syscall(SYS_gettid);
}
/* What the calling thread's reads cost: system calls made and bytes copied (the sampler thread
 * reports its own in each profile's counters). Thread-local, so counting needs no atomics. */
static __thread pp_read_stats stats __attribute__((tls_model("initial-exec")));

void pp_safe_read_stats(pp_read_stats *out)
{
    *out = stats;
}

static pp_read_mode mode = PP_READ_VM;
static pp_own_fd mem = {-1, 0, 0, 0, -1};
static pid_t mem_pid; /* the process mem was opened in: a fork child inherits its parent's */

/* Copies ranges remote[0..n) into local[0..n) with one process_vm_readv; returns the bytes copied
 * (a prefix of the ranges) or -1. */
static ssize_t vm_copy(const struct iovec *local, const struct iovec *remote, size_t n)
{
    ssize_t got = process_vm_readv(target(), local, n, remote, n, 0);
    stats.calls++;
    return got;
}

/* The same through the sampler thread's private pipe (a write and a read). */
static ssize_t pipe_copy(const struct iovec *local, const struct iovec *remote, size_t n)
{
    ssize_t got = pp_private_pipe_copy(local, remote, n);
    stats.calls += 2;
    stats.pipe_calls += 2;
    return got;
}

/* The kernel's page size (process_vm_readv pins, and a pipe buffers, one page at a time), as a
 * shift; 4 KiB until pp_safe_read_init asks. */
static unsigned page_shift = 12;

static void learn_page_size(void)
{
    long size = sysconf(_SC_PAGESIZE);
    if (size >= 4096 && (size & (size - 1)) == 0)
        page_shift = (unsigned)__builtin_ctzl((unsigned long)size);
}

/* Pages a range touches. */
static size_t pages_of(uintptr_t addr, size_t len)
{
    return ((addr + len - 1) >> page_shift) - (addr >> page_shift) + 1;
}

/* The cheaper copier for ranges that touch `pages` pages and hold `bytes` bytes in all. On the
 * benchmark machine process_vm_readv costs about 1 µs a call and 0.4 µs a page touched (it pins
 * each), the pipe about 1 µs a call and 0.7 µs a page copied (it allocates, fills and frees one
 * per page): so the pipe takes small reads and scattered ranges (thread states, frame objects:
 * a page each for a few hundred bytes), process_vm_readv long runs (a thread's stack). Either is
 * fault-proof; only the sampler thread has a pipe, NULL: neither (pread /proc/self/mem). */
typedef ssize_t (*copy_fn)(const struct iovec *local, const struct iovec *remote, size_t n);
static copy_fn copier(size_t pages, size_t bytes)
{
    size_t cap = pp_private_pipe_capacity(), page = (size_t)1 << page_shift;
    if (cap && bytes <= cap && (bytes <= page || pages >= 2 * ((bytes + page - 1) / page)))
        return pipe_copy;
    return mode == PP_READ_VM ? vm_copy : NULL;
}

/* A range more through the pipe costs about what copying 300 bytes does. */
#define PIPE_MERGE_GAP 256

size_t pp_read_merge_gap(void)
{
    return pp_private_pipe_capacity() ? PIPE_MERGE_GAP : PP_MERGE_GAP;
}

void pp_safe_read_release(void)
{
    if (mem.fd >= 0)
        pp_own_close(&mem);
}

static int mem_fd(void)
{
    if (mem.fd >= 0 && mem_pid == self_pid)
        return mem.fd;
    pp_safe_read_release();
    if (pp_own_open(&mem, PROC_MEM, O_RDONLY, 0) != 0 || pp_own_mark(&mem, MEM_MARK) != 0)
        return -1;
    mem_pid = self_pid;
    return mem.fd;
}

static int read_mem(void *dst, uintptr_t addr, size_t len)
{
    int fd = mem_fd();
    if (fd < 0 || addr > (uintptr_t)INT64_MAX - len)
        return -1;
    ssize_t n = pread(fd, dst, len, (off_t)addr);
    stats.calls++;
    if (n < 0 && (errno == EBADF || errno == ESPIPE) && !pp_own_check(&mem)) {
        /* the application closed our number (and maybe opened a stream on it): a new one */
        if ((fd = mem_fd()) < 0)
            return -1;
        n = pread(fd, dst, len, (off_t)addr);
        stats.calls++;
    }
    stats.bytes += n > 0 ? (uint64_t)n : 0;
    return n == (ssize_t)len ? 0 : -1;
}

/* One range through copy (the pipe, process_vm_readv) or, without one, /proc/self/mem. */
static int read_one(void *dst, uintptr_t addr, size_t len)
{
    copy_fn copy = copier(pages_of(addr, len), len);
    struct iovec local = {dst, len};
    struct iovec remote = {(void *)addr, len};
    ssize_t n = copy ? copy(&local, &remote, 1) : -1;
    if (n < 0 && copy == pipe_copy) /* the pipe failed for good: without it */
        return read_one(dst, addr, len);
    if (!copy)
        return read_mem(dst, addr, len);
    stats.bytes += n > 0 ? (uint64_t)n : 0;
    return n == (ssize_t)len ? 0 : -1;
}

static int probe(pp_read_mode m)
{
    uint64_t value = 0x706f6470726f66, copy = 0;
    mode = m;
    int ok = pp_read(&copy, (uintptr_t)&value, sizeof value) == 0 && copy == value;
    pp_safe_read_release();
    return ok ? 0 : -1;
}

int pp_safe_read_init(void)
{
    learn_page_size();
    self_pid = getpid();
    pp_safe_read_release(); /* a fork child's copy of its parent's descriptor */
    if (probe(PP_READ_VM) == 0)
        return 0;
    return probe(PP_READ_PROC_MEM);
}

int pp_safe_read_force(pp_read_mode m)
{
    self_pid = getpid();
    pp_safe_read_release();
    return probe(m);
}

pp_read_mode pp_safe_read_mode(void)
{
    return mode;
}

static int plausible(uintptr_t addr, size_t len)
{
    return addr >= 4096 && addr + len >= addr;
}

/* Ranges idx[from..k) of reqs, one call each: through /proc/self/mem, or what is left of a group
 * whose pipe failed for good. */
static size_t read_each(pp_read_req *reqs, const size_t *idx, size_t from, size_t k)
{
    size_t copied = 0;
    for (size_t j = from; j < k; j++) {
        pp_read_req *r = &reqs[idx[j]];
        r->ok = read_one(r->dst, r->addr, r->len) == 0;
        copied += (size_t)r->ok;
    }
    return copied;
}

/* One group of ranges (at most PP_READ_BATCH) with as few calls as the copier allows. Both copiers
 * stop at the first range they cannot copy, so the bytes returned say which ranges arrived; the
 * first one short is copied again alone (the pipe may have stopped at a later range in the same
 * page) and the rest go on after it. */
static size_t read_group(copy_fn copy, struct iovec *local, struct iovec *remote, pp_read_req *reqs,
                         const size_t *idx, size_t k)
{
    size_t copied = 0, j = 0;
    while (j < k) {
        ssize_t got = copy(local + j, remote + j, k - j);
        if (got < 0 && copy == pipe_copy) /* the pipe failed for good: the rest without it */
            return copied + read_each(reqs, idx, j, k);
        size_t left = got > 0 ? (size_t)got : 0;
        stats.bytes += left;
        while (j < k && left >= local[j].iov_len) {
            left -= local[j].iov_len;
            reqs[idx[j++]].ok = 1;
            copied++;
        }
        if (j == k)
            break;
        if (k - j > 1) /* (alone, it has just been tried) */
            copied += read_each(reqs, idx, j, j + 1);
        j++;
    }
    return copied;
}

size_t pp_read_many(pp_read_req *reqs, size_t n)
{
    struct iovec local[PP_READ_BATCH], remote[PP_READ_BATCH];
    size_t copied = 0, i = 0;
    while (i < n) {
        size_t k = 0, idx[PP_READ_BATCH], pages = 0, bytes = 0;
        for (; i < n && k < PP_READ_BATCH; i++) {
            reqs[i].ok = reqs[i].len == 0;
            copied += (size_t)reqs[i].ok;
            if (reqs[i].len == 0 || !plausible(reqs[i].addr, reqs[i].len))
                continue;
            local[k] = (struct iovec){reqs[i].dst, reqs[i].len};
            remote[k] = (struct iovec){(void *)reqs[i].addr, reqs[i].len};
            pages += pages_of(reqs[i].addr, reqs[i].len);
            bytes += reqs[i].len;
            idx[k++] = i;
        }
        copy_fn copy = copier(pages, bytes);
        /* (without one, /proc/self/mem: one pread per range, as preadv scatters one file range,
         * not many) */
        copied += copy ? read_group(copy, local, remote, reqs, idx, k) : read_each(reqs, idx, 0, k);
    }
    return copied;
}

int pp_read_batches(void)
{
    return mode == PP_READ_VM || pp_private_pipe_capacity() > 0;
}

int pp_read_fields_with(pp_read_fn read, void *ctx, uintptr_t base, const pp_field *f, size_t n)
{
    if (n == 0)
        return 0;
    int64_t lo = f[0].offset, hi = f[0].offset + (int64_t)f[0].size;
    for (size_t i = 1; i < n; i++) {
        lo = f[i].offset < lo ? f[i].offset : lo;
        hi = f[i].offset + (int64_t)f[i].size > hi ? f[i].offset + (int64_t)f[i].size : hi;
    }
    uint8_t b[PP_FIELDS_SPAN];
    if (hi - lo > (int64_t)sizeof b) {
        if (!read && n <= PP_READ_BATCH) {
            /* fields far apart (a type's): one system call where reads batch */
            pp_read_req reqs[PP_READ_BATCH];
            for (size_t i = 0; i < n; i++)
                reqs[i] =
                    (pp_read_req){f[i].dst, base + (uintptr_t)(intptr_t)f[i].offset, f[i].size, 0};
            return pp_read_many(reqs, n) == n ? 0 : -1;
        }
        for (size_t i = 0; i < n; i++)
            if (pp_read_with(read, ctx, f[i].dst, base + (uintptr_t)(intptr_t)f[i].offset,
                             f[i].size) != 0)
                return -1;
        return 0;
    }
    if (pp_read_with(read, ctx, b, base + (uintptr_t)(intptr_t)lo, (size_t)(hi - lo)) != 0)
        return -1;
    for (size_t i = 0; i < n; i++)
        memcpy(f[i].dst, b + (f[i].offset - lo), f[i].size);
    return 0;
}

int pp_read_fields(uintptr_t base, const pp_field *f, size_t n)
{
    return pp_read_fields_with(NULL, NULL, base, f, n);
}

int pp_read(void *dst, uintptr_t addr, size_t len)
{
    if (len == 0)
        return 0;
    if (!plausible(addr, len))
        return -1;
    return read_one(dst, addr, len);
}
