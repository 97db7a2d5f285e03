/* The fault-free copy: good ranges are copied exactly, and unmapped memory, a range running off
 * the end of a mapping, NULL and wrapping ranges all fail without a fault, in both modes. The
 * /proc/self/mem fallback holds its descriptor only until released, never closes a number the
 * application took over, and a read through a number the application took over harms nothing. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "private_pipe.h"
#include "pystring.h"
#include "safe_read.h"

static void check_mode(pp_read_mode mode)
{
    assert_int_equal(pp_safe_read_force(mode), 0);
    long page = sysconf(_SC_PAGESIZE);
    /* two pages, the second unmapped */
    char *p =
        mmap(NULL, 2 * (size_t)page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true(p != MAP_FAILED);
    for (long i = 0; i < page; i++)
        p[i] = (char)(i * 7);
    assert_int_equal(munmap(p + page, (size_t)page), 0);

    static char out[1 << 16];
    assert_int_equal(pp_read(out, (uintptr_t)p, (size_t)page), 0);
    assert_memory_equal(out, p, (size_t)page);
    assert_int_equal(pp_read(out, (uintptr_t)p + 100, 8), 0);
    assert_memory_equal(out, p + 100, 8);

    assert_int_equal(pp_read(out, (uintptr_t)p + page, 8), -1);     /* unmapped */
    assert_int_equal(pp_read(out, (uintptr_t)p + page - 4, 8), -1); /* runs off the end */
    assert_int_equal(pp_read(out, 0, 8), -1);                       /* NULL */
    assert_int_equal(pp_read(out, 16, 8), -1);                      /* first page */
    assert_int_equal(pp_read(out, UINTPTR_MAX - 3, 8), -1);         /* wraps */
    assert_int_equal(pp_read(out, (uintptr_t)p, 0), 0);             /* nothing to copy */

    /* Fields of one structure: close together (one read) or far apart (one each), and a field
     * in unreadable memory fails the whole call in both cases. */
    uint64_t f1 = 0, f3 = 0;
    uint32_t f2 = 0;
    pp_field near[] = {{200, 8, &f1}, {16, 4, &f2}};
    assert_int_equal(pp_read_fields((uintptr_t)p, near, 2), 0);
    assert_memory_equal(&f1, p + 200, 8);
    assert_memory_equal(&f2, p + 16, 4);
    pp_field far[] = {{8, 4, &f2}, {(int32_t)page - 8, 8, &f3}};
    assert_int_equal(pp_read_fields((uintptr_t)p, far, 2), 0);
    assert_memory_equal(&f2, p + 8, 4);
    assert_memory_equal(&f3, p + page - 8, 8);
    pp_field bad_near[] = {{(int32_t)page - 16, 8, &f1}, {(int32_t)page, 8, &f3}};
    assert_int_equal(pp_read_fields((uintptr_t)p, bad_near, 2), -1);
    pp_field bad_far[] = {{0, 8, &f1}, {(int32_t)page + 8, 8, &f3}};
    assert_int_equal(pp_read_fields((uintptr_t)p, bad_far, 2), -1);

    /* A batch: bad ranges fail alone, wherever they are, and the good ones around them arrive. */
    char a[16], b[16], c[16], d[16], e[16];
    memset(b, 0x5a, sizeof b);
    pp_read_req reqs[] = {{a, (uintptr_t)p + 10, 16, -1},  {b, (uintptr_t)p + page, 16, -1},
                          {c, (uintptr_t)p + 200, 16, -1}, {d, (uintptr_t)p + page - 8, 16, -1},
                          {e, (uintptr_t)p + 300, 0, -1},  {e, (uintptr_t)p + 400, 16, -1}};
    assert_int_equal(pp_read_many(reqs, 6), 4);
    int expect[] = {1, 0, 1, 0, 1, 1};
    for (int i = 0; i < 6; i++)
        assert_int_equal(reqs[i].ok, expect[i]);
    assert_memory_equal(a, p + 10, 16);
    assert_memory_equal(c, p + 200, 16);
    assert_memory_equal(e, p + 400, 16);
    for (size_t i = 0; i < sizeof b; i++)
        assert_int_equal((unsigned char)b[i], 0x5a); /* a failed range leaves dst alone */
    /* more ranges than one system call takes, every third one bad */
    static pp_read_req many[3 * PP_READ_BATCH + 5];
    static char dst[3 * PP_READ_BATCH + 5][8];
    size_t want = 0;
    for (size_t i = 0; i < 3 * PP_READ_BATCH + 5; i++) {
        int bad = i % 3 == 1;
        many[i] = (pp_read_req){dst[i], (uintptr_t)p + (bad ? (uintptr_t)page : i), 8, -1};
        want += !bad;
    }
    assert_int_equal(pp_read_many(many, 3 * PP_READ_BATCH + 5), want);
    for (size_t i = 0; i < 3 * PP_READ_BATCH + 5; i++) {
        assert_int_equal(many[i].ok, i % 3 != 1);
        if (i % 3 != 1)
            assert_memory_equal(dst[i], p + i, 8);
    }
    munmap(p, (size_t)page);
    char *gone = mmap(NULL, (size_t)page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    munmap(gone, (size_t)page);
    assert_int_equal(pp_read(out, (uintptr_t)gone, 8), -1); /* unmapped */

    /* A PROT_NONE page: process_vm_readv refuses it; /proc/self/mem reads it (the kernel
     * reads with FOLL_FORCE). Neither faults. */
    char *none = mmap(NULL, (size_t)page, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true(none != MAP_FAILED);
    assert_int_equal(pp_read(out, (uintptr_t)none, 8), mode == PP_READ_VM ? -1 : 0);
    munmap(none, (size_t)page);

    /* the mode keeps working after failures */
    uint64_t v = 0x1122334455667788ULL, w = 0;
    assert_int_equal(pp_read(&w, (uintptr_t)&v, sizeof v), 0);
    assert_true(w == v);
    pp_safe_read_release();
}

static int open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    assert_non_null(d);
    int n = 0;
    while (readdir(d))
        n++;
    closedir(d);
    return n;
}

/* The lowest free descriptor number: the one the next open gets. */
static int next_fd(void)
{
    int fd = dup(0);
    assert_true(fd >= 0);
    close(fd);
    return fd;
}

static void test_process_vm_readv(void **state)
{
    (void)state;
    check_mode(PP_READ_VM);
}

static void test_proc_mem_fallback(void **state)
{
    (void)state;
    check_mode(PP_READ_PROC_MEM);
}

/* What a thread with the private pipe checks (it cannot use cmocka's asserts, which report on
 * stdout and jump to the main thread): the number of the first check that failed, 0 if none. */
#define PIPE_CHECK(cond)                                                                           \
    do {                                                                                           \
        checks++;                                                                                  \
        if (!(cond))                                                                               \
            return (void *)(intptr_t)checks;                                                       \
    } while (0)

static void *pipe_reads(void *arg)
{
    char *p = arg; /* 40 readable pages, then an unmapped one */
    long page = sysconf(_SC_PAGESIZE);
    intptr_t checks = 0;
    PIPE_CHECK(pp_private_pipe_open() == 0 && pp_private_pipe_capacity() >= (size_t)page);
    PIPE_CHECK(pp_private_pipe_open() == 0); /* once per thread: a second call changes nothing */
    pp_read_stats before, after;
    pp_safe_read_stats(&before);
    /* one range per page, the ninth bad (it runs into the unmapped page), so the pipe's copy
     * stops inside a page that holds good ranges after it: they arrive all the same */
    static pp_read_req reqs[41];
    static char dst[41][300];
    for (int i = 0; i < 40; i++) {
        uintptr_t at = (uintptr_t)p + (uintptr_t)(i == 8 ? 40 * page - 100 : i * page + 7 * i);
        reqs[i] = (pp_read_req){dst[i], at, i == 8 ? 300 : 100 + (size_t)i, -1};
    }
    PIPE_CHECK(pp_read_many(reqs, 40) == 39);
    for (int i = 0; i < 40; i++) {
        PIPE_CHECK(reqs[i].ok == (i != 8));
        PIPE_CHECK(i == 8 || memcmp(dst[i], (const void *)reqs[i].addr, reqs[i].len) == 0);
    }
    /* ranges packed in one page, the 21st unmapped and the last running off the end: the good
     * ones after the bad one, in the same page of the pipe, arrive */
    for (int i = 0; i < 41; i++)
        reqs[i] =
            (pp_read_req){dst[i],
                          (uintptr_t)p + (i == 20 ? 40 * (uintptr_t)page
                                                  : 39 * (uintptr_t)page + (uintptr_t)i * 100),
                          100, -1};
    PIPE_CHECK(pp_read_many(reqs, 41) == 39);
    PIPE_CHECK(!reqs[20].ok && !reqs[40].ok && reqs[21].ok && reqs[39].ok);
    PIPE_CHECK(memcmp(dst[21], p + 39 * page + 2100, 100) == 0);
    /* single reads, good and bad, and a PROT_NONE page, which copy_from_user refuses too */
    uint64_t v = 0x1122334455667788ULL, w = 0;
    PIPE_CHECK(pp_read(&w, (uintptr_t)&v, sizeof v) == 0 && w == v);
    PIPE_CHECK(pp_read(&w, (uintptr_t)p + 40 * (uintptr_t)page, 8) == -1);
    char *none = mmap(NULL, (size_t)page, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    PIPE_CHECK(none != MAP_FAILED && pp_read(&w, (uintptr_t)none, 8) == -1);
    munmap(none, (size_t)page);
    /* and the pipe served them; the pipe is still there (nothing was left in it) */
    pp_safe_read_stats(&after);
    PIPE_CHECK(after.pipe_calls > before.pipe_calls && pp_private_pipe_capacity() > 0);
    return NULL;
}

/* A thread with the private pipe reads scattered ranges through it exactly as without: bad ranges
 * fail alone and nothing faults. Its descriptors are in a table of its own: the process's (the
 * application's) shows none of them, before, during or after. */
static void test_private_pipe(void **state)
{
    (void)state;
    assert_int_equal(pp_safe_read_force(PP_READ_VM), 0);
    long page = sysconf(_SC_PAGESIZE);
    char *p =
        mmap(NULL, 41 * (size_t)page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true(p != MAP_FAILED);
    for (long i = 0; i < 40 * page; i++)
        p[i] = (char)(i * 13 + i / page);
    assert_int_equal(munmap(p + 40 * page, (size_t)page), 0);
    int before = open_fds();
    pthread_t t;
    void *failed = (void *)1;
    assert_int_equal(pthread_create(&t, NULL, pipe_reads, p), 0);
    assert_int_equal(pthread_join(t, &failed), 0);
    assert_int_equal((intptr_t)failed, 0); /* else: the number of the check that failed */
    assert_int_equal(open_fds(), before);
    munmap(p, 40 * (size_t)page);
}

/* Between a release and the next read the fallback holds no descriptor; the one it holds is
 * close-on-exec. */
static void test_fallback_holds_nothing_after_release(void **state)
{
    (void)state;
    assert_int_equal(pp_safe_read_force(PP_READ_PROC_MEM), 0);
    int before = open_fds(), fd = next_fd();
    uint64_t v = 42, w = 0;
    assert_int_equal(pp_read(&w, (uintptr_t)&v, sizeof v), 0);
    assert_int_equal(open_fds(), before + 1);
    assert_int_equal(fcntl(fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
    pp_safe_read_release();
    assert_int_equal(open_fds(), before);
}

/* An application that closes every descriptor (daemonising) and opens a socket gets the
 * fallback's number: the library must neither close that socket nor take its data, and reads on
 * with a descriptor of its own. */
static void test_fallback_never_touches_a_reused_number(void **state)
{
    (void)state;
    assert_int_equal(pp_safe_read_force(PP_READ_PROC_MEM), 0);
    int fd = next_fd();
    uint64_t v = 7, w = 0;
    assert_int_equal(pp_read(&w, (uintptr_t)&v, sizeof v), 0);
    assert_int_equal(close(fd), 0); /* the application's closerange */
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    int app = sv[0] == fd ? sv[0] : sv[1];
    assert_int_equal(app, fd); /* the application now owns the number */
    int peer = app == sv[0] ? sv[1] : sv[0];
    assert_int_equal(write(peer, "hello", 5), 5);
    /* a read through the reused number takes nothing from the socket (pread: ESPIPE); the
     * fallback sees the number is no longer its own and reads through a new descriptor */
    v = 99;
    assert_int_equal(pp_read(&w, (uintptr_t)&v, sizeof v), 0);
    assert_true(w == 99);
    pp_safe_read_release(); /* closes its new descriptor, never the application's */
    assert_true(fcntl(app, F_GETFD) >= 0);
    char got[8] = {0};
    assert_int_equal(read(app, got, sizeof got), 5);
    assert_memory_equal(got, "hello", 5);
    /* the same when the number was closed and not reused */
    int mine = next_fd();
    assert_int_equal(pp_read(&w, (uintptr_t)&v, sizeof v), 0);
    assert_int_equal(close(mine), 0);
    assert_int_equal(pp_read(&w, (uintptr_t)&v, sizeof v), 0);
    pp_safe_read_release();
    assert_true(fcntl(app, F_GETFD) >= 0);
    close(sv[0]);
    close(sv[1]);
}

/* What the fallback relies on when a number was reused between its checks: pread consumes
 * nothing from a stream (pipe, socket, eventfd) and never moves a file's position. */
static void test_stray_pread_is_harmless(void **state)
{
    (void)state;
    uint64_t far = 0x7f0000001000ULL;
    char buf[16];
    int p[2], sv[2];
    assert_int_equal(pipe(p), 0);
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    int ev = eventfd(3, 0);
    assert_true(ev >= 0);
    assert_int_equal(write(p[1], "pipe", 4), 4);
    assert_int_equal(write(sv[1], "sock", 4), 4);
    const int streams[] = {p[0], sv[0], ev};
    for (int i = 0; i < 3; i++) {
        errno = 0;
        assert_int_equal(pread(streams[i], buf, 8, (off_t)far), -1);
        assert_int_equal(errno, ESPIPE);
    }
    assert_int_equal(read(p[0], buf, sizeof buf), 4);
    assert_memory_equal(buf, "pipe", 4);
    assert_int_equal(read(sv[0], buf, sizeof buf), 4);
    assert_memory_equal(buf, "sock", 4);
    uint64_t count = 0;
    assert_int_equal(read(ev, &count, sizeof count), 8);
    assert_true(count == 3);
    FILE *f = tmpfile();
    assert_non_null(f);
    int fd = fileno(f);
    assert_int_equal(write(fd, "0123456789", 10), 10);
    assert_int_equal(lseek(fd, 3, SEEK_SET), 3);
    assert_int_equal(pread(fd, buf, 8, (off_t)far), 0);
    assert_int_equal(lseek(fd, 0, SEEK_CUR), 3);
    fclose(f);
    close(p[0]);
    close(p[1]);
    close(sv[0]);
    close(sv[1]);
    close(ev);
}

static void test_utf8_encoding(void **state)
{
    (void)state;
    char out[8];
    assert_int_equal(pp_utf8_put('A', out), 1);
    assert_int_equal(pp_utf8_put(0xE9, out), 2);
    assert_memory_equal(out, "\xc3\xa9", 2);
    assert_int_equal(pp_utf8_put(0x8BA1, out), 3);
    assert_memory_equal(out, "\xe8\xae\xa1", 3);
    assert_int_equal(pp_utf8_put(0x1F600, out), 4);
    assert_memory_equal(out, "\xf0\x9f\x98\x80", 4);
    assert_int_equal(pp_utf8_put(0xD800, out), 3); /* lone surrogate -> U+FFFD */
    assert_memory_equal(out, "\xef\xbf\xbd", 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_process_vm_readv),
        cmocka_unit_test(test_proc_mem_fallback),
        cmocka_unit_test(test_private_pipe),
        cmocka_unit_test(test_fallback_holds_nothing_after_release),
        cmocka_unit_test(test_fallback_never_touches_a_reused_number),
        cmocka_unit_test(test_stray_pread_is_harmless),
        cmocka_unit_test(test_utf8_encoding),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
