/* One upload: a multipart/form-data POST of event.json and the zstd pprof with libcurl, bounded
 * by a timeout, and the outcome classified as success, retryable or rejected. */
#ifndef PODPROF_EXPORTER_UPLOADER_H
#define PODPROF_EXPORTER_UPLOADER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "endpoint.h"
#include "faults.h"

typedef enum { EX_UP_OK, EX_UP_RETRY, EX_UP_REJECTED } ex_up_status;

typedef struct ex_upload_result {
    ex_up_status status;
    ex_fault_kind fault; /* when not OK */
    long http_code;      /* 0 when no response */
    char detail[320];    /* one line: curl's error, or the status and the start of the body */
} ex_upload_result;

typedef struct ex_upload_req {
    const char *event_json;
    const void *pprof; /* zstd frame */
    size_t pprof_len;
    const char *entity_id; /* NULL: no Datadog-Entity-ID header */
    long timeout_ms;
    /* polled while the transfer runs; true aborts it (shutdown deadline passed) */
    bool (*should_abort)(void *ctx);
    void *abort_ctx;
} ex_upload_req;

/* curl_global_init must have been called. */
ex_upload_result ex_upload(const ex_endpoint *ep, const ex_upload_req *req);

#endif
