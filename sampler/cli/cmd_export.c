/* `podprof export --spool DIR [--once]`: the sidecar. Uploads every complete profile pair in DIR
 * until SIGTERM, then uploads what is complete within PODPROF_EXPORT_DRAIN_MS and exits 0. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "export.h"
#include "export_config.h"

static int stop_pipe[2] = {-1, -1};

static void on_stop_signal(int sig)
{
    (void)sig;
    int saved = errno;
    ssize_t w = write(stop_pipe[1], "x", 1);
    (void)w;
    errno = saved;
}

static void usage(FILE *out)
{
    fprintf(out, "usage: podprof export --spool DIR [--once] [--prefix NAME] [--keep-pprof]\n\n"
                 "Uploads each complete <prefix>.<pid>.<seq>.pprof + .json pair in DIR to the "
                 "Datadog Agent\n(or agentless intake), then deletes it. Runs until SIGTERM; "
                 "with --once, returns when DIR\nis empty (exit 1 if a profile had to be "
                 "dropped).\n\n"
                 "  --spool DIR     the spool directory the profiled processes write into\n"
                 "  --once          upload what is there, with retries, then exit\n"
                 "  --prefix NAME   only pairs named NAME.<pid>.<seq> (default: any)\n"
                 "  --keep-pprof    delete only the .json of a handled pair, keep the .pprof\n"
                 "  --config-doc    print the configuration reference (markdown)\n\n");
    ex_config_write_help(out);
}

int podprof_cmd_export(int argc, char **argv)
{
    podprof_export_opts opts = {.stop_fd = -1};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "--config-doc")) {
            ex_config_write_doc(stdout);
            return 0;
        } else if (!strcmp(a, "--once")) {
            opts.once = true;
        } else if (!strcmp(a, "--keep-pprof")) {
            opts.keep_pprof = true;
        } else if ((!strcmp(a, "--spool") || !strcmp(a, "--prefix")) && i + 1 < argc) {
            if (!strcmp(a, "--spool"))
                opts.spool_dir = argv[++i];
            else
                opts.name_prefix = argv[++i];
        } else if (!strncmp(a, "--spool=", 8)) {
            opts.spool_dir = a + 8;
        } else {
            fprintf(stderr, "podprof export: unexpected argument '%s' (try --help)\n", a);
            return 2;
        }
    }
    if (!opts.spool_dir || !*opts.spool_dir) {
        fprintf(stderr, "podprof export: --spool DIR is required (try --help)\n");
        return 2;
    }
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
