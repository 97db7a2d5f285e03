/* Descriptors the library opens for a moment: a file it reads (a symbol table, a thread's name),
 * /proc/self/mem for one sampling pass, a profile it writes. The application may close any
 * descriptor number at any time (os.closerange, daemonising) and be handed the same number by its
 * next open, so the library never trusts a number it holds: before each use and before closing,
 * it checks that the number still names the object it opened (device and inode, and for
 * descriptors only read with pread a file position it set), and if not it forgets the number
 * without touching it. None is kept while the library sleeps or while it is not working, and
 * every one is O_CLOEXEC. Reads and writes go through pread/pwrite where they can: on a pipe,
 * socket or other stream those fail (ESPIPE) instead of taking or adding bytes, and they never
 * move a file's position, so even a number taken over between a check and its use cannot lose
 * the application a byte of a stream. */
#ifndef PODPROF_SAMPLER_OWN_FD_H
#define PODPROF_SAMPLER_OWN_FD_H

#include <stddef.h>
#include <stdint.h>

typedef struct pp_own_fd {
    int fd; /* -1: none */
    uint64_t dev, ino;
    int64_t size; /* st_size when opened */
    int64_t mark; /* the file position it must show; -1: position not checked */
} pp_own_fd;

#define PP_OWN_FD_NONE ((pp_own_fd){-1, 0, 0, 0, -1})

/* open(2) with O_CLOEXEC added; records what was opened. Returns 0, or -1 with errno set. */
int pp_own_open(pp_own_fd *f, const char *path, int flags, unsigned mode);

/* Sets the file position to mark and checks it from then on: for a descriptor only used with
 * pread/pwrite, whose position nothing else moves, this tells our open file from another open of
 * the same file. Returns 0, or -1 (descriptor closed) when the position cannot be set. */
int pp_own_mark(pp_own_fd *f, int64_t mark);

/* 1 while f->fd still names what was opened; otherwise forgets it (f->fd = -1) and returns 0. */
int pp_own_check(pp_own_fd *f);

/* Closes the descriptor if it is still ours and forgets it either way. Returns 0, or -1 with
 * errno set when close(2) failed or the number had been taken over (EBADF). */
int pp_own_close(pp_own_fd *f);

/* A directory's entries, read with getdents64 through a descriptor checked before each call
 * (getdents moves the position of whatever directory the number names). NULL when the directory
 * cannot be opened or memory is short. */
typedef struct pp_own_dir {
    pp_own_fd fd;
    size_t len, pos;
    char buf[8192];
} pp_own_dir;
pp_own_dir *pp_own_dir_open(const char *path);
/* The next entry's name ("." and ".." included), or NULL at the end or when the number is no
 * longer ours. */
const char *pp_own_dir_next(pp_own_dir *d);
void pp_own_dir_close(pp_own_dir *d);

#endif
