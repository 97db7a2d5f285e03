/* Folded stacks ("main (app.py);work (app.py) 42", one line per call path with a self
 * value), the text format flamegraph.pl, inferno and speedscope read. Frames are named as in
 * the pictures (frame_names.h), without the root "all" (samples without frames fold to
 * "<no frames>"); in a name, ';' becomes '_' and control
 * characters become '?', since the format has no escaping. */
#ifndef PODPROF_CLI_FOLDED_WRITER_H
#define PODPROF_CLI_FOLDED_WRITER_H

#include <stdio.h>

#include "call_tree.h"

/* Writes series `series` of the tree (sorted by call_tree_sort); returns 0, or -1 when memory
 * runs out. */
int folded_write(const call_tree *t, int series, FILE *out);

#endif
