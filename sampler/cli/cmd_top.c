/* Placeholder until the command is implemented (issue #3); replaced, not extended. */
#include <stdio.h>

#include "commands.h"

int podprof_cmd_top(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "podprof top: not available in this build yet\n");
    return 1;
}
