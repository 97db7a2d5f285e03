/* libFuzzer target: the pictures over arbitrary bytes (gzip or raw protobuf). Whatever the input,
 * loading returns 0 or -1 with a one-line reason, and an accepted profile draws as a flame graph,
 * a differential one (against itself) and folded stacks without crashing, leaking or undefined
 * behaviour. The first byte picks the options, so the filters and --lines are covered too. */
#include <regex.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "call_tree.h"
#include "flame_svg.h"
#include "folded_writer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    unsigned flags = data[0];
    regex_t focus, ignore;
    regcomp(&focus, "a|<", REG_EXTENDED | REG_NOSUB);
    regcomp(&ignore, "zz", REG_EXTENDED | REG_NOSUB);
    call_tree_filter filter = {
        .type = flags & 1 ? "wall" : NULL,
        .thread = flags & 2 ? "*" : NULL,
        .focus = flags & 4 ? &focus : NULL,
        .ignore = flags & 8 ? &ignore : NULL,
        .lines = flags & 16,
    };
    call_tree *t = call_tree_new(&filter, flags & 32 ? 64 : CALL_TREE_MAX_NODES);
    char err[256];
    if (t && call_tree_add_buffer(t, 0, data + 1, size - 1, err, sizeof err) != 0) {
        if (!err[0] || strchr(err, '\n'))
            abort();
    } else if (t && call_tree_add_buffer(t, 1, data + 1, size - 1, err, sizeof err) == 0 &&
               call_tree_sort(t) == 0) {
        FILE *out = fopen("/dev/null", "w");
        if (out) {
            flame_svg_options plain = {"t", "s", 0, -1, flags & 64};
            flame_svg_options diff = {"t", "s", 1, 0, false};
            flame_svg_write(t, &plain, out);
            flame_svg_write(t, &diff, out);
            folded_write(t, 0, out);
            fclose(out);
        }
    }
    call_tree_free(t);
    regfree(&focus);
    regfree(&ignore);
    return 0;
}
