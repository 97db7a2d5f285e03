/* The injector's settings table: one row per flag, which is also an environment variable and a
 * config file key. */
#include <ctype.h>
#include <stddef.h>
#include <stdio.h>

#include "config_options.h"
#include "podprof/version.h"

static const char *const log_levels[] = {"error", "warn", "info", "debug", NULL};
static const char *const sidecar_modes[] = {"native", "container", NULL};
static const char *const pull_policies[] = {"IfNotPresent", "Always", "Never", NULL};

#define S INJ_SCOPE_SERVE
#define M INJ_SCOPE_MUTATE
#define F(field) offsetof(inj_config, field)

const struct opt inj_opts[] = {
    {"config", K_FILE, NO_FIELD, "", S | M, 0, 0, NULL, "FILE",
     "Config file (JSON or YAML) whose keys are the names below with '-' written as '_'."},
    {"listen", K_STR, F(listen), "0.0.0.0:8443", S, 0, 0, NULL, "ADDR:PORT",
     "Address the HTTPS server listens on (port 0 picks a free port, logged at start)."},
    {"tls-cert", K_STR, F(tls_cert), "/etc/podprof/tls/tls.crt", S, 0, 0, NULL, "FILE",
     "PEM serving certificate (chain). Reloaded when the file changes."},
    {"tls-key", K_STR, F(tls_key), "/etc/podprof/tls/tls.key", S, 0, 0, NULL, "FILE",
     "PEM private key of the serving certificate. Reloaded when the file changes."},
    {"workers", K_INT, F(workers), "0", S, 0, 64, NULL, "N",
     "Event-loop threads sharing the port with SO_REUSEPORT; 0 = one per online CPU."},
    {"request-timeout", K_INT, F(request_timeout_s), "10", S, 1, 300, NULL, "SECONDS",
     "Longest time a request may take to arrive and be answered once its first byte came; a "
     "slower (or trickling) client is disconnected."},
    {"idle-timeout", K_INT, F(idle_timeout_s), "120", S, 1, 3600, NULL, "SECONDS",
     "How long a connection may stay silent (idle keep-alive, or a stalled client) before it "
     "is closed. Longer than the 90 s idle timeout of Go's default HTTP transport, so a Go "
     "client such as the API server closes an idle connection before the server does."},
    {"max-body-bytes", K_INT, F(max_body_bytes), "3145728", S, 1024, 64 << 20, NULL, "BYTES",
     "Largest request body accepted; a larger one gets 413."},
    {"max-header-bytes", K_INT, F(max_header_bytes), "16384", S, 1024, 1 << 20, NULL, "BYTES",
     "Largest request line plus headers accepted."},
    {"shutdown-timeout", K_INT, F(shutdown_timeout_s), "20", S, 0, 600, NULL, "SECONDS",
     "After SIGTERM, how long requests in flight may take to finish before the server exits."},
    {"cert-check-interval", K_INT, F(cert_check_interval_s), "5", S, 1, 3600, NULL, "SECONDS",
     "How often the certificate files are checked for changes."},
    {"log-level", K_ENUM, F(log_level), "info", S | M, 0, 0, log_levels, "LEVEL",
     "error, warn, info (one line per admission) or debug."},
    {"namespace", K_STR, F(namespace_), "", S | M, 0, 0, NULL, "NS",
     "The injector's own namespace, never mutated (the chart sets it from the Downward API)."},
    {"sampler-image", K_IMAGE, F(sampler_image), "ghcr.io/podprof/podprof-sampler:" PODPROF_VERSION,
     S | M, 0, 0, NULL, "IMAGE", "Image of the podprof-init container and the exporter sidecar."},
    {"image-pull-policy", K_ENUM, F(image_pull_policy), "IfNotPresent", S | M, 0, 0, pull_policies,
     "POLICY", "imagePullPolicy of the injected containers."},
    {"init-cpu", K_QUANTITY, F(init_cpu), "50m", S | M, 0, 0, NULL, "QUANTITY",
     "CPU request and limit of podprof-init."},
    {"init-memory", K_QUANTITY, F(init_memory), "32Mi", S | M, 0, 0, NULL, "QUANTITY",
     "Memory request and limit of podprof-init."},
    {"exporter-cpu", K_QUANTITY, F(exporter_cpu), "50m", S | M, 0, 0, NULL, "QUANTITY",
     "CPU request and limit of the podprof-exporter sidecar."},
    {"exporter-memory", K_QUANTITY, F(exporter_memory), "48Mi", S | M, 0, 0, NULL, "QUANTITY",
     "Memory request and limit of the podprof-exporter sidecar."},
    {"library-volume-size", K_QUANTITY, F(library_volume_size), "32Mi", S | M, 0, 0, NULL,
     "QUANTITY", "sizeLimit of the podprof emptyDir (the library)."},
    {"spool-volume-size", K_QUANTITY, F(spool_volume_size), "64Mi", S | M, 0, 0, NULL, "QUANTITY",
     "sizeLimit of the podprof-spool emptyDir (profiles waiting for upload)."},
    {"run-as-user", K_INT, F(run_as_user), "65532", S | M, 1, 2147483647, NULL, "UID",
     "runAsUser/runAsGroup of the injected containers (non-root, Pod Security restricted)."},
    {"agent-url", K_STR, F(agent_url), "", S | M, 0, 0, NULL, "URL",
     "Datadog Agent trace URL (http://, https:// or unix://) given to the exporter as "
     "DD_TRACE_AGENT_URL; empty = DD_AGENT_HOST from the node's IP (status.hostIP)."},
    {"sidecar-mode", K_ENUM, F(sidecar_mode), "native", S | M, 0, 0, sidecar_modes, "MODE",
     "native: the exporter is an init container with restartPolicy Always (Kubernetes >= 1.29); "
     "container: a plain container, for older clusters."},
    {"skip-containers", K_LIST, F(skip_containers),
     "istio-proxy,istio-validation,linkerd-proxy,linkerd-init,envoy,envoy-sidecar,"
     "consul-dataplane,consul-connect-envoy-sidecar,kuma-sidecar,vault-agent,vault-agent-init,"
     "cloud-sql-proxy,datadog-agent,"
     "podprof-exporter",
     S | M, 0, 0, NULL, "NAME,...",
     "Containers never profiled unless the pod names them in profiling.datadoghq.com/containers."},
    {"default-env", K_ENV, F(default_env), "", S | M, 0, 0, NULL, "NAME=VALUE,...",
     "Extra environment for every profiled container, where the container does not set it (in a "
     "config file: a mapping)."},
    {"pod-labels-as-tags", K_STR, F(pod_labels_as_tags), "", S | M, 0, 0, NULL, "POLICY",
     "DD_PROFILING_POD_LABELS_AS_TAGS for the exporter: '*' (every label), 'label=tag,...', "
     "or 'none'; empty = not set (the exporter's default)."},
    {"agentless", K_BOOL, F(agentless), "false", S | M, 0, 0, NULL, "BOOL",
     "Upload straight to the Datadog intake (DD_PROFILING_AGENTLESS) instead of the Agent."},
    {"site", K_STR, F(site), "datadoghq.com", S | M, 0, 0, NULL, "SITE",
     "DD_SITE for agentless uploads."},
    {"api-key-secret", K_STR, F(api_key_secret), "", S | M, 0, 0, NULL, "NAME",
     "Secret (in the pod's namespace) holding DD_API_KEY for agentless uploads; required with "
     "--agentless."},
    {"api-key-secret-key", K_STR, F(api_key_secret_key), "api-key", S | M, 0, 0, NULL, "KEY",
     "Key of the API key inside that Secret."},
};
const size_t inj_n_opts = sizeof inj_opts / sizeof inj_opts[0];

void inj_cfg_env_name_of(const struct opt *o, char *buf, size_t n)
{
    size_t i = (size_t)snprintf(buf, n, "PODPROF_INJECTOR_");
    for (const char *p = o->name; *p && i + 1 < n; p++)
        buf[i++] = *p == '-' ? '_' : (char)toupper((unsigned char)*p);
    buf[i] = '\0';
}

void inj_cfg_file_key_of(const struct opt *o, char *buf, size_t n)
{
    size_t i = 0;
    for (const char *p = o->name; *p && i + 1 < n; p++)
        buf[i++] = *p == '-' ? '_' : *p;
    buf[i] = '\0';
}
