/* The Kubernetes names only the injector writes or reads (labels, containers, volumes, paths),
 * defined once so the mutation, the docs and the tests cannot drift apart. The annotations and
 * environment variables, which other programs share, are in podprof/names.h. */
#ifndef PODPROF_INJECTOR_NAMES_H
#define PODPROF_INJECTOR_NAMES_H

#include "podprof/names.h"
#include "podprof/spool_format.h"

#define PP_LABEL_TAG_SERVICE "tags.datadoghq.com/service"
#define PP_LABEL_TAG_ENV "tags.datadoghq.com/env"
#define PP_LABEL_TAG_VERSION "tags.datadoghq.com/version"
#define PP_LABEL_APP_NAME "app.kubernetes.io/name"
#define PP_LABEL_POD_TEMPLATE_HASH "pod-template-hash"

#define PP_NAMESPACE_KUBE_SYSTEM "kube-system"

#define PP_INIT_CONTAINER "podprof-init"
#define PP_EXPORTER_CONTAINER "podprof-exporter"

#define PP_VOLUME_LIBRARY "podprof"
#define PP_VOLUME_SPOOL "podprof-spool"
#define PP_VOLUME_PODINFO "podprof-podinfo"

#define PP_PATH_LIBRARY_DIR "/opt/podprof"
#define PP_PATH_LIBRARY PP_PATH_LIBRARY_DIR "/libpodprof.so"
#define PP_PATH_SPOOL "/var/run/podprof"
#define PP_PATH_OUTPUT_PREFIX PP_PATH_SPOOL "/" PP_SPOOL_DEFAULT_BASE
#define PP_PATH_PODINFO "/etc/podprof/podinfo"
#define PP_PODINFO_LABELS "labels"
#define PP_PATH_LABELS_FILE PP_PATH_PODINFO "/" PP_PODINFO_LABELS
#define PP_PODPROF_BINARY "/podprof/bin/podprof"

#endif
