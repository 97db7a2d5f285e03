/* Where uploads go, derived once from the settings: DD_TRACE_AGENT_URL (http, https or unix),
 * else DD_AGENT_HOST:DD_TRACE_AGENT_PORT (or the Agent's socket when neither is set and it
 * exists), or the agentless intake for DD_SITE. */
#ifndef PODPROF_EXPORTER_ENDPOINT_H
#define PODPROF_EXPORTER_ENDPOINT_H

#include <stdbool.h>

#include "export_config.h"

/* The Agent's APM socket, used when no host, port or URL is configured and it exists. */
#define EX_DEFAULT_AGENT_SOCKET "/var/run/datadog/apm.socket"

typedef struct ex_endpoint {
    char url[2048];      /* full URL of the POST */
    char unix_path[256]; /* non-empty: connect to this socket instead of the URL's host */
    bool agentless;      /* send DD-API-KEY, verify TLS against ca_file or the system store */
    const char *api_key; /* borrowed from the config */
    const char *ca_file; /* borrowed from the config */
    char describe[2100]; /* for logs (never contains the key) */
} ex_endpoint;

/* Always fills ep with something usable; a malformed setting logs one line and the next choice
 * is used (agentless without a key -> agent; bad DD_TRACE_AGENT_URL -> host:port). */
void ex_endpoint_from_config(const ex_config *cfg, ex_endpoint *ep);

#endif
