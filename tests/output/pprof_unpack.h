/* Decodes what the library's pprof writer produced, gzip and all, with zlib and protobuf-c, for
 * the cmocka tests (a failure is a test failure). The caller frees the result with
 * perftools__profiles__profile__free_unpacked. */
#ifndef PODPROF_TESTS_PPROF_UNPACK_H
#define PODPROF_TESTS_PPROF_UNPACK_H

#include <stdlib.h>
#include <zlib.h>

#include "profile.pb-c.h"

static Perftools__Profiles__Profile *pprof_unpack_gzip(const void *gz, size_t gz_len)
{
    assert_true(gz_len > 2 && ((const unsigned char *)gz)[0] == 0x1f &&
                ((const unsigned char *)gz)[1] == 0x8b);
    size_t cap = 64 << 20;
    unsigned char *raw = malloc(cap);
    assert_non_null(raw);
    z_stream zs = {0};
    assert_int_equal(inflateInit2(&zs, 15 + 16), Z_OK);
    zs.next_in = (Bytef *)gz;
    zs.avail_in = (uInt)gz_len;
    zs.next_out = raw;
    zs.avail_out = (uInt)cap;
    assert_int_equal(inflate(&zs, Z_FINISH), Z_STREAM_END);
    size_t raw_len = cap - zs.avail_out;
    inflateEnd(&zs);
    Perftools__Profiles__Profile *p = perftools__profiles__profile__unpack(NULL, raw_len, raw);
    free(raw);
    assert_non_null(p);
    return p;
}

#endif
