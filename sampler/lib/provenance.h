/* Code provenance (DD_PROFILING_ENABLE_CODE_PROVENANCE): which installed distribution (name and
 * version), or the standard library, each source file of a profile belongs to.
 *
 * Only the application's own filesystem can tell, and the exporter that builds the upload's
 * code-provenance.json runs in another container, so the library finds it and writes it into each
 * profile's metadata. It imports nothing, takes no lock of the interpreter and reads no
 * interpreter memory: everything is derived from the file names the profile already holds, and
 * from small files on disk.
 *
 * - A file under a directory named site-packages or dist-packages (a virtualenv, the user site,
 *   Debian's /usr/lib/python3/dist-packages and /usr/local/lib/pythonX.Y/dist-packages, conda)
 *   belongs to one of the distributions installed there: each `*.dist-info` (METADATA for the name
 *   and version, RECORD for the files it installed, else top_level.txt) and each `*.egg-info`
 *   (PKG-INFO, then installed-files.txt or top_level.txt) names the top-level packages and modules
 *   it installed, and a file belongs to the distribution that installed its top-level package. A
 *   top-level directory several distributions install into (a namespace package such as google/)
 *   is split one level further (google/protobuf, google/api_core).
 * - A file under <prefix>/lib/pythonX.Y (or lib64), X.Y being the running interpreter's version,
 *   where os.py is (the landmark CPython itself finds its standard library by) is standard
 *   library, and so is every `<frozen …>` module.
 * - Anything else (the application's own files, wherever they are, and relative paths) belongs to
 *   no library. A site-packages file that no installed distribution lists (copied in by hand) does
 *   not either.
 *
 * Why the profile's file names and not sys.path: sys.path lives in interpreter memory that can
 * change under a reader without the GIL, and its entries would still have to be matched to the
 * file names the frames carry. The frames' own names are what Datadog matches the paths against,
 * spelled exactly as they are (symlinks such as lib64 included), so roots derived from them always
 * match; and only directories the profile actually runs code from are ever read.
 *
 * Cost: a file name is classified once per process (remembered by hash); a directory of
 * distributions is read once, when a file under it first appears in a profile. So a steady workload
 * pays only for lookups, and only at flushes (never while sampling). Memory and time are bounded:
 * see the limits in provenance.c; what does not fit is left unattributed, and counted. */
#ifndef PODPROF_SAMPLER_PROVENANCE_H
#define PODPROF_SAMPLER_PROVENANCE_H

#include <stddef.h>
#include <stdint.h>

#include "aggregate.h"

typedef struct pp_provenance pp_provenance;

typedef struct pp_provenance_library {
    const char *name, *version;
    const char *const *paths; /* absolute: <site dir>/<top-level package or module> */
    size_t n_paths;
} pp_provenance_library;

/* What the files of one profile belong to. */
typedef struct pp_provenance_view {
    const char *const *stdlib; /* standard-library directories and <frozen …> names */
    size_t n_stdlib;
    const pp_provenance_library *libraries;
    size_t n_libraries;
} pp_provenance_view;

/* python_version: the running interpreter's ("3.12.1"); its X.Y picks the standard library. */
pp_provenance *pp_provenance_new(const char *python_version);
void pp_provenance_free(pp_provenance *pv);

/* Classifies every file name of the aggregate's stacks (reading the filesystem for names not seen
 * before) and fills view with the distributions and standard library they belong to. The view
 * stays valid until the next call or pp_provenance_free. Returns 0, or -1 when out of memory. */
int pp_provenance_collect(pp_provenance *pv, const pp_agg *agg, pp_provenance_view *view);

/* Things left unattributed because a bound was reached (directories, distributions, names). */
uint64_t pp_provenance_truncated(const pp_provenance *pv);

#endif
