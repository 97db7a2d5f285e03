/* Reads the exporter's settings (export_settings.c) from the environment with the shared settings
 * engine, and writes --help and docs/config-exporter.md from the same table. */
#include "export_config.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "endpoint.h"
#include "faults.h"
#include "podprof/names.h"
#include "podprof/settings_doc.h"
#include "podprof/settings_tables.h"

static const pp_settings_view view = {pp_exporter_settings, 0, 0, false, NULL, NULL};

static void report(void *ctx, const pp_setting *s, const char *line)
{
    (void)ctx;
    ex_log(PP_LOG_ERROR, "%s; using the default (%s)", line, s->def ? s->def : "unset");
}

int ex_config_load(ex_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    pp_settings_defaults(cfg, pp_exporter_settings, pp_exporter_settings_len);
    cfg->host_or_port_set = getenv(PP_ENV_AGENT_HOST) || getenv(PP_ENV_AGENT_PORT);
    int refused = pp_settings_from_env(cfg, pp_exporter_settings, pp_exporter_settings_len, NULL, 0,
                                       report, NULL);
    ex_log_set_level(cfg->log_level);
    return refused;
}

void ex_config_free(ex_config *cfg)
{
    pp_settings_free(cfg, pp_exporter_settings, pp_exporter_settings_len);
}

bool ex_config_agent_configured(void)
{
    static const char *const names[] = {PP_ENV_AGENT_URL, PP_ENV_AGENT_HOST};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        const char *v = getenv(names[i]);
        if (v && *v)
            return true;
    }
    bool agentless = false;
    const char *v = getenv(PP_ENV_AGENTLESS);
    if (v && pp_value_bool(v, &agentless) == 0 && agentless)
        return true;
    return access(EX_DEFAULT_AGENT_SOCKET, F_OK) == 0;
}

void ex_config_write_help(FILE *out)
{
    pp_settings_view v = view;
    v.n = pp_exporter_settings_len;
    fprintf(out, "environment:\n");
    pp_settings_help(out, &v);
}

void ex_config_write_doc(FILE *out)
{
    pp_settings_view v = view;
    v.n = pp_exporter_settings_len;
    fprintf(out, "# Exporter configuration\n\n"
                 "Generated from the table in `exporter/export_settings.c` "
                 "(`podprof export --config-doc`); a test fails when the two differ.\n\n"
                 "The environment read by `podprof export` (and by `podprof run` when it uploads). "
                 "A malformed value logs one line and the default is used.\n\n");
    pp_settings_markdown(out, &v);
}
