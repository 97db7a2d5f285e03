/* The one place the product version is defined; every binary, the injected annotation and the
 * upload's profiler_version tag read it from here. */
#ifndef PODPROF_VERSION_H
#define PODPROF_VERSION_H

#define PODPROF_VERSION "0.1.0"

#endif
