/* Text from a profile written into SVG/HTML: markup characters escaped, and anything XML 1.0
 * does not allow (invalid UTF-8, control characters, U+FFFE/U+FFFF) replaced by '?', so a
 * hostile function name can neither break the document nor inject markup or script. */
#ifndef PODPROF_CLI_XML_TEXT_H
#define PODPROF_CLI_XML_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* Writes at most max_chars characters of s (code points; SIZE_MAX for all); returns how many
 * characters s has in total. */
size_t xml_write_text(FILE *out, const char *s, size_t max_chars);

/* The number of characters (code points, an invalid byte counting as one) in s. */
size_t xml_text_chars(const char *s);

#endif
