/* The flame graphs' script (flame_script.js), compiled in as a string: the build turns the .js
 * file kept in the repository into build/gen/flame_script.c. */
#ifndef PODPROF_CLI_FLAME_SCRIPT_H
#define PODPROF_CLI_FLAME_SCRIPT_H

extern const char flame_script_js[];

#endif
