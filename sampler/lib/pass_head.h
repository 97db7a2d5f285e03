/* The reads that start every sampling pass, copied in one system call. A pass begins with small
 * reads at addresses that rarely change from one pass to the next: the runtime state, each
 * interpreter's list heads, the prefix of every thread state (and, before 3.11, the tid in each
 * thread's struct pthread). Each would be a process_vm_readv of its own, and with threads mostly
 * idle or waiting for the GIL those reads are most of a pass's system calls. The reads a pass
 * makes through its head are recorded in the order made; the next pass copies them all before it
 * starts, with one iovec each (PP_READ_BATCH per system call), and a read that asks for exactly
 * the address and length of a range that was copied is served from the copy. Anything else (a
 * new thread, a thread gone, another chain, a range that failed) is read on its own, as without
 * the batch; what the pass read, served or not, is the next pass's plan. Nothing is assumed from
 * the plan: the caller still follows the pointers it reads and checks what it checked before. The
 * copies are older than a read made at their turn, by up to a pass; what a caller may use them
 * for is its own concern (sampler.c reads a thread state again, with its stack, before a walk). */
#ifndef PODPROF_SAMPLER_PASS_HEAD_H
#define PODPROF_SAMPLER_PASS_HEAD_H

#include <stddef.h>
#include <stdint.h>

/* Ranges and bytes one pass plans at most (64 threads before 3.11 take 130 ranges, 21 KiB);
 * reads beyond are made one by one. */
#define PP_PASS_HEAD_RANGES 1024
#define PP_PASS_HEAD_BYTES (256u << 10)

typedef struct pp_pass_head pp_pass_head;

pp_pass_head *pp_pass_head_new(void);
void pp_pass_head_free(pp_pass_head *h);

/* Starts a pass: the previous pass's reads become this pass's plan and, when batch is set, are
 * copied now (batch 0: nothing is served, every read is made on its own and recorded). */
void pp_pass_head_start(pp_pass_head *h, int batch);

/* Serves len bytes at addr from this pass's copies when a range of exactly that address and length
 * was planned and copied, and records the read for the next pass: 0. Else -1, nothing recorded
 * (a caller that then reads it itself records it with pp_pass_head_note when that succeeds). */
int pp_pass_head_take(pp_pass_head *h, void *dst, uintptr_t addr, size_t len);
void pp_pass_head_note(pp_pass_head *h, uintptr_t addr, size_t len);

/* A pp_read_fn (ctx: the pass head): served by pp_pass_head_take, else read with pp_read and
 * recorded when that succeeds. */
int pp_pass_head_read(void *ctx, void *dst, uintptr_t addr, size_t len);

#endif
