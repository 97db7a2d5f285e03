/* Reading a .pprof (gzip, or raw protobuf): the whole file within one bound, decompressed within
 * another, so a corrupt or hostile file fails with one line instead of exhausting memory. The one
 * reader and gunzip of profiles: the exporter's upload payload and every CLI command that reads
 * a profile (`top`, `run`'s summary, the pictures, through sampler/cli/pprof_input.c) use it, each
 * passing the bounds that suit its memory limit. */
#ifndef PODPROF_EXPORTER_PPROF_FILE_H
#define PODPROF_EXPORTER_PPROF_FILE_H

#include <stddef.h>

/* All of fd (which it closes), at most max_bytes: a malloc'd buffer, or NULL with a one-line
 * reason in err. */
unsigned char *ex_pprof_read_fd(int fd, size_t max_bytes, size_t *len, char *err, size_t errcap);

/* All of path, which must be a regular file (a FIFO or device is refused, never waited on), at
 * most max_bytes: a malloc'd buffer, or NULL with a one-line reason in err. */
unsigned char *ex_pprof_read_file(const char *path, size_t max_bytes, size_t *len, char *err,
                                  size_t errcap);

/* The protobuf bytes of a .pprof's contents: data itself when it is not gzip, else data
 * decompressed to at most max_raw bytes into a malloc'd buffer left in *owned (NULL otherwise;
 * the caller frees it). Returns 0, or EX_PPROF_CORRUPT or EX_PPROF_TOO_LARGE (it inflates beyond
 * max_raw) with a one-line reason in err. */
#define EX_PPROF_CORRUPT (-1)
#define EX_PPROF_TOO_LARGE (-2)
int ex_pprof_protobuf(const unsigned char *data, size_t len, size_t max_raw,
                      const unsigned char **raw, size_t *raw_len, unsigned char **owned, char *err,
                      size_t errcap);

#endif
