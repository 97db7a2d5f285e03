#include "profile_payload.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "pprof_file.h"
#include "profile.pb-c.h"

#define EX_ZSTD_LEVEL 1 /* what libdatadog uses: the agent side is CPU-sensitive too */

ex_payload_status ex_payload_from_file(const char *path, void **out, size_t *out_len, char *err,
                                       size_t errcap)
{
    const unsigned char *raw = NULL;
    unsigned char *inflated = NULL;
    size_t file_len = 0, raw_len = 0;
    *out = NULL;
    unsigned char *file = ex_pprof_read_file(path, EX_PPROF_MAX_FILE, &file_len, err, errcap);
    if (!file)
        return EX_PAYLOAD_CORRUPT;
    if (ex_pprof_protobuf(file, file_len, EX_PPROF_MAX_RAW, &raw, &raw_len, &inflated, err,
                          errcap) != 0) {
        free(file);
        return EX_PAYLOAD_CORRUPT;
    }
    Perftools__Profiles__Profile *p = perftools__profiles__profile__unpack(NULL, raw_len, raw);
    bool ok = p && p->n_string_table > 0 && p->string_table[0][0] == '\0';
    if (p)
        perftools__profiles__profile__free_unpacked(p, NULL);
    size_t bound = ok ? ZSTD_compressBound(raw_len) : 0;
    void *z = ok ? malloc(bound) : NULL;
    size_t zlen = z ? ZSTD_compress(z, bound, raw, raw_len, EX_ZSTD_LEVEL) : 0;
    free(inflated);
    free(file);
    if (!ok) {
        snprintf(err, errcap, "not a pprof Profile (protobuf does not decode)");
        return EX_PAYLOAD_CORRUPT;
    }
    if (!z) {
        snprintf(err, errcap, "out of memory");
        return EX_PAYLOAD_NOMEM;
    }
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
