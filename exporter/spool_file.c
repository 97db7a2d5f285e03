#include "spool_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

void ex_spool_trust_from_dir(const struct stat *dir, ex_spool_trust *t)
{
    t->self = geteuid();
    t->dir_owner = dir->st_uid;
    t->any_owner = (dir->st_mode & (S_IWGRP | S_IWOTH)) && !(dir->st_mode & S_ISVTX);
}

static const char *kind_of(mode_t mode)
{
    switch (mode & S_IFMT) {
    case S_IFLNK:
        return "a symbolic link";
    case S_IFIFO:
        return "a FIFO";
    case S_IFDIR:
        return "a directory";
    case S_IFCHR:
        return "a character device";
    case S_IFBLK:
        return "a block device";
    case S_IFSOCK:
        return "a socket";
    default:
        return "not a regular file";
    }
}

ex_entry_verdict ex_spool_entry_check(const struct stat *st, const ex_spool_trust *t,
                                      uint64_t max_bytes, char *why, size_t whycap)
{
    if (!S_ISREG(st->st_mode)) {
        snprintf(why, whycap, "%s, not a regular file", kind_of(st->st_mode));
        return EX_ENTRY_UNSAFE;
    }
    if (!t->any_owner && st->st_uid != t->self && st->st_uid != t->dir_owner) {
        snprintf(why, whycap, "owned by uid %u, neither the exporter's (%u) nor the spool's (%u)",
                 (unsigned)st->st_uid, (unsigned)t->self, (unsigned)t->dir_owner);
        return EX_ENTRY_UNSAFE;
    }
    if (st->st_size < 0 || (uint64_t)st->st_size > max_bytes) {
        snprintf(why, whycap, "%lld bytes, above the %llu KiB a spool file may have here",
                 (long long)st->st_size, (unsigned long long)(max_bytes >> 10));
        return EX_ENTRY_TOO_LARGE;
    }
    return EX_ENTRY_OK;
}

int ex_spool_file_open(const char *path, const ex_spool_trust *t, uint64_t max_bytes,
                       ex_entry_verdict *verdict, char *why, size_t whycap)
{
    /* O_NONBLOCK: opening a FIFO without a writer must not wait for one */
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    struct stat st;
    *verdict = EX_ENTRY_UNSAFE;
    if (fd < 0) {
        snprintf(why, whycap, "%s", errno == ELOOP ? "a symbolic link" : strerror(errno));
        return -1;
    }
    if (fstat(fd, &st) != 0) {
        snprintf(why, whycap, "%s", strerror(errno));
        close(fd);
        return -1;
    }
    *verdict = ex_spool_entry_check(&st, t, max_bytes, why, whycap);
    if (*verdict != EX_ENTRY_OK) {
        close(fd);
        return -1;
    }
    return fd;
}
