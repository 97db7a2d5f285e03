/* Turns a spool .pprof (gzip or raw protobuf) into the upload attachment: decompressed within a
 * bound, checked to decode as a pprof Profile (so a corrupt file is dropped, not sent), then
 * compressed with zstd as the intake expects. */
#ifndef PODPROF_EXPORTER_PROFILE_PAYLOAD_H
#define PODPROF_EXPORTER_PROFILE_PAYLOAD_H

#include <stddef.h>

#define EX_PPROF_MAX_FILE (16u << 20)   /* compressed .pprof read from the spool */
#define EX_PPROF_MAX_RAW (64u << 20)    /* decoded protobuf */
#define EX_UPLOAD_MAX_BYTES (10u << 20) /* the intake skips larger profiles */

typedef enum {
    EX_PAYLOAD_OK,
    EX_PAYLOAD_CORRUPT,
    EX_PAYLOAD_TOO_LARGE,
    EX_PAYLOAD_NOMEM
} ex_payload_status;

/* On EX_PAYLOAD_OK *out is the zstd frame (malloc'd); otherwise err says why in one line. */
ex_payload_status ex_payload_from_file(const char *path, void **out, size_t *out_len, char *err,
                                       size_t errcap);

#endif
