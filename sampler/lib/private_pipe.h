/* The sampler thread's cheapest fault-proof copy of scattered ranges of this process's memory:
 * writev from the ranges into a pipe, then readv back into place. The kernel copies them with
 * copy_from_user, which turns a bad address into EFAULT exactly as process_vm_readv does, but it
 * does not pin each page the ranges touch. Pinning is process_vm_readv's cost: about 0.4 µs a
 * page on the benchmark machine, so a batch of thread states or frame objects on 20 pages costs
 * 8 µs there and 3 µs through the pipe. One large contiguous range is still cheaper through
 * process_vm_readv (the pipe copies twice and allocates a page per 4 KiB); safe_read.c chooses.
 *
 * Writing is never harmless to a descriptor the application took over (our memory would go into
 * its file or socket), so the pipe lives in a descriptor table of the sampler thread's own:
 * close_range(CLOSE_RANGE_UNSHARE) over every number gives the thread a new, empty table without
 * copying (and so without later closing or flushing) any of the application's descriptors. The
 * application can neither see, close nor reuse the pipe's numbers, and a fork child never
 * inherits them. Everything else the thread opens from then on lands in that table too, and its
 * stderr lines go to the application's current stderr through log.c. Without close_range (Linux
 * before 5.9, or a seccomp profile refusing it) there is no pipe and reads are as before.
 *
 * Memory: the pipe holds at most one batch, and only during the call (it is empty in between);
 * its capacity is what the kernel granted (PP_PIPE_WANT_BYTES asked). */
#ifndef PODPROF_SAMPLER_PRIVATE_PIPE_H
#define PODPROF_SAMPLER_PRIVATE_PIPE_H

#include <stddef.h>
#include <sys/types.h>
#include <sys/uio.h>

/* Capacity asked for: the largest batch the sampler reads at once (PP_READ_BATCH ranges of thread
 * states, frame objects or interpreter fields) fits many times. */
#define PP_PIPE_WANT_BYTES (64u << 10)

/* Moves the calling thread to a descriptor table of its own and opens the pipe there. Once per
 * thread (the sampler thread, first thing). Returns PP_PIPE_OPEN; PP_PIPE_SHARED_TABLE when the
 * thread keeps the shared table (close_range refused or missing), or PP_PIPE_NONE when the table
 * is its own but the pipe could not be made there: either way there is no pipe. */
enum { PP_PIPE_OPEN = 0, PP_PIPE_SHARED_TABLE = -1, PP_PIPE_NONE = -2 };
int pp_private_pipe_open(void);

/* Bytes one copy may move at most; 0 when the calling thread has no pipe. */
size_t pp_private_pipe_capacity(void);

/* Copies the ranges src[0..n) into dst[0..n) (the same lengths, in total at most the capacity),
 * in order: returns how many bytes arrived, always a prefix (every range up to the first bad one,
 * maybe part of that), or -1 when the pipe failed (it is then closed for good). */
ssize_t pp_private_pipe_copy(const struct iovec *dst, const struct iovec *src, size_t n);

#endif
