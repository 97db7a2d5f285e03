/* Prints docs/config-sampler.md from the library's own settings table (config.c). */
#include <stdio.h>

#include "config_table.h"

int main(void)
{
    pp_config_write_doc(stdout);
    return 0;
}
