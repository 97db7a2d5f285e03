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

/* Decodes raw as a pprof Profile within the budget's decode share. */
static ex_payload_status check_profile(const unsigned char *raw, size_t raw_len,
                                       const ex_memory_budget *b, char *err, size_t errcap)
{
    ex_counting_allocator a;
    ex_counting_allocator_init(&a, b->max_decode);
    Perftools__Profiles__Profile *p = perftools__profiles__profile__unpack(&a.base, raw_len, raw);
    bool ok = p && p->n_string_table > 0 && p->string_table[0][0] == '\0';
    if (p)
        perftools__profiles__profile__free_unpacked(p, &a.base);
    if (a.exhausted) {
        snprintf(err, errcap,
                 "decoding it takes more than %zu KiB, more than fits in the exporter's %zu MiB "
                 "memory limit",
                 b->max_decode >> 10, b->limit >> 20);
        return EX_PAYLOAD_TOO_LARGE;
    }
    if (!ok) {
        snprintf(err, errcap, "not a pprof Profile (protobuf does not decode)");
        return EX_PAYLOAD_CORRUPT;
    }
    return EX_PAYLOAD_OK;
}

ex_payload_status ex_payload_from_fd(int fd, const ex_memory_budget *b, void **out, size_t *out_len,
                                     char *err, size_t errcap)
{
    const unsigned char *raw = NULL;
    unsigned char *inflated = NULL;
    size_t file_len = 0, raw_len = 0;
    *out = NULL;
    unsigned char *file = ex_pprof_read_fd(fd, b->max_file, &file_len, err, errcap);
    if (!file)
        return EX_PAYLOAD_TOO_LARGE;
    int rc = ex_pprof_protobuf(file, file_len, b->max_raw, &raw, &raw_len, &inflated, err, errcap);
    if (rc != 0) {
        free(file);
        return rc == EX_PPROF_TOO_LARGE ? EX_PAYLOAD_TOO_LARGE : EX_PAYLOAD_CORRUPT;
    }
    if (inflated) { /* the compressed copy is done with: never hold both past this point */
        free(file);
        file = NULL;
    }
    ex_payload_status st = check_profile(raw, raw_len, b, err, errcap);
    if (st != EX_PAYLOAD_OK) {
        free(inflated);
        free(file);
        return st;
    }
    size_t bound = ZSTD_compressBound(raw_len);
    void *z = malloc(bound);
    size_t zlen = z ? ZSTD_compress(z, bound, raw, raw_len, EX_ZSTD_LEVEL) : 0;
    free(inflated);
    free(file);
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
