#include "endpoint.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "faults.h"
#include "podprof/names.h"

#define AGENT_PATH "/profiling/v1/input"

static bool from_agent_url(const char *url, ex_endpoint *ep)
{
    if (!strncmp(url, "unix://", 7)) {
        const char *path = url + 7;
        if (path[0] != '/' || strlen(path) >= sizeof ep->unix_path)
            return false;
        snprintf(ep->unix_path, sizeof ep->unix_path, "%s", path);
        /* the host is only what goes into the Host header */
        snprintf(ep->url, sizeof ep->url, "http://localhost" AGENT_PATH);
        snprintf(ep->describe, sizeof ep->describe, "agent at %s", url);
        return true;
    }
    if (strncmp(url, "http://", 7) && strncmp(url, "https://", 8))
        return false;
    size_t len = strlen(url);
    while (len > 0 && url[len - 1] == '/')
        len--;
    const char *host = strstr(url, "://") + 3;
    if ((size_t)(host - url) >= len || len + sizeof AGENT_PATH >= sizeof ep->url)
        return false;
    snprintf(ep->url, sizeof ep->url, "%.*s" AGENT_PATH, (int)len, url);
    snprintf(ep->describe, sizeof ep->describe, "agent at %.*s", (int)len, url);
    return true;
}

void ex_endpoint_from_config(const ex_config *cfg, ex_endpoint *ep)
{
    memset(ep, 0, sizeof *ep);
    ep->ca_file = cfg->ca_file;
    if (cfg->agentless && !cfg->api_key)
        ex_log(PP_LOG_WARN, PP_ENV_AGENTLESS "=true but " PP_ENV_API_KEY
                                             " is not set: sending to the agent instead");
    if (cfg->agentless && cfg->api_key) {
        ep->agentless = true;
        ep->api_key = cfg->api_key;
        if (cfg->intake_url)
            snprintf(ep->url, sizeof ep->url, "%s", cfg->intake_url);
        else
            snprintf(ep->url, sizeof ep->url, "https://intake.profile.%s/api/v2/profile",
                     cfg->site ? cfg->site : "datadoghq.com");
        snprintf(ep->describe, sizeof ep->describe, "agentless intake %s", ep->url);
        return;
    }
    if (cfg->agent_url) {
        if (from_agent_url(cfg->agent_url, ep))
            return;
        ex_log(PP_LOG_WARN,
               PP_ENV_AGENT_URL
               "=%s: not http://host:port[/prefix] or unix:///path, using " PP_ENV_AGENT_HOST
               " and " PP_ENV_AGENT_PORT,
               cfg->agent_url);
        memset(ep, 0, sizeof *ep);
        ep->ca_file = cfg->ca_file;
    }
    if (!cfg->host_or_port_set && access(EX_DEFAULT_AGENT_SOCKET, F_OK) == 0 &&
        from_agent_url("unix://" EX_DEFAULT_AGENT_SOCKET, ep))
        return;
    const char *host = cfg->agent_host ? cfg->agent_host : "localhost";
    bool v6 = strchr(host, ':') && host[0] != '[';
    snprintf(ep->url, sizeof ep->url, "http://%s%s%s:%d" AGENT_PATH, v6 ? "[" : "", host,
             v6 ? "]" : "", cfg->agent_port);
    snprintf(ep->describe, sizeof ep->describe, "agent at %s", ep->url);
}
