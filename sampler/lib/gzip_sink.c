/* Streaming gzip behind protobuf-c's ProtobufCBuffer (gzip_sink.h). */
#include "gzip_sink.h"

#include <stdlib.h>
#include <string.h>

/* Hands `len` bytes to deflate with `flush`, growing the output as needed. */
static void deflate_bytes(pp_gzip_sink *s, const unsigned char *data, size_t len, int flush)
{
    s->zs.next_in = (Bytef *)data;
    s->zs.avail_in = (uInt)len;
    for (;;) {
        if (s->zs.total_out + 64 > s->out_cap) {
            size_t cap = s->out_cap ? s->out_cap * 2 : 64 * 1024;
            unsigned char *out = realloc(s->out, cap);
            if (!out) {
                s->failed = true;
                return;
            }
            s->out = out;
            s->out_cap = cap;
        }
        s->zs.next_out = s->out + s->zs.total_out;
        s->zs.avail_out = (uInt)(s->out_cap - s->zs.total_out);
        int rc = deflate(&s->zs, flush);
        if (rc == Z_STREAM_END)
            return;
        if (rc != Z_OK && rc != Z_BUF_ERROR) {
            s->failed = true;
            return;
        }
        /* Done with this block once the input is consumed and deflate had room left over
         * (Z_FINISH only returns Z_STREAM_END when it is done). */
        if (flush != Z_FINISH && s->zs.avail_in == 0 && s->zs.avail_out > 0)
            return;
    }
}

static void drain_stage(pp_gzip_sink *s)
{
    if (s->staged && !s->failed)
        deflate_bytes(s, s->stage, s->staged, Z_NO_FLUSH);
    s->staged = 0;
}

static void sink_append(ProtobufCBuffer *buffer, size_t len, const uint8_t *data)
{
    pp_gzip_sink *s = (pp_gzip_sink *)buffer;
    s->raw_bytes += len;
    if (s->failed)
        return;
    if (s->staged + len > sizeof s->stage)
        drain_stage(s);
    if (len >= sizeof s->stage) {
        /* large pieces go straight in, in blocks zlib's uInt counts can hold */
        while (len && !s->failed) {
            size_t n = len > (1u << 30) ? (1u << 30) : len;
            deflate_bytes(s, data, n, Z_NO_FLUSH);
            data += n;
            len -= n;
        }
        return;
    }
    memcpy(s->stage + s->staged, data, len);
    s->staged += len;
}

int pp_gzip_sink_init(pp_gzip_sink *sink, int level)
{
    memset(sink, 0, sizeof *sink);
    sink->base.append = sink_append;
    /* windowBits 15 + 16 selects the gzip wrapper, which `go tool pprof` expects on disk. */
    return deflateInit2(&sink->zs, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) == Z_OK ? 0
                                                                                              : -1;
}

int pp_gzip_sink_finish(pp_gzip_sink *sink, unsigned char **out, size_t *out_len)
{
    drain_stage(sink);
    if (!sink->failed)
        deflate_bytes(sink, NULL, 0, Z_FINISH);
    size_t len = sink->zs.total_out;
    deflateEnd(&sink->zs);
    if (sink->failed) {
        free(sink->out);
        sink->out = NULL;
        return -1;
    }
    *out = sink->out;
    *out_len = len;
    sink->out = NULL;
    return 0;
}
