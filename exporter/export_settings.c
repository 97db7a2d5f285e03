/* The exporter's settings table: every environment variable `podprof export` reads, with its
 * default, range and help. export_config.c parses it, `podprof export --help` and
 * docs/config-exporter.md are written from it, and the injector links this file to know which
 * settings a pod may pass through annotations. Data only (one small check). */
#include <stddef.h>
#include <string.h>

#include "endpoint.h"
#include "export_config.h"
#include "podprof/log.h"
#include "podprof/names.h"
#include "podprof/settings_tables.h"

#define F(field) offsetof(ex_config, field)

/* Every string setting ends up in a URL, a path or an HTTP header: a control character (CR LF
 * would inject a header) is always a mistake. */
static bool printable(const char *text)
{
    return !pp_setting_has_control(text);
}
static const pp_setting_type text = {"text without control characters", printable, NULL, NULL};

/* The agentless intake receives the API key in a header: never over plain HTTP. */
static bool https_url(const char *text)
{
    return printable(text) && strncmp(text, "https://", 8) == 0;
}
static const pp_setting_type https = {"an https:// URL (the API key never travels in clear)",
                                      https_url, NULL, NULL};

static const char *const log_levels[] = PP_LOG_LEVEL_CHOICES;

#define STR(env, field, dflt)                                                                      \
    .name = env, .kind = PP_SETTING_STRING, .type = &text, .offset = F(field), .def = dflt

const pp_setting pp_exporter_settings[] = {
    {STR(PP_ENV_AGENT_URL, agent_url, NULL),
     .help = "Agent base URL, `http://host:port[/prefix]` or `unix:///path/to/apm.socket`; wins "
             "over host and port. Profiles go to `<url>/profiling/v1/input`."},
    {STR(PP_ENV_AGENT_HOST, agent_host, "localhost"),
     .help = "Agent host (the injector sets it from `status.hostIP`). When neither it, the port "
             "nor the URL is set and `" EX_DEFAULT_AGENT_SOCKET "` exists, that socket is used, "
             "as dd-trace-py does."},
    {.name = PP_ENV_AGENT_PORT,
     .kind = PP_SETTING_INT,
     .offset = F(agent_port),
     .def = "8126",
     .min = 1,
     .max = 65535,
     .help = "Agent trace port."},
    {.name = PP_ENV_API_TIMEOUT_MS,
     .kind = PP_SETTING_INT,
     .offset = F(timeout_ms),
     .def = "10000",
     .min = 100,
     .max = 600000,
     .flags = PP_SETTING_POD,
     .help = "Bound on every upload request (connect, send and response), in milliseconds."},
    {.name = PP_ENV_AGENTLESS,
     .kind = PP_SETTING_BOOL,
     .offset = F(agentless),
     .def = "false",
     .help = "Send directly to `https://intake.profile.<" PP_ENV_SITE ">/api/v2/profile` over TLS "
             "with certificate verification instead of the agent. Needs `" PP_ENV_API_KEY "`."},
    {STR(PP_ENV_API_KEY, api_key, NULL), .flags = PP_SETTING_SECRET,
     .help = "API key for agentless uploads (sent as `DD-API-KEY`; never logged)."},
    {STR(PP_ENV_SITE, site, "datadoghq.com"), .help = "Datadog site for agentless uploads."},
    {STR(PP_ENV_ENTITY_ID, entity_id, NULL),
     .help = "Sent as the `Datadog-Entity-ID` header (the injector sets the pod UID)."},
    {STR(PP_ENV_K8S_POD_NAME, pod_name, NULL), .help = "Tag `pod_name`."},
    {STR(PP_ENV_K8S_NAMESPACE, pod_namespace, NULL), .help = "Tag `kube_namespace`."},
    {STR(PP_ENV_K8S_NODE, node_name, NULL), .help = "Tag `kube_node`."},
    {STR(PP_ENV_K8S_LABELS_FILE, labels_file, NULL),
     .help = "Downward API `labels` file (`key=\"value\"` lines), re-read before every upload."},
    {STR(PP_ENV_POD_LABELS_AS_TAGS, labels_as_tags, "*"), .flags = PP_SETTING_KEEP_EMPTY,
     .help = "Which pod labels become tags: `*` (all, under their own name), or "
             "`label=tag,label2` (only these, renamed where `=tag` is given); empty for none. "
             "`pod-template-hash` and `controller-revision-hash` are never tags."},
    {.name = PP_ENV_LOG_LEVEL,
     .kind = PP_SETTING_CHOICE,
     .offset = F(log_level),
     .def = "info",
     .choices = log_levels,
     .flags = PP_SETTING_POD,
     .help = "Verbosity of the exporter's stderr lines: error, warn, info (start, stop, and why "
             "the endpoint was chosen) or debug."},
    {.name = PP_ENV_EXPORT_INTAKE_URL,
     .kind = PP_SETTING_STRING,
     .type = &https,
     .offset = F(intake_url),
     .help = "Overrides the agentless intake URL (testing, or a proxy in front of the intake)."},
    {STR(PP_ENV_EXPORT_CA_FILE, ca_file, NULL),
     .help = "PEM bundle of CA certificates trusted for agentless TLS instead of the system "
             "store."},
    {.name = PP_ENV_EXPORT_MAX_ATTEMPTS,
     .kind = PP_SETTING_INT,
     .offset = F(max_attempts),
     .def = "4",
     .min = 1,
     .max = 100,
     .help = "Attempts per profile on retryable failures (refused, timeout, 5xx, 429) before it "
             "is dropped and counted."},
    {.name = PP_ENV_EXPORT_RETRY_BASE_MS,
     .kind = PP_SETTING_INT,
     .offset = F(retry_base_ms),
     .def = "2000",
     .min = 1,
     .max = 600000,
     .help = "First retry delay; doubles per attempt (capped at 60 s), and each delay is drawn "
             "at random from the upper half of its value."},
    {.name = PP_ENV_EXPORT_RESCAN_S,
     .kind = PP_SETTING_INT,
     .offset = F(rescan_s),
     .def = "10",
     .min = 1,
     .max = 3600,
     .help = "Periodic spool rescan, in addition to inotify."},
    {.name = PP_ENV_EXPORT_SPOOL_MAX_PROFILES,
     .kind = PP_SETTING_INT,
     .offset = F(spool_max_profiles),
     .def = "64",
     .min = 1,
     .max = 100000,
     .help = "Most profiles kept waiting in the spool; beyond it the oldest are dropped."},
    {.name = PP_ENV_EXPORT_SPOOL_MAX_MIB,
     .kind = PP_SETTING_INT,
     .offset = F(spool_max_mib),
     .def = "48",
     .min = 1,
     .max = 1 << 20,
     .help = "Most bytes (MiB) of profiles kept waiting; beyond it the oldest are dropped."},
    {.name = PP_ENV_EXPORT_DRAIN_MS,
     .kind = PP_SETTING_INT,
     .offset = F(drain_ms),
     .def = "10000",
     .min = 0,
     .max = 600000,
     .help = "On SIGTERM, time allowed to upload what is complete before exiting 0."},
    {.name = PP_ENV_EXPORT_MEMORY_LIMIT_MIB,
     .kind = PP_SETTING_INT,
     .offset = F(memory_limit_mib),
     .def = "0",
     .min = 0,
     .max = 1 << 20,
     .help = "The exporter's memory limit (MiB), which sizes what one spool file may cost: the "
             "compressed and the inflated profile, its decoded form and the metadata JSON; a "
             "file that does not fit is dropped and counted (`too_large`). 0: the container's "
             "cgroup memory limit, or " EX_MEMORY_DEFAULT_MIB_TEXT " MiB when there is none."},
};
const size_t pp_exporter_settings_len =
    sizeof pp_exporter_settings / sizeof pp_exporter_settings[0];
