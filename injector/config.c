#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "docload.h"
#include "podprof/setting_value.h"
#include "podprof/version.h"

enum opt_kind { K_STR, K_INT, K_BOOL, K_ENUM, K_QUANTITY, K_IMAGE, K_LIST, K_ENV, K_FILE };

struct opt {
    const char *name; /* flag --name; env PODPROF_INJECTOR_NAME; file key name */
    enum opt_kind kind;
    size_t off;                 /* into inj_config; (size_t)-1 for --config itself */
    const char *def;            /* default, in the same text form a flag takes */
    int scope;                  /* INJ_SCOPE_* */
    long min, max;              /* K_INT bounds */
    const char *const *choices; /* K_ENUM, NULL-terminated; the value stored is the index */
    const char *meta;           /* placeholder in --help */
    const char *help;
};

static const char *const log_levels[] = {"error", "warn", "info", "debug", NULL};
static const char *const sidecar_modes[] = {"native", "container", NULL};
static const char *const pull_policies[] = {"IfNotPresent", "Always", "Never", NULL};

#define S INJ_SCOPE_SERVE
#define M INJ_SCOPE_MUTATE
#define F(field) offsetof(inj_config, field)
#define NO_FIELD ((size_t)-1)

/* The one table. Keep flag names stable: the Helm chart writes them into a config file. */
static const struct opt opts[] = {
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
#define N_OPTS (sizeof opts / sizeof opts[0])

static void set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

static void *field(inj_config *cfg, const struct opt *o)
{
    return (char *)cfg + o->off;
}

static void strlist_free(inj_strlist *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->items[i]);
    free(l->items);
    l->items = NULL;
    l->n = 0;
}

static int strlist_add(inj_strlist *l, const char *s, size_t n)
{
    char **items = realloc(l->items, (l->n + 1) * sizeof *items);
    if (!items)
        return -1;
    l->items = items;
    if (!(items[l->n] = strndup(s, n)))
        return -1;
    l->n++;
    return 0;
}

/* Kubernetes resource.Quantity: a decimal number with an optional suffix. */
static bool quantity_ok(const char *s)
{
    static const char *const suffixes[] = {"",   "m",  "k",  "M",  "G",  "T",  "P", "E",
                                           "Ki", "Mi", "Gi", "Ti", "Pi", "Ei", NULL};
    const char *p = s;
    bool digits = false;
    while (isdigit((unsigned char)*p)) {
        p++;
        digits = true;
    }
    if (*p == '.') {
        p++;
        while (isdigit((unsigned char)*p)) {
            p++;
            digits = true;
        }
    }
    if (!digits)
        return false;
    for (int i = 0; suffixes[i]; i++)
        if (strcmp(p, suffixes[i]) == 0)
            return true;
    return false;
}

static bool env_name_ok(const char *s, size_t n)
{
    if (n == 0 || isdigit((unsigned char)s[0]))
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '_')
            return false;
    return true;
}

/* RFC 1123 label, as Kubernetes requires of container names. */
static bool dns_label_ok(const char *s, size_t n)
{
    if (n == 0 || n > 63 || s[0] == '-' || s[n - 1] == '-')
        return false;
    for (size_t i = 0; i < n; i++)
        if (!(islower((unsigned char)s[i]) || isdigit((unsigned char)s[i]) || s[i] == '-'))
            return false;
    return true;
}

static int set_list(inj_strlist *l, const char *v, bool env, const char *name, char *err,
                    size_t errlen)
{
    strlist_free(l);
    const char *p = v;
    while (*p) {
        const char *e = strchr(p, ',');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        while (n && isspace((unsigned char)*p)) {
            p++;
            n--;
        }
        while (n && isspace((unsigned char)p[n - 1]))
            n--;
        if (n) {
            if (env) {
                const char *eq = memchr(p, '=', n);
                if (!eq || !env_name_ok(p, (size_t)(eq - p))) {
                    set_err(err, errlen, "--%s: '%.*s' is not NAME=VALUE with a valid env name",
                            name, (int)n, p);
                    return -1;
                }
            } else if (!dns_label_ok(p, n)) {
                set_err(err, errlen, "--%s: '%.*s' is not a valid container name", name, (int)n, p);
                return -1;
            }
            if (strlist_add(l, p, n) < 0) {
                set_err(err, errlen, "out of memory");
                return -1;
            }
        }
        if (!e)
            break;
        p = e + 1;
    }
    return 0;
}

static int set_value(inj_config *cfg, const struct opt *o, const char *v, char *err, size_t errlen)
{
    if (o->off == NO_FIELD)
        return 0;
    void *f = field(cfg, o);
    switch (o->kind) {
    case K_STR:
    case K_FILE:
    case K_QUANTITY:
    case K_IMAGE: {
        if (o->kind == K_QUANTITY && !quantity_ok(v)) {
            set_err(err, errlen, "--%s: '%s' is not a Kubernetes quantity (e.g. 50m, 32Mi)",
                    o->name, v);
            return -1;
        }
        if (o->kind == K_IMAGE && (v[0] == '\0' || strpbrk(v, " \t\n\r"))) {
            set_err(err, errlen, "--%s: '%s' is not an image reference", o->name, v);
            return -1;
        }
        char *copy = strdup(v);
        if (!copy) {
            set_err(err, errlen, "out of memory");
            return -1;
        }
        free(*(char **)f);
        *(char **)f = copy;
        return 0;
    }
    case K_INT: {
        long x;
        if (pp_value_long(v, o->min, o->max, &x) != 0) {
            set_err(err, errlen, "--%s: '%s' is not an integer in [%ld, %ld]", o->name, v, o->min,
                    o->max);
            return -1;
        }
        *(int *)f = (int)x;
        return 0;
    }
    case K_BOOL:
        if (pp_value_bool(v, (bool *)f) == 0)
            return 0;
        set_err(err, errlen, "--%s: '%s' is not true or false", o->name, v);
        return -1;
    case K_ENUM:
        for (int i = 0; o->choices[i]; i++) {
            if (!strcmp(v, o->choices[i])) {
                if (o->off == offsetof(inj_config, image_pull_policy)) {
                    char *copy = strdup(v);
                    if (!copy)
                        return -1;
                    free(*(char **)f);
                    *(char **)f = copy;
                } else {
                    *(int *)f = i;
                }
                return 0;
            }
        }
        {
            char choices[256] = "";
            for (int i = 0; o->choices[i]; i++) {
                strncat(choices, i ? ", " : "", sizeof choices - strlen(choices) - 1);
                strncat(choices, o->choices[i], sizeof choices - strlen(choices) - 1);
            }
            set_err(err, errlen, "--%s: '%s' is not one of: %s", o->name, v, choices);
        }
        return -1;
    case K_LIST:
    case K_ENV:
        return set_list(f, v, o->kind == K_ENV, o->name, err, errlen);
    }
    return -1;
}

void inj_config_defaults(inj_config *cfg)
{
    char err[256];
    memset(cfg, 0, sizeof *cfg);
    for (size_t i = 0; i < N_OPTS; i++)
        if (set_value(cfg, &opts[i], opts[i].def, err, sizeof err) < 0)
            abort(); /* a bad default is a programming error caught by every test */
}

void inj_config_free(inj_config *cfg)
{
    for (size_t i = 0; i < N_OPTS; i++) {
        const struct opt *o = &opts[i];
        if (o->off == NO_FIELD)
            continue;
        if (o->kind == K_LIST || o->kind == K_ENV)
            strlist_free(field(cfg, o));
        else if (o->kind == K_STR || o->kind == K_QUANTITY || o->kind == K_IMAGE ||
                 o->kind == K_FILE ||
                 (o->kind == K_ENUM && o->off == offsetof(inj_config, image_pull_policy)))
            free(*(char **)field(cfg, o));
    }
    memset(cfg, 0, sizeof *cfg);
}

static const struct opt *find_opt(const char *name, size_t n)
{
    for (size_t i = 0; i < N_OPTS; i++)
        if (strlen(opts[i].name) == n && !strncmp(opts[i].name, name, n))
            return &opts[i];
    return NULL;
}

/* A file key spells '-' as '_' (YAML/Helm friendly); both spellings are accepted. */
static const struct opt *find_opt_key(const char *key)
{
    char name[64];
    size_t n = strlen(key);
    if (n >= sizeof name)
        return NULL;
    for (size_t i = 0; i <= n; i++)
        name[i] = key[i] == '_' ? '-' : key[i];
    return find_opt(name, n);
}

static int apply_file_value(inj_config *cfg, const struct opt *o, const cJSON *v, char *err,
                            size_t errlen)
{
    char buf[64];
    if (cJSON_IsString(v))
        return set_value(cfg, o, v->valuestring, err, errlen);
    if (cJSON_IsBool(v))
        return set_value(cfg, o, cJSON_IsTrue(v) ? "true" : "false", err, errlen);
    if (cJSON_IsNumber(v)) {
        snprintf(buf, sizeof buf, "%.17g", v->valuedouble);
        return set_value(cfg, o, buf, err, errlen);
    }
    if (cJSON_IsNull(v))
        return set_value(cfg, o, o->def, err, errlen);
    if ((o->kind == K_LIST && cJSON_IsArray(v)) ||
        (o->kind == K_ENV && (cJSON_IsObject(v) || cJSON_IsArray(v)))) {
        inj_strlist *l = field(cfg, o);
        strlist_free(l);
        const cJSON *it;
        cJSON_ArrayForEach(it, v)
        {
            char *item = NULL;
            const char *name = it->string, *val = NULL;
            if (cJSON_IsObject(v)) {
                if (!env_name_ok(name, strlen(name))) {
                    set_err(err, errlen, "%s: '%s' is not a valid env name", o->name, name);
                    return -1;
                }
                if (cJSON_IsString(it))
                    val = it->valuestring;
            } else if (cJSON_IsString(it) && o->kind == K_LIST) {
                if (!dns_label_ok(it->valuestring, strlen(it->valuestring))) {
                    set_err(err, errlen, "%s: '%s' is not a valid container name", o->name,
                            it->valuestring);
                    return -1;
                }
                if (strlist_add(l, it->valuestring, strlen(it->valuestring)) < 0)
                    return -1;
                continue;
            } else if (cJSON_IsObject(it)) { /* [{name: X, value: Y}] as in a pod spec */
                const cJSON *nm = cJSON_GetObjectItemCaseSensitive(it, "name");
                const cJSON *vl = cJSON_GetObjectItemCaseSensitive(it, "value");
                name = cJSON_IsString(nm) ? nm->valuestring : NULL;
                val = cJSON_IsString(vl) ? vl->valuestring : NULL;
                if (!name || !env_name_ok(name, strlen(name))) {
                    set_err(err, errlen, "%s: every item needs a valid name", o->name);
                    return -1;
                }
            }
            if (!name || !val) {
                set_err(err, errlen, "%s: values must be strings", o->name);
                return -1;
            }
            size_t n = strlen(name) + strlen(val) + 2;
            if (!(item = malloc(n)))
                return -1;
            snprintf(item, n, "%s=%s", name, val);
            int rc = strlist_add(l, item, n - 1);
            free(item);
            if (rc < 0)
                return -1;
        }
        return 0;
    }
    set_err(err, errlen, "%s: unexpected value type", o->name);
    return -1;
}

static int apply_file(inj_config *cfg, const char *path, char *err, size_t errlen)
{
    char perr[200] = "";
    size_t len = 0;
    char *text = inj_read_file(path, &len, perr, sizeof perr);
    if (!text) {
        set_err(err, errlen, "config file %s", perr);
        return -1;
    }
    cJSON *doc = inj_doc_parse(text, len, perr, sizeof perr);
    free(text);
    if (!doc) {
        set_err(err, errlen, "config file %s: %s", path, perr);
        return -1;
    }
    int rc = 0;
    if (!cJSON_IsObject(doc)) {
        set_err(err, errlen, "config file %s: expected a mapping of settings", path);
        rc = -1;
    }
    const cJSON *it;
    if (rc == 0) {
        cJSON_ArrayForEach(it, doc)
        {
            const struct opt *o = find_opt_key(it->string);
            if (!o || o->off == NO_FIELD) {
                set_err(err, errlen, "config file %s: unknown setting '%s'", path, it->string);
                rc = -1;
                break;
            }
            char verr[200] = "";
            if (apply_file_value(cfg, o, it, verr, sizeof verr) < 0) {
                set_err(err, errlen, "config file %s: %s", path, verr[0] ? verr : "out of memory");
                rc = -1;
                break;
            }
        }
    }
    cJSON_Delete(doc);
    return rc;
}

static void env_name_of(const struct opt *o, char *buf, size_t n)
{
    size_t i = (size_t)snprintf(buf, n, "PODPROF_INJECTOR_");
    for (const char *p = o->name; *p && i + 1 < n; p++)
        buf[i++] = *p == '-' ? '_' : (char)toupper((unsigned char)*p);
    buf[i] = '\0';
}

static void file_key_of(const struct opt *o, char *buf, size_t n)
{
    size_t i = 0;
    for (const char *p = o->name; *p && i + 1 < n; p++)
        buf[i++] = *p == '-' ? '_' : *p;
    buf[i] = '\0';
}

/* Splits "--name=value" / "--name value"; returns the option or NULL if argv[i] is not ours. */
static const struct opt *match_flag(char **argv, int argc, int i, const char **value, int *used)
{
    const char *a = argv[i];
    if (strncmp(a, "--", 2) != 0)
        return NULL;
    a += 2;
    const char *eq = strchr(a, '=');
    const struct opt *o = find_opt(a, eq ? (size_t)(eq - a) : strlen(a));
    if (!o)
        return NULL;
    *used = 1;
    if (eq) {
        *value = eq + 1;
    } else if (o->kind == K_BOOL) {
        *value = "true";
    } else if (i + 1 < argc) {
        *value = argv[i + 1];
        *used = 2;
    } else {
        *value = NULL;
    }
    return o;
}

static int validate(const inj_config *cfg, char *err, size_t errlen)
{
    if (cfg->agent_url[0] && strncmp(cfg->agent_url, "http://", 7) &&
        strncmp(cfg->agent_url, "https://", 8) && strncmp(cfg->agent_url, "unix://", 7)) {
        set_err(err, errlen, "--agent-url: '%s' must start with http://, https:// or unix://",
                cfg->agent_url);
        return -1;
    }
    if (cfg->agentless && !cfg->api_key_secret[0]) {
        set_err(err, errlen,
                "--agentless needs --api-key-secret (DD_API_KEY only comes from a "
                "Secret)");
        return -1;
    }
    if (cfg->api_key_secret[0] && !dns_label_ok(cfg->api_key_secret, strlen(cfg->api_key_secret)) &&
        !strchr(cfg->api_key_secret, '.')) {
        set_err(err, errlen, "--api-key-secret: '%s' is not a valid Secret name",
                cfg->api_key_secret);
        return -1;
    }
    const char *p = cfg->pod_labels_as_tags;
    if (p[0] && strcmp(p, "*") != 0 && strcmp(p, "none") != 0) {
        for (const char *item = p; item && *item;) {
            const char *e = strchr(item, ',');
            size_t n = e ? (size_t)(e - item) : strlen(item);
            const char *eq = memchr(item, '=', n);
            if (!eq || eq == item || eq == item + n - 1) {
                set_err(err, errlen, "--pod-labels-as-tags: '%.*s' is not label=tag (or use '*')",
                        (int)n, item);
                return -1;
            }
            item = e ? e + 1 : NULL;
        }
    }
    if (!strchr(cfg->listen, ':')) {
        set_err(err, errlen, "--listen: '%s' is not ADDR:PORT", cfg->listen);
        return -1;
    }
    return 0;
}

int inj_config_load(inj_config *cfg, int *argc, char **argv, int scope, char *err, size_t errlen)
{
    /* The file comes first whatever its position on the command line. */
    const char *file = getenv("PODPROF_INJECTOR_CONFIG");
    for (int i = 1; i < *argc; i++) {
        const char *v = NULL;
        int used = 0;
        const struct opt *o = match_flag(argv, *argc, i, &v, &used);
        if (o && o->kind == K_FILE) {
            if (!v) {
                set_err(err, errlen, "--config needs a value");
                return -1;
            }
            file = v;
        }
        if (o)
            i += used - 1;
    }
    if (file && file[0] && apply_file(cfg, file, err, errlen) < 0)
        return -1;

    for (size_t i = 0; i < N_OPTS; i++) {
        char name[80];
        if (opts[i].off == NO_FIELD || !(opts[i].scope & scope))
            continue;
        env_name_of(&opts[i], name, sizeof name);
        const char *v = getenv(name);
        if (v && set_value(cfg, &opts[i], v, err, errlen) < 0) {
            size_t n = strlen(err);
            snprintf(err + n, errlen - n, " (from %s)", name);
            return -1;
        }
    }

    int out = 1;
    for (int i = 1; i < *argc;) {
        const char *v = NULL;
        int used = 0;
        const struct opt *o = match_flag(argv, *argc, i, &v, &used);
        if (!o || !(o->scope & scope)) {
            argv[out++] = argv[i++];
            continue;
        }
        if (!v) {
            set_err(err, errlen, "--%s needs a value", o->name);
            return -1;
        }
        if (set_value(cfg, o, v, err, errlen) < 0)
            return -1;
        i += used;
    }
    *argc = out;
    argv[out] = NULL;
    return validate(cfg, err, errlen);
}

void inj_config_print_help(FILE *out, int scope)
{
    for (size_t i = 0; i < N_OPTS; i++) {
        const struct opt *o = &opts[i];
        if (!(o->scope & scope))
            continue;
        char flag[80], env[80];
        snprintf(flag, sizeof flag, "--%s %s", o->name, o->meta);
        env_name_of(o, env, sizeof env);
        fprintf(out, "  %-34s %s\n", flag, o->help);
        fprintf(out, "  %-34s [default: %s] [env: %s]\n", "", o->def[0] ? o->def : "(empty)", env);
    }
}

void inj_config_print_markdown(FILE *out)
{
    fprintf(out, "# podprof-injector configuration\n\n"
                 "<!-- Generated by `podprof-injector config-doc` from the table in "
                 "injector/config.c; a test keeps it in sync. -->\n\n"
                 "Every setting can be given as a command-line flag, an environment variable or a "
                 "key of the config file (`--config FILE`, JSON or YAML). Precedence: default < "
                 "config file < environment < flag. Values are validated at start; a bad one "
                 "stops the program with a one-line error (exit code 2).\n\n"
                 "`serve` reads every setting; `mutate` reads those marked \"serve, mutate\" (the "
                 "mutation settings), so the offline CLI mutates exactly as the server does.\n\n"
                 "| flag | environment | file key | default | used by | meaning |\n"
                 "| --- | --- | --- | --- | --- | --- |\n");
    for (size_t i = 0; i < N_OPTS; i++) {
        const struct opt *o = &opts[i];
        char env[80], key[80];
        env_name_of(o, env, sizeof env);
        file_key_of(o, key, sizeof key);
        fprintf(out, "| `--%s %s` | `%s` | %s%s%s | %s%s%s | %s | ", o->name, o->meta, env,
                o->off == NO_FIELD ? "" : "`", o->off == NO_FIELD ? "-" : key,
                o->off == NO_FIELD ? "" : "`", o->def[0] ? "`" : "", o->def[0] ? o->def : "(empty)",
                o->def[0] ? "`" : "", (o->scope & INJ_SCOPE_MUTATE) ? "serve, mutate" : "serve");
        if (o->choices) {
            fprintf(out, "One of ");
            for (int c = 0; o->choices[c]; c++)
                fprintf(out, "%s`%s`", c ? ", " : "", o->choices[c]);
            fprintf(out, ". ");
        }
        fprintf(out, "%s |\n", o->help);
    }
}
