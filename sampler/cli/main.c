#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "podprof/version.h"

static const struct {
    const char *name;
    int (*run)(int, char **);
    const char *summary;
} commands[] = {
    {"install", podprof_cmd_install, "copy libpodprof.so into DIR (the init container)"},
    {"export", podprof_cmd_export, "upload profiles from a spool directory (the sidecar)"},
    {"run", podprof_cmd_run, "run a command with the profiler loaded, then summarise"},
    {"top", podprof_cmd_top, "print the top functions of pprof files"},
    {"flamegraph", podprof_cmd_flamegraph, "draw a flame graph (SVG) of pprof files"},
    {"diff", podprof_cmd_diff, "draw a differential flame graph of two pprof files"},
    {"collapse", podprof_cmd_collapse, "print pprof files as folded stacks"},
};

static void usage(FILE *out)
{
    fprintf(out, "usage: podprof COMMAND [ARGS...]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "  %-10s %s\n", "version", "print the version");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "version") || !strcmp(cmd, "--version")) {
        printf("podprof %s\n", PODPROF_VERSION);
        return 0;
    }
    if (!strcmp(cmd, "help") || !strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
        usage(stdout);
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(cmd, commands[i].name))
            return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "podprof: unknown command '%s' (try 'podprof help')\n", cmd);
    return 2;
}
