/* `podprof export --spool DIR [--once]`: the sidecar. Uploads every complete profile pair in DIR
 * until SIGTERM, then uploads what is complete within PODPROF_EXPORT_DRAIN_MS and exits 0. The
 * work is the exporter's (exporter/export.h); this is its command line. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli_options.h"
#include "commands.h"
#include "export.h"
#include "export_config.h"
#include "podprof/spool_format.h"

typedef struct export_options {
    const char *spool;
    bool once;
    const char *prefix;
    bool keep_pprof;
    bool config_doc;
} export_options;

#define F(field) offsetof(export_options, field)
static const pp_setting export_table[] = {
    {.name = "spool",
     .meta = "DIR",
     .kind = PP_SETTING_CUSTOM,
     .type = &cli_argument,
     .offset = F(spool),
     .help = "the spool directory the profiled processes write into"},
    {.name = "once",
     .kind = PP_SETTING_BOOL,
     .offset = F(once),
     .help = "upload what is there, with retries, then exit"},
    {.name = "prefix",
     .meta = "NAME",
     .kind = PP_SETTING_CUSTOM,
     .type = &cli_argument,
     .offset = F(prefix),
     .help = "only pairs named NAME.<pid>.<seq> (default: any)"},
    {.name = "keep-pprof",
     .kind = PP_SETTING_BOOL,
     .offset = F(keep_pprof),
     .help = "delete only the .json of a handled pair, keep the .pprof"},
    {.name = "config-doc",
     .kind = PP_SETTING_BOOL,
     .offset = F(config_doc),
     .help = "print the configuration reference (markdown)"},
};
static const cli_spec export_spec = {
    "export",
    "--spool DIR [--once] [--prefix NAME] [--keep-pprof]",
    "Uploads each complete " PP_SPOOL_PATTERN PP_SPOOL_PPROF " + " PP_SPOOL_JSON
    " pair in DIR to the Datadog Agent (or agentless intake), then deletes it. Runs until "
    "SIGTERM; with --once, returns when DIR is empty (exit 1 if a profile had to be dropped).",
    export_table,
    sizeof export_table / sizeof export_table[0],
    ex_config_write_help,
    false,
};

static int stop_pipe[2] = {-1, -1};

static void on_stop_signal(int sig)
{
    (void)sig;
    int saved = errno;
    ssize_t w = write(stop_pipe[1], "x", 1);
    (void)w;
    errno = saved;
}

int podprof_cmd_export(int argc, char **argv)
{
    export_options o = {0};
    int first = cli_parse(&export_spec, argc, argv, &o);
    if (first == CLI_PARSE_HELP)
        return 0;
    if (first == CLI_PARSE_ERROR)
        return 2;
    if (o.config_doc) {
        ex_config_write_doc(stdout);
        return 0;
    }
    if (first < argc) {
        fprintf(stderr, "podprof export: unexpected argument '%s' (try --help)\n", argv[first]);
        return 2;
    }
    if (!o.spool || !*o.spool) {
        fprintf(stderr, "podprof export: --spool DIR is required (try --help)\n");
        return 2;
    }
    podprof_export_opts opts = {.spool_dir = o.spool,
                                .name_prefix = o.prefix,
                                .once = o.once,
                                .keep_pprof = o.keep_pprof,
                                .stop_fd = -1};
    if (pipe2(stop_pipe, O_CLOEXEC | O_NONBLOCK)) {
        fprintf(stderr, "podprof export: pipe: %s\n", strerror(errno));
        return 1;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    opts.stop_fd = stop_pipe[0];
    int status = podprof_export_loop(&opts);
    close(stop_pipe[0]);
    close(stop_pipe[1]);
    return status;
}
