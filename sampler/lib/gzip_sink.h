/* A protobuf-c output buffer that gzips what is packed into it as it comes, so a profile is
 * encoded without ever holding its whole uncompressed protobuf in memory (a timeline profile's
 * samples are packed in chunks, one after the other, into the same sink). Small appends, which
 * protobuf-c makes for every field, are staged and handed to zlib in large blocks. */
#ifndef PODPROF_SAMPLER_GZIP_SINK_H
#define PODPROF_SAMPLER_GZIP_SINK_H

#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>
#include <stddef.h>
#include <zlib.h>

typedef struct pp_gzip_sink {
    ProtobufCBuffer base; /* first: protobuf-c calls base.append with a pointer to it */
    z_stream zs;
    unsigned char *out; /* the gzip stream so far (malloc'd) */
    size_t out_cap;
    unsigned char stage[64 * 1024];
    size_t staged;
    size_t raw_bytes; /* uncompressed bytes appended */
    bool failed;      /* out of memory or a zlib error: the output is unusable */
} pp_gzip_sink;

/* Returns 0, or -1 when zlib cannot start (nothing to finish then). */
int pp_gzip_sink_init(pp_gzip_sink *sink, int level);
/* Ends the stream. On success returns 0 and hands over the malloc'd gzip bytes; on failure (now
 * or during an append) returns -1 and frees everything. */
int pp_gzip_sink_finish(pp_gzip_sink *sink, unsigned char **out, size_t *out_len);

#endif
