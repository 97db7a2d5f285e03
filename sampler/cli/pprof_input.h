/* The CLI's one pprof reader: a file or buffer (gzip or raw protobuf) decoded and checked, so
 * `top`, `flamegraph`, `diff` and `collapse` never see an index that points nowhere. Input of
 * any origin may be truncated, corrupt or hostile: its size, its decompressed size and every
 * reference inside it are bounded or checked before use. */
#ifndef PODPROF_CLI_PPROF_INPUT_H
#define PODPROF_CLI_PPROF_INPUT_H

#include <stddef.h>
#include <stdint.h>

#include "profile.pb-c.h"

/* A podprof profile is a few MiB; these bounds leave room for other profilers' files while
 * keeping a gzip bomb or a huge file from taking the machine's memory. */
#define PPROF_INPUT_MAX_FILE_BYTES (256u << 20)
#define PPROF_INPUT_MAX_PROFILE_BYTES (256u << 20)

typedef struct pprof_id_index pprof_id_index;

typedef struct pprof_input {
    Perftools__Profiles__Profile *p;
    pprof_id_index *fn_ix, *loc_ix;
} pprof_input;

/* Loads and checks one profile into in (zeroed first). On bad input returns -1 with a one-line
 * reason in err and leaves in empty; pprof_input_free is safe either way. */
int pprof_input_load_file(pprof_input *in, const char *path, char *err, size_t err_len);
int pprof_input_load_buffer(pprof_input *in, const unsigned char *data, size_t len, char *err,
                            size_t err_len);
void pprof_input_free(pprof_input *in);

/* Lookups by id; every id a checked profile's samples and locations use resolves. */
const Perftools__Profiles__Location *pprof_input_location(const pprof_input *in, uint64_t id);
const Perftools__Profiles__Function *pprof_input_function(const pprof_input *in, uint64_t id);
/* Positions in p->function / p->location, for callers keeping per-entry arrays. */
size_t pprof_input_function_pos(const pprof_input *in, uint64_t id);
size_t pprof_input_location_pos(const pprof_input *in, uint64_t id);

/* string_table[i], or "" for an index out of range. */
const char *pprof_input_string(const pprof_input *in, int64_t i);

/* Name and unit of sample type i. */
const char *pprof_input_type_name(const pprof_input *in, size_t i);
const char *pprof_input_type_unit(const pprof_input *in, size_t i);

/* Index of the sample type named exactly `name`, or -1. */
int pprof_input_type_index(const pprof_input *in, const char *name);

/* The string label `key` of a sample, or NULL when it has none. */
const char *pprof_input_sample_label(const pprof_input *in, const Perftools__Profiles__Sample *s,
                                     const char *key);

/* "cpu-time/nanoseconds, cpu-samples/count, ..." into buf (truncated to fit). */
void pprof_input_list_types(const pprof_input *in, char *buf, size_t len);

#endif
