/* libFuzzer target: `podprof top`'s reader over arbitrary bytes (gzip or raw protobuf). Whatever
 * the input, it must return 0 or -1 with a one-line reason, never crash or leak. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pprof_summary.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    pp_summary *s = pp_summary_new(NULL);
    if (!s)
        return 0;
    char err[256];
    if (pp_summary_add_buffer(s, data, size, err, sizeof err) != 0) {
        if (!err[0] || strchr(err, '\n'))
            abort();
    } else {
        /* A profile that was accepted must also print. */
        FILE *out = fopen("/dev/null", "w");
        if (out) {
            pp_summary_print(s, out, 5);
            fclose(out);
        }
    }
    pp_summary_free(s);
    return 0;
}
