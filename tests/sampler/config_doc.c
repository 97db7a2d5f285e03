/* Prints docs/config-sampler.md from the library's own settings table (config_table.c). */
#include <stdio.h>

#include "podprof/settings_doc.h"
#include "podprof/settings_tables.h"

int main(void)
{
    const pp_settings_view view = {
        pp_sampler_settings, pp_sampler_settings_len, 0, false, NULL, NULL};
    printf("# libpodprof.so configuration\n\n"
           "<!-- Generated from sampler/lib/config_table.c (the table the library parses) by "
           "`make sampler-config-doc`; do not edit. -->\n\n"
           "The library reads these environment variables once, when it is loaded. A malformed "
           "value logs one line on stderr and the default is used; it never stops the "
           "application.\n\n");
    pp_settings_markdown(stdout, &view);
    return 0;
}
