/* The sample types a profile may carry and how a user names them: `--type` takes a type's pprof
 * name (`cpu-time`, `alloc-space`, Go's `alloc_space`), `name/unit`, or a short alias (`cpu`,
 * `wall`, `alloc`, `heap`, `lock-wait`, `gil`, ...). Every name the sampler writes is known here
 * with a human title; any other type a profile declares works by its own name. */
#ifndef PODPROF_CLI_SAMPLE_TYPES_H
#define PODPROF_CLI_SAMPLE_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "pprof_input.h"

typedef struct sample_type_info {
    const char *name;    /* pprof sample type, "cpu-time" */
    const char *aliases; /* space-separated short names, "cpu" */
    const char *title;   /* "CPU time" */
    const char *brief;   /* "CPU": the headline of `top` */
    const char *counter; /* the companion sample count ("cpu-samples"), or NULL */
} sample_type_info;

/* The known types, in the order the sampler writes them; n set to their number. */
const sample_type_info *sample_types_known(size_t *n);

/* The known entry for a pprof type name, or NULL. */
const sample_type_info *sample_type_info_of(const char *name);

/* Index of the sample type `wanted` names in this profile, or -1 with a one-line reason in err
 * that lists the types the profile has. wanted NULL picks the default: cpu-time (or Go's cpu),
 * else wall-time, else the profile's default_sample_type, else its last type. */
int sample_type_resolve(const pprof_input *in, const char *wanted, char *err, size_t err_len);

/* The known types with their aliases and titles, as text or as a markdown table. */
void sample_types_print(FILE *out, bool markdown);

#endif
