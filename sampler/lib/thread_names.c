#include "thread_names.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SLOTS 1024
#define REFRESH_NS 1000000000LL

typedef struct {
    int32_t tid;
    int64_t read_at;
    char name[32];
} entry;

struct pp_thread_names {
    int32_t pid;
    char process_comm[17];
    entry slots[SLOTS];
};

static int read_comm(const char *path, char *out, size_t cap)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, out, cap - 1);
    close(fd);
    if (n <= 0)
        return -1;
    while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == '\0'))
        n--;
    out[n] = '\0';
    return 0;
}

pp_thread_names *pp_thread_names_new(void)
{
    pp_thread_names *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->pid = (int32_t)getpid();
    if (read_comm("/proc/self/comm", t->process_comm, sizeof t->process_comm) != 0)
        t->process_comm[0] = '\0';
    return t;
}

void pp_thread_names_free(pp_thread_names *t)
{
    free(t);
}

const char *pp_thread_name(pp_thread_names *t, int32_t tid, int64_t now_ns)
{
    if (tid == t->pid)
        return "MainThread";
    entry *e = &t->slots[(uint32_t)tid % SLOTS];
    if (e->tid == tid && now_ns - e->read_at < REFRESH_NS)
        return e->name;
    e->tid = tid;
    e->read_at = now_ns;
    char path[64], comm[17];
    snprintf(path, sizeof path, "/proc/self/task/%d/comm", (int)tid);
    if (tid > 0 && read_comm(path, comm, sizeof comm) == 0 && comm[0] &&
        strcmp(comm, t->process_comm) != 0)
        snprintf(e->name, sizeof e->name, "%s", comm);
    else
        snprintf(e->name, sizeof e->name, "Thread-%d", (int)tid);
    return e->name;
}
