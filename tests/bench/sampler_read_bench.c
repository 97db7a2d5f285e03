/* Cost of the sampler's fault-free copy, per mode and size, against plain memcpy for scale, and
 * what the /proc/self/mem fallback adds per sampling pass (open, position mark, identity check,
 * close). Then batches of scattered ranges, one per page (thread states, frame objects) and one
 * long range (a stack), through process_vm_readv and through the sampler thread's private pipe,
 * side by side (the pipe thread uses what safe_read.c chooses for the shape: the pipe for scattered
 * ranges, process_vm_readv for long ones). Prints ns per read or batch, of
 * the reading thread's CPU for the batches; `make bench` runs it. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "private_pipe.h"
#include "safe_read.h"

#define ROUNDS 20000

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static double cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* Batch shapes: ranges of len bytes, each on a page of its own (ranges 1: one long range). */
static const struct {
    size_t ranges, len;
} shapes[] = {{1, 200},  {9, 200},  {20, 450}, {50, 112},
              {50, 450}, {2, 3000}, {1, 6000}, {1, 60000}};
#define N_SHAPES (sizeof shapes / sizeof *shapes)
#define BATCH_ROUNDS 5000

/* CPU ns per batch of each shape through pp_read_many on the calling thread. */
static void time_batches(double *out)
{
    static char mem[64 * 4096 + 65536], dst[64 * 4096 + 65536];
    memset(mem, 3, sizeof mem);
    for (size_t s = 0; s < N_SHAPES; s++) {
        pp_read_req reqs[64];
        for (size_t i = 0; i < shapes[s].ranges; i++)
            reqs[i] =
                (pp_read_req){dst + i * 4096, (uintptr_t)mem + i * 4096 + 64, shapes[s].len, 0};
        double t0 = cpu_ns();
        for (int r = 0; r < BATCH_ROUNDS; r++)
            if (pp_read_many(reqs, shapes[s].ranges) != shapes[s].ranges)
                exit(1);
        out[s] = (cpu_ns() - t0) / BATCH_ROUNDS;
    }
}

/* On a thread with the private pipe (it cannot print: its descriptor 1 is not stdout). */
static void *with_pipe(void *out)
{
    if (pp_private_pipe_open() != 0)
        return NULL;
    time_batches(out);
    return out;
}

static void compare_batches(void)
{
    double vm[N_SHAPES], piped[N_SHAPES];
    pthread_t t;
    void *ok = NULL;
    if (pp_safe_read_force(PP_READ_VM) != 0 || pthread_create(&t, NULL, with_pipe, piped) != 0 ||
        pthread_join(t, &ok) != 0 || !ok) {
        printf("private pipe unavailable\n");
        return;
    }
    time_batches(vm); /* this thread has no pipe: process_vm_readv */
    printf("\n%-7s %8s %18s %18s\n", "ranges", "bytes", "process_vm_readv", "pipe thread");
    for (size_t s = 0; s < N_SHAPES; s++)
        printf("%-7zu %8zu %15.0f ns %15.0f ns\n", shapes[s].ranges, shapes[s].len, vm[s],
               piped[s]);
}

int main(void)
{
    static char src[65536], dst[65536];
    memset(src, 7, sizeof src);
    const size_t sizes[] = {8, 80, 200, 4096};
    const char *names[] = {"process_vm_readv", "/proc/self/mem"};
    printf("%-18s %8s %12s %12s\n", "mode", "bytes", "ns/read", "x memcpy");
    for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) {
        double t0 = now_ns();
        for (int i = 0; i < ROUNDS; i++) {
            memcpy(dst, src + (i & 7), sizes[s]);
            __asm__ volatile("" ::: "memory");
        }
        double base = (now_ns() - t0) / ROUNDS;
        for (int m = 0; m < 2; m++) {
            if (pp_safe_read_force((pp_read_mode)m) != 0) {
                printf("%-18s unavailable\n", names[m]);
                continue;
            }
            t0 = now_ns();
            for (int i = 0; i < ROUNDS; i++)
                if (pp_read(dst, (uintptr_t)src, sizes[s]) != 0)
                    return 1;
            double ns = (now_ns() - t0) / ROUNDS;
            printf("%-18s %8zu %12.0f %12.0f\n", names[m], sizes[s], ns,
                   ns / (base > 1 ? base : 1));
        }
        /* a bad address must fail, not fault, in both modes */
        for (int m = 0; m < 2; m++)
            if (pp_safe_read_force((pp_read_mode)m) == 0 && pp_read(dst, 4096 * 3, 8) == 0)
                return 1;
    }
    /* the fallback's descriptor, opened and closed once per pass */
    if (pp_safe_read_force(PP_READ_PROC_MEM) == 0) {
        double t0 = now_ns();
        for (int i = 0; i < ROUNDS; i++) {
            if (pp_read(dst, (uintptr_t)src, 8) != 0)
                return 1;
            pp_safe_read_release();
        }
        double ns = (now_ns() - t0) / ROUNDS;
        printf("%-18s %8s %12.0f   (one 8-byte read + open/mark/check/close per pass)\n",
               "/proc/self/mem", "pass", ns);
    }
    compare_batches();
    return 0;
}
