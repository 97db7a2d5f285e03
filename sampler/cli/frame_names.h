/* How a frame is named in the pictures and in folded stacks, one rule for `flamegraph`, `diff`
 * and `collapse`: "function (file)", or "function (file:line)" with --lines (py-spy's form).
 * The file is shortened the way py-spy shows it: everything up to the last site-packages/,
 * dist-packages/ or lib/pythonX.Y/ is dropped, so a library reads as its module path
 * (requests/api.py, threading.py) and frames from different virtualenvs or pods merge. A
 * frame's colour key is its shortened file (its module), or its name when it has no file. */
#ifndef PODPROF_CLI_FRAME_NAMES_H
#define PODPROF_CLI_FRAME_NAMES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The shortened form of a file path: a suffix of `file`. */
const char *frame_short_file(const char *file);

/* Writes the frame text into buf (truncated to len) and returns its length had it fit. */
size_t frame_text(char *buf, size_t len, const char *name, const char *file, int64_t line,
                  bool with_line);

/* A frame podprof or the profiler made up rather than one from the program ("<3 frames
 * omitted>"): a name in angle brackets with no file. */
bool frame_is_synthetic(const char *name, const char *file);

#endif
