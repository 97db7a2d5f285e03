/* Copies a Python str (PyUnicodeObject) out of the process as UTF-8, from any kind (compact
 * ASCII, Latin-1, UCS-2, UCS-4, legacy non-compact), at most PP_MAX_STR_CHARS code points. */
#ifndef PODPROF_SAMPLER_PYSTRING_H
#define PODPROF_SAMPLER_PYSTRING_H

#include <stddef.h>
#include <stdint.h>

#include "py_layout.h"

#define PP_MAX_STR_CHARS 1024
/* Worst case UTF-8 for PP_MAX_STR_CHARS code points plus a terminator. */
#define PP_STR_BUF (PP_MAX_STR_CHARS * 4 + 1)

/* Writes a NUL-terminated UTF-8 string into out (PP_STR_BUF bytes) and returns its length in
 * bytes, or -1 when the object cannot be read or is not a sane str. */
long pp_read_pystring(const pp_py_layout *l, uintptr_t addr, char *out);

/* Appends the UTF-8 encoding of code point cp (invalid ones become U+FFFD); returns bytes. */
size_t pp_utf8_put(uint32_t cp, char *out);

#endif
