/* The pod annotations the injector reads and writes, each with what it means: the reference in
 * docs/config-injector.md (`podprof-injector config-doc`) is written from this table, and the
 * settings a pod may pass through config.<NAME> come from the library's and the exporter's own
 * tables. The names themselves are defined once, in podprof/names.h. */
#ifndef PODPROF_INJECTOR_ANNOTATIONS_H
#define PODPROF_INJECTOR_ANNOTATIONS_H

#include <stdio.h>

void inj_annotations_markdown(FILE *out);

#endif
