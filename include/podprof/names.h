/* Every environment variable and pod annotation that crosses programs, spelled once: the injector
 * writes them into pods, libpodprof.so and the exporter read them, the CLI sets them for `run`,
 * and the settings tables, --help and the generated docs all take their names from here. Renaming
 * one is a change to this file alone. */
#ifndef PODPROF_NAMES_H
#define PODPROF_NAMES_H

/* ---- pod annotations (and the namespace label), read and written by the injector ---- */

#define PP_ANNOTATION_PREFIX "profiling.datadoghq.com/"
/* "true" / "false" on a pod; on a namespace (as a label) "true" or "all" selects the webhook. */
#define PP_ANN_ENABLED PP_ANNOTATION_PREFIX "enabled"
#define PP_ANN_CONTAINERS PP_ANNOTATION_PREFIX "containers"
/* config.<VARIABLE>: a setting of the library or the exporter that a pod may choose. */
#define PP_ANN_CONFIG_PREFIX PP_ANNOTATION_PREFIX "config."
#define PP_ANN_INJECTED PP_ANNOTATION_PREFIX "injected"
#define PP_ANN_SKIPPED PP_ANNOTATION_PREFIX "skipped"
#define PP_NS_LABEL_ENABLED PP_ANN_ENABLED
/* Kubernetes' own: a static pod mirrored by the kubelet, never mutated. */
#define PP_ANN_MIRROR_POD "kubernetes.io/config.mirror"

/* ---- the environment of a profiled application (read by libpodprof.so) ---- */

#define PP_ENV_LD_PRELOAD "LD_PRELOAD"
#define PP_ENV_TMPDIR "TMPDIR"
#define PP_ENV_PROFILING_ENABLED "DD_PROFILING_ENABLED"
#define PP_ENV_SAMPLE_RATE "DD_PROFILING_SAMPLE_RATE"
#define PP_ENV_UPLOAD_INTERVAL "DD_PROFILING_UPLOAD_INTERVAL"
#define PP_ENV_MAX_FRAMES "DD_PROFILING_MAX_FRAMES"
#define PP_ENV_OUTPUT_PPROF "DD_PROFILING_OUTPUT_PPROF"
#define PP_ENV_MAX_TIME_USAGE_PCT "DD_PROFILING_MAX_TIME_USAGE_PCT"
#define PP_ENV_LOG_LEVEL "DD_PROFILING_LOG_LEVEL" /* the exporter reads it too */
#define PP_ENV_SERVICE "DD_SERVICE"
#define PP_ENV_ENV "DD_ENV"
#define PP_ENV_VERSION "DD_VERSION"
#define PP_ENV_TAGS "DD_TAGS"
#define PP_ENV_PROFILING_TAGS "DD_PROFILING_TAGS"
#define PP_ENV_K8S_CONTAINER "DD_PROFILING_K8S_CONTAINER"
#define PP_ENV_MEMORY_ENABLED "DD_PROFILING_MEMORY_ENABLED"
#define PP_ENV_HEAP_ENABLED "DD_PROFILING_HEAP_ENABLED"
#define PP_ENV_HEAP_SAMPLE_SIZE "DD_PROFILING_HEAP_SAMPLE_SIZE"
#define PP_ENV_MEMORY_MEM_DOMAIN_ENABLED "DD_PROFILING_MEMORY_MEM_DOMAIN_ENABLED"
#define PP_ENV_EXCEPTION_ENABLED "DD_PROFILING_EXCEPTION_ENABLED"
#define PP_ENV_EXCEPTION_SAMPLING_INTERVAL "DD_PROFILING_EXCEPTION_SAMPLING_INTERVAL"
#define PP_ENV_GIL_ENABLED "DD_PROFILING_GIL_ENABLED"
#define PP_ENV_LOCK_ENABLED "DD_PROFILING_LOCK_ENABLED"
#define PP_ENV_CAPTURE_PCT "DD_PROFILING_CAPTURE_PCT"
#define PP_ENV_TIMELINE_ENABLED "DD_PROFILING_TIMELINE_ENABLED"
#define PP_ENV_ENABLE_CODE_PROVENANCE "DD_PROFILING_ENABLE_CODE_PROVENANCE"
/* Test hooks of the library: force the pipe fallback of its reads, and the ELF symbol lookup. */
#define PP_ENV_TEST_FORCE_PROC_MEM_READS "PODPROF_TEST_FORCE_PROC_MEM_READS"
#define PP_ENV_TEST_FORCE_ELF_SYMBOLS "PODPROF_TEST_FORCE_ELF_SYMBOLS"

/* ---- the environment of the exporter (`podprof export`, and `podprof run` when it uploads) ----
 */

#define PP_ENV_AGENT_URL "DD_TRACE_AGENT_URL"
#define PP_ENV_AGENT_HOST "DD_AGENT_HOST"
#define PP_ENV_AGENT_PORT "DD_TRACE_AGENT_PORT"
#define PP_ENV_API_TIMEOUT_MS "DD_PROFILING_API_TIMEOUT_MS"
#define PP_ENV_AGENTLESS "DD_PROFILING_AGENTLESS"
#define PP_ENV_API_KEY "DD_API_KEY"
#define PP_ENV_SITE "DD_SITE"
#define PP_ENV_ENTITY_ID "DD_ENTITY_ID"
#define PP_ENV_K8S_POD_NAME "DD_PROFILING_K8S_POD_NAME"
#define PP_ENV_K8S_NAMESPACE "DD_PROFILING_K8S_NAMESPACE"
#define PP_ENV_K8S_NODE "DD_PROFILING_K8S_NODE"
#define PP_ENV_K8S_LABELS_FILE "DD_PROFILING_K8S_LABELS_FILE"
#define PP_ENV_POD_LABELS_AS_TAGS "DD_PROFILING_POD_LABELS_AS_TAGS"
#define PP_ENV_EXPORT_INTAKE_URL "PODPROF_EXPORT_INTAKE_URL"
#define PP_ENV_EXPORT_CA_FILE "PODPROF_EXPORT_CA_FILE"
#define PP_ENV_EXPORT_MAX_ATTEMPTS "PODPROF_EXPORT_MAX_ATTEMPTS"
#define PP_ENV_EXPORT_RETRY_BASE_MS "PODPROF_EXPORT_RETRY_BASE_MS"
#define PP_ENV_EXPORT_RESCAN_S "PODPROF_EXPORT_RESCAN_S"
#define PP_ENV_EXPORT_SPOOL_MAX_PROFILES "PODPROF_EXPORT_SPOOL_MAX_PROFILES"
#define PP_ENV_EXPORT_SPOOL_MAX_MIB "PODPROF_EXPORT_SPOOL_MAX_MIB"
#define PP_ENV_EXPORT_DRAIN_MS "PODPROF_EXPORT_DRAIN_MS"
#define PP_ENV_EXPORT_MEMORY_LIMIT_MIB "PODPROF_EXPORT_MEMORY_LIMIT_MIB"

/* ---- the injector's own environment: every flag --NAME is also PODPROF_INJECTOR_<NAME> ---- */

#define PP_ENV_INJECTOR_PREFIX "PODPROF_INJECTOR_"
/* Test hook of the server: every review fails while it is answered, as when memory runs out,
 * so the fail-open path and its metric can be checked end to end. */
#define PP_ENV_TEST_INJECTOR_FAIL_ANSWERS "PODPROF_TEST_INJECTOR_FAIL_ANSWERS"

#endif
