/* Cost of the sampler's fault-free copy, per mode and size, against plain memcpy for scale, and
 * what the /proc/self/mem fallback adds per sampling pass (open, position mark, identity check,
 * close). Prints ns per read; `make bench` runs it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "safe_read.h"

#define ROUNDS 20000

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
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
    return 0;
}
