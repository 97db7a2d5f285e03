/* Every Kubernetes name the injector reads or writes (annotations, labels, containers, volumes,
 * paths, env), defined once so the mutation, the docs and the tests cannot drift apart. */
#ifndef PODPROF_INJECTOR_NAMES_H
#define PODPROF_INJECTOR_NAMES_H

#define PP_ANNOTATION_PREFIX "profiling.datadoghq.com/"
#define PP_ANN_ENABLED PP_ANNOTATION_PREFIX "enabled"
#define PP_ANN_CONTAINERS PP_ANNOTATION_PREFIX "containers"
#define PP_ANN_CONFIG_PREFIX PP_ANNOTATION_PREFIX "config."
#define PP_ANN_INJECTED PP_ANNOTATION_PREFIX "injected"
#define PP_ANN_SKIPPED PP_ANNOTATION_PREFIX "skipped"
/* The namespace label carries the same key; its values select the webhook path. */
#define PP_NS_LABEL_ENABLED PP_ANN_ENABLED

#define PP_ANN_MIRROR_POD "kubernetes.io/config.mirror"

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
#define PP_PATH_OUTPUT_PREFIX PP_PATH_SPOOL "/profile"
#define PP_PATH_PODINFO "/etc/podprof/podinfo"
#define PP_PODINFO_LABELS "labels"
#define PP_PATH_LABELS_FILE PP_PATH_PODINFO "/" PP_PODINFO_LABELS
#define PP_PODPROF_BINARY "/podprof/bin/podprof"

/* Environment of the application containers (read by libpodprof.so). */
#define PP_ENV_LD_PRELOAD "LD_PRELOAD"
#define PP_ENV_PROFILING_ENABLED "DD_PROFILING_ENABLED"
#define PP_ENV_OUTPUT_PPROF "DD_PROFILING_OUTPUT_PPROF"
#define PP_ENV_K8S_CONTAINER "DD_PROFILING_K8S_CONTAINER"
#define PP_ENV_SERVICE "DD_SERVICE"
#define PP_ENV_ENV "DD_ENV"
#define PP_ENV_VERSION "DD_VERSION"

/* Environment of the exporter sidecar (read by `podprof export`). */
#define PP_ENV_AGENT_HOST "DD_AGENT_HOST"
#define PP_ENV_AGENT_URL "DD_TRACE_AGENT_URL"
#define PP_ENV_ENTITY_ID "DD_ENTITY_ID"
#define PP_ENV_K8S_POD_NAME "DD_PROFILING_K8S_POD_NAME"
#define PP_ENV_K8S_NAMESPACE "DD_PROFILING_K8S_NAMESPACE"
#define PP_ENV_K8S_NODE "DD_PROFILING_K8S_NODE"
#define PP_ENV_K8S_LABELS_FILE "DD_PROFILING_K8S_LABELS_FILE"
#define PP_ENV_POD_LABELS_AS_TAGS "DD_PROFILING_POD_LABELS_AS_TAGS"
#define PP_ENV_AGENTLESS "DD_PROFILING_AGENTLESS"
#define PP_ENV_API_KEY "DD_API_KEY"
#define PP_ENV_SITE "DD_SITE"

#endif
