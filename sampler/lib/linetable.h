/* Instruction offset -> source line, for the three line-table formats of CPython 3.8-3.15: the
 * lnotab of 3.8-3.9 and the linetable of 3.10 (PEP 626; CPython's Objects/lnotab_notes.txt), and
 * the location table of 3.11+ (PEP 657; Objects/locations.md, InternalDocs/locations.md from
 * 3.14). Pure functions over a copied table. */
#ifndef PODPROF_SAMPLER_LINETABLE_H
#define PODPROF_SAMPLER_LINETABLE_H

#include <stddef.h>
#include <stdint.h>

#include "py_layout.h"

/* offset: bytes for PP_LINES_LNOTAB/PP_LINES_LINETABLE, code units for PP_LINES_LOCATIONS.
 * Returns the line, firstlineno for a negative offset (frame not started), or 0 when the
 * instruction has no line. */
int pp_line_for_offset(pp_line_format format, const uint8_t *table, size_t len, int firstlineno,
                       long offset);

#endif
