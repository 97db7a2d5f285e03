/* Placeholder until the command is implemented (issue #4); replaced, not extended. */
#include <stdio.h>

#include "commands.h"

int podprof_cmd_export(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "podprof export: not available in this build yet\n");
    return 1;
}
