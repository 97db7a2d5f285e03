#include "own_fd.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* The system call, not glibc's fstat: glibc 2.33 gave fstat a new symbol version (before, only
 * __fxstat was exported), which would raise the library's glibc baseline. */
static int stat_fd(int fd, struct stat *st)
{
#ifdef SYS_fstat
    return (int)syscall(SYS_fstat, fd, st);
#else
    return (int)syscall(SYS_newfstatat, fd, "", st, AT_EMPTY_PATH);
#endif
}

int pp_own_open(pp_own_fd *f, const char *path, int flags, unsigned mode)
{
    *f = PP_OWN_FD_NONE;
    int fd = open(path, flags | O_CLOEXEC, mode);
    if (fd < 0)
        return -1;
    struct stat st;
    if (stat_fd(fd, &st) != 0) {
        int saved = errno;
        close(fd); /* just opened: still ours unless closed by the application this instant */
        errno = saved;
        return -1;
    }
    f->fd = fd;
    f->dev = (uint64_t)st.st_dev;
    f->ino = (uint64_t)st.st_ino;
    f->size = (int64_t)st.st_size;
    return 0;
}

int pp_own_mark(pp_own_fd *f, int64_t mark)
{
    if (!pp_own_check(f))
        return -1;
    if (lseek(f->fd, (off_t)mark, SEEK_SET) != (off_t)mark) {
        pp_own_close(f);
        return -1;
    }
    f->mark = mark;
    return 0;
}

int pp_own_check(pp_own_fd *f)
{
    if (f->fd < 0)
        return 0;
    struct stat st;
    int same = stat_fd(f->fd, &st) == 0 && (uint64_t)st.st_dev == f->dev &&
               (uint64_t)st.st_ino == f->ino &&
               (f->mark < 0 || lseek(f->fd, 0, SEEK_CUR) == (off_t)f->mark);
    if (!same)
        f->fd = -1; /* closed by the application, and maybe its number reused: not ours */
    return same;
}

int pp_own_close(pp_own_fd *f)
{
    if (!pp_own_check(f)) {
        errno = EBADF;
        return -1;
    }
    int fd = f->fd;
    f->fd = -1;
    return close(fd);
}

/* glibc 2.17 has no getdents64 wrapper. */
struct dirent64_raw {
    uint64_t ino;
    int64_t off;
    unsigned short reclen;
    unsigned char type;
    char name[];
};

pp_own_dir *pp_own_dir_open(const char *path)
{
    pp_own_dir *d = malloc(sizeof *d);
    if (!d)
        return NULL;
    d->len = d->pos = 0;
    if (pp_own_open(&d->fd, path, O_RDONLY | O_DIRECTORY, 0) != 0) {
        free(d);
        return NULL;
    }
    return d;
}

const char *pp_own_dir_next(pp_own_dir *d)
{
    while (d->pos >= d->len) {
        if (!pp_own_check(&d->fd))
            return NULL;
        long n = syscall(SYS_getdents64, d->fd.fd, d->buf, sizeof d->buf);
        if (n <= 0)
            return NULL;
        d->len = (size_t)n;
        d->pos = 0;
    }
    const struct dirent64_raw *e = (const struct dirent64_raw *)(d->buf + d->pos);
    d->pos += e->reclen;
    return e->name;
}

void pp_own_dir_close(pp_own_dir *d)
{
    if (!d)
        return;
    pp_own_close(&d->fd);
    free(d);
}
