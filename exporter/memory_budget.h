/* What one spool file may cost the exporter, derived from its memory limit, so that no file the
 * application writes (a gzip bomb, a protobuf whose decoded form is a hundred times its size, a
 * metadata JSON of a million tiny nodes) can push the sidecar over the limit its container has.
 * The limit comes from PODPROF_EXPORT_MEMORY_LIMIT_MIB, else the container's cgroup, else a
 * default equal to the chart's default for the exporter. Allocations that can grow with the input
 * (protobuf-c's unpacking, cJSON's parsing) go through counting allocators that fail once their
 * share is spent, so the decoder gives up instead of the kernel killing the process. */
#ifndef PODPROF_EXPORTER_MEMORY_BUDGET_H
#define PODPROF_EXPORTER_MEMORY_BUDGET_H

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>

#include "export_config.h"

/* Kept for the program itself: code, libraries, libcurl and OpenSSL after the first upload
 * (about 11 MiB measured), the upload's buffers, and allocator slack. */
#define EX_MEMORY_RESERVE_MIB 16
#define EX_MEMORY_MIN_WORK_MIB 4 /* what a file may use even under a tiny limit */

typedef struct ex_memory_budget {
    size_t limit;      /* bytes, the process's limit */
    size_t max_file;   /* a .pprof as read from the spool (compressed) */
    size_t max_raw;    /* the protobuf once inflated */
    size_t max_decode; /* protobuf-c's unpacked Profile */
    size_t max_meta;   /* cJSON's tree of the metadata, and what is built from it */
} ex_memory_budget;

/* The limit in bytes: setting_mib when > 0, else the cgroup's memory limit (v2 memory.max or v1
 * memory.limit_in_bytes), else EX_MEMORY_DEFAULT_MIB (export_config.h). *source names where it came
 * from. */
size_t ex_memory_limit(int setting_mib, const char **source);

/* Splits limit minus the reserve: a file and its inflated form live together while inflating,
 * the inflated form and its decoded tree while checking it, and the metadata's tree throughout,
 * so max_file + max_raw, max_raw + max_decode (+ max_meta) stay within the working share. */
void ex_memory_budget_from_limit(size_t limit, ex_memory_budget *b);

/* A protobuf-c allocator that fails once `left` bytes (counted with the allocator's per-block
 * overhead) are spent. */
typedef struct ex_counting_allocator {
    ProtobufCAllocator base;
    size_t left;
    int exhausted;
} ex_counting_allocator;
void ex_counting_allocator_init(ex_counting_allocator *a, size_t bytes);

/* Makes cJSON's allocations on the calling thread count against `bytes` until
 * ex_json_budget_end(); returns nonzero from ex_json_budget_end when the budget ran out. Other
 * threads' cJSON use is not affected. */
void ex_json_budget_begin(size_t bytes);
int ex_json_budget_end(void);

#endif
