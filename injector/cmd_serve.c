/* `podprof-injector serve`: configuration, then the server. */
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "config.h"
#include "log.h"
#include "server.h"

int inj_cmd_serve(int argc, char **argv)
{
    inj_config cfg;
    char err[300] = "";
    inj_config_defaults(&cfg);
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            printf("usage: podprof-injector serve [options]\n\noptions:\n");
            inj_config_print_help(stdout, INJ_SCOPE_SERVE);
            inj_config_free(&cfg);
            return 0;
        }
    }
    if (inj_config_load(&cfg, &argc, argv, INJ_SCOPE_SERVE, err, sizeof err) < 0) {
        fprintf(stderr, "podprof-injector serve: %s\n", err);
        inj_config_free(&cfg);
        return 2;
    }
    if (argc > 1) {
        fprintf(stderr, "podprof-injector serve: unknown argument '%s'\n", argv[1]);
        inj_config_free(&cfg);
        return 2;
    }
    inj_log_set_level(cfg.log_level);
    int rc = inj_server_run(&cfg);
    inj_config_free(&cfg);
    return rc;
}
