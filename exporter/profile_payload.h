/* Turns a spool .pprof (gzip or raw protobuf) into the upload attachment: read, inflated and
 * decoded each within its share of the exporter's memory budget (memory_budget.h), checked to
 * decode as a pprof Profile (so a corrupt file is dropped, not sent), then compressed with zstd
 * as the intake expects. */
#ifndef PODPROF_EXPORTER_PROFILE_PAYLOAD_H
#define PODPROF_EXPORTER_PROFILE_PAYLOAD_H

#include <stddef.h>

#include "memory_budget.h"

#define EX_UPLOAD_MAX_BYTES (10u << 20) /* the intake skips larger profiles */

typedef enum {
    EX_PAYLOAD_OK,
    EX_PAYLOAD_CORRUPT,
    EX_PAYLOAD_TOO_LARGE,
    EX_PAYLOAD_UNSAFE, /* not a file the spool may hold (spool_file.h) */
    EX_PAYLOAD_NOMEM
} ex_payload_status;

/* Reads fd (and closes it). On EX_PAYLOAD_OK *out is the zstd frame (malloc'd); otherwise err
 * says why in one line: EX_PAYLOAD_TOO_LARGE for what does not fit in the budget or the intake. */
ex_payload_status ex_payload_from_fd(int fd, const ex_memory_budget *b, void **out, size_t *out_len,
                                     char *err, size_t errcap);

#endif
