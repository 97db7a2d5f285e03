/* podprof install DIR: the init container's job. Copies the image's libpodprof.so into DIR (an
 * emptyDir the app containers mount read-only) so that only DIR needs to be writable: the
 * container runs as an arbitrary non-root user with a read-only root filesystem. The copy is
 * written under a temporary name, checked (size, SHA-256, ELF header) and renamed into place, so
 * an app container never sees a half-written library. */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli_options.h"
#include "commands.h"
#include "library_path.h"

#define INSTALL_NAME "libpodprof.so"
#define INSTALL_MAX_BYTES (64u << 20)

static const cli_spec install_spec = {
    "install",
    "DIR",
    "Copies libpodprof.so from this image (../lib/libpodprof.so next to the podprof binary) into "
    "DIR, "
    "atomically, and verifies the copy (size, SHA-256, ELF header). Only DIR must be writable, "
    "so it runs as any non-root user on a read-only root filesystem.",
    NULL,
    0,
    NULL,
    false,
};

typedef struct blob {
    unsigned char *data;
    size_t len;
    unsigned char sha256[32];
} blob;

static int sha256(const unsigned char *data, size_t len, unsigned char out[32])
{
    unsigned int n = 0;
    return EVP_Digest(data, len, out, &n, EVP_sha256(), NULL) == 1 && n == 32 ? 0 : -1;
}

static void hex(const unsigned char *in, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", in[i]);
}

/* Reads a whole file; on failure a one-line reason in err. */
static int read_blob(const char *path, blob *b, char *err, size_t err_len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, err_len, "%s", strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size <= 0 ||
        (unsigned long long)st.st_size > INSTALL_MAX_BYTES) {
        snprintf(err, err_len, "not a regular file of a plausible size");
        close(fd);
        return -1;
    }
    b->len = (size_t)st.st_size;
    b->data = malloc(b->len);
    size_t got = 0;
    while (b->data && got < b->len) {
        ssize_t r = read(fd, b->data + got, b->len - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    int saved = errno;
    close(fd);
    if (!b->data || got != b->len) {
        snprintf(err, err_len, "%s",
                 b->data ? (got < b->len ? "short read" : strerror(saved)) : "out of memory");
        free(b->data);
        b->data = NULL;
        return -1;
    }
    if (sha256(b->data, b->len, b->sha256) != 0) {
        snprintf(err, err_len, "SHA-256 failed");
        free(b->data);
        b->data = NULL;
        return -1;
    }
    return 0;
}

/* An ELF shared object for the machine this binary runs on. */
static bool is_shared_object(const blob *b)
{
    if (b->len < sizeof(Elf64_Ehdr))
        return false;
    const Elf64_Ehdr *h = (const Elf64_Ehdr *)b->data;
    Elf64_Half machine =
#if defined(__x86_64__)
        EM_X86_64;
#elif defined(__aarch64__)
        EM_AARCH64;
#else
        h->e_machine;
#endif
    return !memcmp(h->e_ident, ELFMAG, SELFMAG) && h->e_ident[EI_CLASS] == ELFCLASS64 &&
           h->e_type == ET_DYN && h->e_machine == machine;
}

static int write_all(int fd, const unsigned char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int install_copy(const blob *src, const char *dir, char *dest, size_t dest_len)
{
    char tmp[PATH_MAX];
    if (snprintf(tmp, sizeof tmp, "%s/.%s.XXXXXX", dir, INSTALL_NAME) >= (int)sizeof tmp ||
        snprintf(dest, dest_len, "%s/%s", dir, INSTALL_NAME) >= (int)dest_len) {
        fprintf(stderr, "podprof install: %s: path too long\n", dir);
        return 1;
    }
    int fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0) {
        fprintf(stderr,
                "podprof install: cannot create a file in %s: %s (it must be writable by uid %d)\n",
                dir, strerror(errno), (int)geteuid());
        return 1;
    }
    /* Readable by the app containers' users whoever they are; nobody needs to write it. */
    if (write_all(fd, src->data, src->len) != 0 || fchmod(fd, 0555) != 0 || fsync(fd) != 0) {
        fprintf(stderr, "podprof install: writing %s: %s\n", tmp, strerror(errno));
        close(fd);
        unlink(tmp);
        return 1;
    }
    close(fd);

    blob copy = {0};
    char err[256];
    if (read_blob(tmp, &copy, err, sizeof err) != 0) {
        fprintf(stderr, "podprof install: re-reading %s: %s\n", tmp, err);
        unlink(tmp);
        return 1;
    }
    bool same =
        copy.len == src->len && !memcmp(copy.sha256, src->sha256, 32) && is_shared_object(&copy);
    free(copy.data);
    if (!same) {
        fprintf(stderr,
                "podprof install: the copy in %s does not match the original (size or "
                "SHA-256 differ); nothing installed\n",
                dir);
        unlink(tmp);
        return 1;
    }
    if (rename(tmp, dest) != 0) {
        fprintf(stderr, "podprof install: renaming into %s: %s\n", dest, strerror(errno));
        unlink(tmp);
        return 1;
    }
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    return 0;
}

int podprof_cmd_install(int argc, char **argv)
{
    int first = cli_parse(&install_spec, argc, argv, NULL);
    if (first == CLI_PARSE_HELP)
        return 0;
    if (first == CLI_PARSE_ERROR)
        return 2;
    if (argc - first != 1) {
        fprintf(stderr, "podprof install: expected one directory (usage: podprof install DIR)\n");
        return 2;
    }
    const char *dir = argv[first];
    struct stat st;
    if (stat(dir, &st) != 0) {
        fprintf(stderr, "podprof install: %s: %s\n", dir, strerror(errno));
        return 2;
    }
    if (!S_ISDIR(st.st_mode)) {
        fprintf(stderr, "podprof install: %s: not a directory\n", dir);
        return 2;
    }
    char src_path[PATH_MAX];
    if (podprof_library_path(src_path, sizeof src_path) != 0)
        return 1;
    blob src = {0};
    char err[256];
    if (read_blob(src_path, &src, err, sizeof err) != 0) {
        fprintf(stderr, "podprof install: cannot read %s: %s\n", src_path, err);
        return 1;
    }
    if (!is_shared_object(&src)) {
        fprintf(stderr, "podprof install: %s is not a shared library for this machine\n", src_path);
        free(src.data);
        return 1;
    }
    char dest[PATH_MAX + 32];
    int rc = install_copy(&src, dir, dest, sizeof dest);
    if (rc == 0) {
        char digest[65];
        hex(src.sha256, 32, digest);
        printf("podprof install: %s (%zu bytes, sha256 %s)\n", dest, src.len, digest);
    }
    free(src.data);
    return rc;
}
