#include "pprof_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "podprof/read_bounded.h"

unsigned char *ex_pprof_read_fd(int fd, size_t max_bytes, size_t *len, char *err, size_t errcap)
{
    const char *why = NULL;
    FILE *f = fdopen(fd, "rb");
    char *data = f ? pp_read_bounded(f, max_bytes, len, &why) : NULL;
    if (!f) {
        why = strerror(errno);
        close(fd);
    } else {
        fclose(f);
    }
    if (!data && why == pp_read_too_large)
        snprintf(err, errcap, "larger than %zu KiB, more than this program reads", max_bytes >> 10);
    else if (!data)
        snprintf(err, errcap, "%s", why);
    return (unsigned char *)data;
}

unsigned char *ex_pprof_read_file(const char *path, size_t max_bytes, size_t *len, char *err,
                                  size_t errcap)
{
    /* O_NONBLOCK and the type check: a FIFO or a device named as a profile neither blocks nor
     * streams forever */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        snprintf(err, errcap, "%s", strerror(errno));
        if (fd >= 0)
            close(fd);
        return NULL;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(err, errcap, "%s",
                 S_ISDIR(st.st_mode)    ? strerror(EISDIR)
                 : S_ISFIFO(st.st_mode) ? "a FIFO, not a regular file"
                                        : "not a regular file");
        close(fd);
        return NULL;
    }
    return ex_pprof_read_fd(fd, max_bytes, len, err, errcap);
}

/* gzip -> raw protobuf, at most max_raw bytes. Returns 0, or EX_PPROF_CORRUPT /
 * EX_PPROF_TOO_LARGE with err. */
static int gunzip(const unsigned char *in, size_t in_len, size_t max_raw, unsigned char **out,
                  size_t *out_len, char *err, size_t errcap)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) {
        snprintf(err, errcap, "zlib initialisation failed");
        return EX_PPROF_CORRUPT;
    }
    size_t cap = in_len * 4 + 4096;
    if (cap > max_raw)
        cap = max_raw;
    unsigned char *buf = malloc(cap);
    int rc = Z_OK;
    zs.next_in = (unsigned char *)in;
    zs.avail_in = (uInt)in_len;
    while (buf) {
        zs.next_out = buf + zs.total_out;
        zs.avail_out = (uInt)(cap - zs.total_out);
        rc = inflate(&zs, Z_NO_FLUSH);
        if (rc == Z_STREAM_END || (rc != Z_OK && rc != Z_BUF_ERROR))
            break;
        if (zs.avail_out) { /* input exhausted before the end of the stream */
            rc = Z_DATA_ERROR;
            break;
        }
        if (cap >= max_raw) {
            rc = Z_MEM_ERROR;
            break;
        }
        cap = cap * 2 > max_raw ? max_raw : cap * 2;
        unsigned char *grown = realloc(buf, cap);
        if (!grown)
            free(buf);
        buf = grown;
    }
    size_t total = zs.total_out;
    if (!buf || rc != Z_STREAM_END) {
        int status = !buf || rc == Z_MEM_ERROR ? EX_PPROF_TOO_LARGE : EX_PPROF_CORRUPT;
        if (!buf)
            snprintf(err, errcap, "out of memory");
        else if (rc == Z_MEM_ERROR)
            snprintf(err, errcap, "decompresses to more than %zu %s",
                     max_raw & ((1u << 20) - 1) ? max_raw >> 10 : max_raw >> 20,
                     max_raw & ((1u << 20) - 1) ? "KiB" : "MiB");
        else
            snprintf(err, errcap, "corrupt or truncated gzip data%s%s", zs.msg ? ": " : "",
                     zs.msg ? zs.msg : "");
        inflateEnd(&zs);
        free(buf);
        return status;
    }
    inflateEnd(&zs);
    *out = buf;
    *out_len = total;
    return 0;
}

int ex_pprof_protobuf(const unsigned char *data, size_t len, size_t max_raw,
                      const unsigned char **raw, size_t *raw_len, unsigned char **owned, char *err,
                      size_t errcap)
{
    *owned = NULL;
    *raw = data;
    *raw_len = len;
    if (len >= 2 && data[0] == 0x1f && data[1] == 0x8b) {
        int rc = gunzip(data, len, max_raw, owned, raw_len, err, errcap);
        if (rc != 0)
            return rc;
        *raw = *owned;
    }
    if (*raw_len == 0) {
        free(*owned);
        *owned = NULL;
        snprintf(err, errcap, "empty file");
        return EX_PPROF_CORRUPT;
    }
    return 0;
}
