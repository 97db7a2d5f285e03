/* No exporter in `podprof run` yet: see run_exporter.h. */
#include "run_exporter.h"

#include <stddef.h>

run_exporter *run_exporter_start(const char *output_prefix)
{
    (void)output_prefix;
    return NULL;
}

int run_exporter_finish(run_exporter *ex)
{
    (void)ex;
    return 0;
}
