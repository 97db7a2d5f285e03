/* Runs a command with some system calls refused (EPERM) by a seccomp filter, as container seccomp
 * profiles refuse them: Docker's default refuses process_vm_readv to a container without
 * CAP_SYS_PTRACE (the case the library's /proc/self/mem fallback is for), and a profile older than
 * Linux 5.9 knows nothing of close_range (the case the sampler thread keeps the shared descriptor
 * table for, without its private pipe).
 *
 *     refuse_syscalls NAME[,NAME...] COMMAND [ARG...]    (NAME: process_vm_readv, close_range) */
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#if defined(__x86_64__)
#define THIS_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define THIS_ARCH AUDIT_ARCH_AARCH64
#endif
#ifndef __NR_close_range
#define __NR_close_range 436
#endif

static const struct {
    const char *name;
    unsigned nr;
} known[] = {{"process_vm_readv", __NR_process_vm_readv}, {"close_range", __NR_close_range}};
#define MAX_REFUSED 8

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: refuse_syscalls NAME[,NAME...] COMMAND [ARG...]\n");
        return 2;
    }
    unsigned refused[MAX_REFUSED];
    size_t n = 0;
    for (char *name = strtok(argv[1], ","); name; name = strtok(NULL, ",")) {
        size_t k = 0;
        while (k < sizeof known / sizeof known[0] && strcmp(known[k].name, name) != 0)
            k++;
        if (k == sizeof known / sizeof known[0] || n == MAX_REFUSED) {
            fprintf(stderr, "refuse_syscalls: unknown system call %s\n", name);
            return 2;
        }
        refused[n++] = known[k].nr;
    }
    /* arch check, load nr, one test-and-refuse pair per call, allow */
    struct sock_filter filter[3 + 2 * MAX_REFUSED + 1];
    size_t f = 0;
    filter[f++] =
        (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch));
    filter[f++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, THIS_ARCH, 1, 0);
    filter[f++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS);
    filter[f++] =
        (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr));
    for (size_t i = 0; i < n; i++) {
        filter[f++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, refused[i], 0, 1);
        filter[f++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM);
    }
    filter[f++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
    struct sock_fprog prog = {(unsigned short)f, filter};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
        prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0) {
        perror("refuse_syscalls: seccomp");
        return 2;
    }
    execvp(argv[2], argv + 2);
    perror("refuse_syscalls: exec");
    return 127;
}
