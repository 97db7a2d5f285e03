/* The code-provenance part of a profile's metadata (<prefix>.<pid>.<seq>.json), written by
 * libpodprof.so and read by the exporter, which turns it into the upload's code-provenance.json:
 *
 *   "code_provenance": {"stdlib": ["/usr/lib/python3.11", "<frozen runpy>"],
 *                       "libraries": [{"name": "Flask", "version": "3.0.3",
 *                                      "paths":
 * ["/app/.venv/lib/python3.11/site-packages/flask"]}]}
 *
 * stdlib: the standard-library directories and <frozen …> modules the profile's files are in;
 * libraries: the installed distributions they belong to, each with the site-packages paths of the
 * top-level packages and modules it installed. The key is absent when code provenance is off. */
#ifndef PODPROF_PROVENANCE_KEYS_H
#define PODPROF_PROVENANCE_KEYS_H

#define PP_META_CODE_PROVENANCE "code_provenance"
#define PP_PROVENANCE_STDLIB "stdlib"
#define PP_PROVENANCE_LIBRARIES "libraries"
#define PP_PROVENANCE_NAME "name"
#define PP_PROVENANCE_VERSION "version"
#define PP_PROVENANCE_PATHS "paths"

#endif
