/* Reads the library's settings (config_table.c) once, from the environment, with the shared
 * settings engine: defaults first, then each variable; a malformed value logs one line and the
 * default stays, because a setting must never stop the application. */
#include "config_table.h"

#include <string.h>

#include "log.h"

static void report(void *ctx, const pp_setting *s, const char *line)
{
    (void)ctx;
    pp_log(PP_LOG_ERROR, "%s; using the default (%s)", line, s->def ? s->def : "unset");
}

int pp_config_load(pp_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    pp_settings_defaults(cfg, pp_sampler_settings, pp_sampler_settings_len);
    return pp_settings_from_env(cfg, pp_sampler_settings, pp_sampler_settings_len, NULL, 0, report,
                                NULL);
}
