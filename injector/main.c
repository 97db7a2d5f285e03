/* podprof-injector: the mutating admission webhook (serve) and its offline tools. */
#include <stdio.h>
#include <string.h>

#include "annotations.h"
#include "commands.h"
#include "config.h"
#include "podprof/version.h"

static void usage(FILE *out)
{
    fprintf(
        out,
        "usage: podprof-injector COMMAND [options]\n\n"
        "commands:\n"
        "  serve    --listen ADDR:PORT --tls-cert F --tls-key F [--config F]\n"
        "           the HTTPS admission webhook (POST /mutate/annotated, /mutate, /mutate/all;\n"
        "           GET /healthz, /readyz, /metrics)\n"
        "  mutate   [-f FILE|-] [--patched] [--namespace-mode annotated|all]\n"
        "           mutate an AdmissionReview, Pod or workload (JSON or YAML) offline\n"
        "  certs    --service NAME --namespace NS --out DIR [--days N]\n"
        "           write ca.crt, tls.crt, tls.key for the webhook Service\n"
        "  version  print the version\n"
        "  config-doc  print docs/config-injector.md (generated from the settings and annotation\n"
        "           tables)\n\n"
        "`podprof-injector COMMAND --help` lists the command's options.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "serve"))
        return inj_cmd_serve(argc - 1, argv + 1);
    if (!strcmp(cmd, "mutate"))
        return inj_cmd_mutate(argc - 1, argv + 1);
    if (!strcmp(cmd, "certs"))
        return inj_cmd_certs(argc - 1, argv + 1);
    if (!strcmp(cmd, "version") || !strcmp(cmd, "--version")) {
        printf("podprof-injector %s\n", PODPROF_VERSION);
        return 0;
    }
    if (!strcmp(cmd, "config-doc")) {
        inj_config_print_markdown(stdout);
        inj_annotations_markdown(stdout);
        return 0;
    }
    if (!strcmp(cmd, "help") || !strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
        usage(stdout);
        return 0;
    }
    fprintf(stderr, "podprof-injector: unknown command '%s'\n", cmd);
    usage(stderr);
    return 2;
}
