/* Encodes an aggregate as a gzip-compressed pprof: the perftools.profiles.Profile message of
 * github.com/google/pprof's proto/profile.proto, which `go tool pprof` and Datadog read. */
#ifndef PODPROF_SAMPLER_PPROF_WRITER_H
#define PODPROF_SAMPLER_PPROF_WRITER_H

#include <stddef.h>
#include <stdint.h>

#include "aggregate.h"
#include "profile_output.h"

/* On success returns 0 and a malloc'd buffer the caller frees; -1 when memory or zlib fail. Uses
 * info's start/end, period and effective rate. */
int pp_pprof_encode_gzip(const pp_agg *agg, const pp_flush_info *info, unsigned char **out,
                         size_t *out_len);

#endif
