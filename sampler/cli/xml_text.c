#include "xml_text.h"

#include <stdint.h>

/* Length of the valid UTF-8 sequence at s whose code point XML allows, or 0. */
static size_t valid_char(const unsigned char *s, uint32_t *cp)
{
    unsigned char c = s[0];
    size_t n;
    uint32_t v, min;
    if (c < 0x80) {
        *cp = c;
        return c >= 0x20 || c == '\t' || c == '\n' || c == '\r' ? 1 : 0;
    }
    if ((c & 0xe0) == 0xc0)
        n = 2, v = c & 0x1f, min = 0x80;
    else if ((c & 0xf0) == 0xe0)
        n = 3, v = c & 0x0f, min = 0x800;
    else if ((c & 0xf8) == 0xf0)
        n = 4, v = c & 0x07, min = 0x10000;
    else
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        v = v << 6 | (s[i] & 0x3f);
    }
    if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff) || v == 0xfffe || v == 0xffff)
        return 0;
    if (v >= 0x7f && v <= 0x9f) /* C1 controls: allowed by XML, but never meant in a name */
        return 0;
    *cp = v;
    return n;
}

size_t xml_text_chars(const char *s)
{
    size_t chars = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; chars++) {
        uint32_t cp;
        size_t n = valid_char(p, &cp);
        p += n ? n : 1;
    }
    return chars;
}

size_t xml_write_text(FILE *out, const char *s, size_t max_chars)
{
    size_t chars = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; chars++) {
        uint32_t cp;
        size_t n = valid_char(p, &cp);
        if (chars < max_chars) {
            if (!n)
                fputc('?', out);
            else if (cp == '&')
                fputs("&amp;", out);
            else if (cp == '<')
                fputs("&lt;", out);
            else if (cp == '>')
                fputs("&gt;", out);
            else if (cp == '"')
                fputs("&quot;", out);
            else if (cp == '\'')
                fputs("&#39;", out);
            else if (cp == '\n' || cp == '\r' || cp == '\t')
                fputc(' ', out);
            else
                fwrite(p, 1, n, out);
        }
        p += n ? n : 1;
    }
    return chars;
}
