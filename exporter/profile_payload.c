#include "profile_payload.h"

#include <errno.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#include "profile.pb-c.h"

#define EX_ZSTD_LEVEL 1 /* what libdatadog uses: the agent side is CPU-sensitive too */

static int read_file(const char *path, unsigned char **buf, size_t *len, char *err, size_t errcap)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errcap, "%s: %s", path, strerror(errno));
        return -1;
    }
    struct stat st;
    /* a file still growing is read up to the bound and then fails to decode */
    size_t want = fstat(fileno(f), &st) == 0 && st.st_size >= 0 && st.st_size < EX_PPROF_MAX_FILE
                      ? (size_t)st.st_size + 1
                      : EX_PPROF_MAX_FILE + 1;
    *buf = malloc(want);
    if (!*buf) {
        fclose(f);
        snprintf(err, errcap, "out of memory");
        return -1;
    }
    *len = fread(*buf, 1, want, f);
    int bad = ferror(f);
    fclose(f);
    if (bad || *len > EX_PPROF_MAX_FILE) {
        snprintf(err, errcap, "%s: %s", path, bad ? "read error" : "larger than 16 MiB");
        free(*buf);
        *buf = NULL;
        return -1;
    }
    return 0;
}

/* gzip -> raw protobuf, bounded. Returns 0, or -1 with err. */
static int gunzip(const unsigned char *in, size_t in_len, unsigned char **out, size_t *out_len,
                  char *err, size_t errcap)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) {
        snprintf(err, errcap, "zlib init failed");
        return -1;
    }
    size_t cap = in_len * 4 + 4096;
    if (cap > EX_PPROF_MAX_RAW)
        cap = EX_PPROF_MAX_RAW;
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
        if (cap >= EX_PPROF_MAX_RAW) {
            rc = Z_MEM_ERROR;
            break;
        }
        cap = cap * 2 > EX_PPROF_MAX_RAW ? EX_PPROF_MAX_RAW : cap * 2;
        unsigned char *grown = realloc(buf, cap);
        if (!grown)
            free(buf);
        buf = grown;
    }
    size_t total = zs.total_out;
    inflateEnd(&zs);
    if (!buf || rc != Z_STREAM_END) {
        snprintf(err, errcap, "%s",
                 !buf                ? "out of memory"
                 : rc == Z_MEM_ERROR ? "decompresses beyond 64 MiB"
                                     : "truncated or corrupt gzip data");
        free(buf);
        return -1;
    }
    *out = buf;
    *out_len = total;
    return 0;
}

ex_payload_status ex_payload_from_file(const char *path, void **out, size_t *out_len, char *err,
                                       size_t errcap)
{
    unsigned char *file = NULL, *raw = NULL;
    size_t file_len = 0, raw_len = 0;
    *out = NULL;
    if (read_file(path, &file, &file_len, err, errcap))
        return EX_PAYLOAD_CORRUPT;
    if (file_len >= 2 && file[0] == 0x1f && file[1] == 0x8b) {
        int rc = gunzip(file, file_len, &raw, &raw_len, err, errcap);
        free(file);
        if (rc)
            return EX_PAYLOAD_CORRUPT;
    } else {
        raw = file;
        raw_len = file_len;
    }
    if (!raw_len) {
        free(raw);
        snprintf(err, errcap, "empty profile");
        return EX_PAYLOAD_CORRUPT;
    }
    Perftools__Profiles__Profile *p = perftools__profiles__profile__unpack(NULL, raw_len, raw);
    bool ok = p && p->n_string_table > 0 && p->string_table[0][0] == '\0';
    if (p)
        perftools__profiles__profile__free_unpacked(p, NULL);
    if (!ok) {
        free(raw);
        snprintf(err, errcap, "not a pprof Profile (protobuf does not decode)");
        return EX_PAYLOAD_CORRUPT;
    }
    size_t bound = ZSTD_compressBound(raw_len);
    void *z = malloc(bound);
    if (!z) {
        free(raw);
        snprintf(err, errcap, "out of memory");
        return EX_PAYLOAD_NOMEM;
    }
    size_t zlen = ZSTD_compress(z, bound, raw, raw_len, EX_ZSTD_LEVEL);
    free(raw);
    if (ZSTD_isError(zlen)) {
        free(z);
        snprintf(err, errcap, "zstd: %s", ZSTD_getErrorName(zlen));
        return EX_PAYLOAD_NOMEM;
    }
    if (zlen > EX_UPLOAD_MAX_BYTES) {
        free(z);
        snprintf(err, errcap, "compressed profile is %zu bytes, above the intake's 10 MiB", zlen);
        return EX_PAYLOAD_TOO_LARGE;
    }
    *out = z;
    *out_len = zlen;
    return EX_PAYLOAD_OK;
}
