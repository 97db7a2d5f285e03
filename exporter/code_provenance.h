/* The upload's code-provenance.json attachment: which library each file of the profile belongs
 * to, in the shape Datadog's Python profiler sends ({"v1": [{"kind", "name", "version",
 * "paths"}]}), zstd-compressed like the profile.
 *
 * The exporter cannot see the application's filesystem (it runs in another container), so the
 * facts come from the sampler, in the metadata's code_provenance object
 * (podprof/provenance_keys.h): the standard-library directories and <frozen …> modules, and the
 * installed distributions with their paths. This adds what every upload carries regardless: the
 * standard library's entry (kind "standard library", name "stdlib", the interpreter's version, and
 * importlib's two frozen modules) and the synthetic `native` library whose path `<native>` covers
 * native frames. */
#ifndef PODPROF_EXPORTER_CODE_PROVENANCE_H
#define PODPROF_EXPORTER_CODE_PROVENANCE_H

#include <cjson/cJSON.h>
#include <stddef.h>

/* The attachment's part name and file name, listed before profile.pprof in event.json. */
#define EX_PROVENANCE_ATTACHMENT "code-provenance.json"

/* Builds the compressed attachment from the metadata's code_provenance object. Returns 0 and a
 * malloc'd zstd frame in *out, or -1 with a one-line reason in err when the object is malformed
 * (not an object, or a member of the wrong type) or memory runs out. */
int ex_provenance_attachment(const cJSON *provenance, const char *python_version, void **out,
                             size_t *out_len, char *err, size_t errcap);

#endif
