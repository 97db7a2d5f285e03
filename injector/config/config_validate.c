/* Validation of setting values (Kubernetes quantities, image references, env names, container
 * names) and of the combinations of settings checked once every layer was applied. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "config_options.h"
#include "podprof/names.h"

/* Kubernetes resource.Quantity: a decimal number with an optional suffix. */
bool inj_cfg_quantity_ok(const char *s)
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

/* An image reference: not empty, no whitespace. */
bool inj_cfg_image_ok(const char *s)
{
    return s[0] && !strpbrk(s, " \t\n\r");
}

bool inj_cfg_env_name_ok(const char *s, size_t n)
{
    if (n == 0 || isdigit((unsigned char)s[0]))
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '_')
            return false;
    return true;
}

/* RFC 1123 label, as Kubernetes requires of container names. */
bool inj_cfg_dns_label_ok(const char *s, size_t n)
{
    if (n == 0 || n > 63 || s[0] == '-' || s[n - 1] == '-')
        return false;
    for (size_t i = 0; i < n; i++)
        if (!(islower((unsigned char)s[i]) || isdigit((unsigned char)s[i]) || s[i] == '-'))
            return false;
    return true;
}

int inj_cfg_validate(const inj_config *cfg, char *err, size_t errlen)
{
    if (cfg->agent_url[0] && strncmp(cfg->agent_url, "http://", 7) &&
        strncmp(cfg->agent_url, "https://", 8) && strncmp(cfg->agent_url, "unix://", 7)) {
        snprintf(err, errlen, "--agent-url: '%s' must start with http://, https:// or unix://",
                 cfg->agent_url);
        return -1;
    }
    if (cfg->agentless && !cfg->api_key_secret[0]) {
        snprintf(err, errlen,
                 "--agentless needs --api-key-secret (" PP_ENV_API_KEY " only comes from a "
                 "Secret)");
        return -1;
    }
    if (cfg->api_key_secret[0] &&
        !inj_cfg_dns_label_ok(cfg->api_key_secret, strlen(cfg->api_key_secret)) &&
        !strchr(cfg->api_key_secret, '.')) {
        snprintf(err, errlen, "--api-key-secret: '%s' is not a valid Secret name",
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
                snprintf(err, errlen, "--pod-labels-as-tags: '%.*s' is not label=tag (or use '*')",
                         (int)n, item);
                return -1;
            }
            item = e ? e + 1 : NULL;
        }
    }
    if (!strchr(cfg->listen, ':')) {
        snprintf(err, errlen, "--listen: '%s' is not ADDR:PORT", cfg->listen);
        return -1;
    }
    return 0;
}
