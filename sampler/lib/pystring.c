#include "pystring.h"

#include <string.h>

#include "safe_read.h"

size_t pp_utf8_put(uint32_t cp, char *out)
{
    unsigned char *o = (unsigned char *)out;
    if ((cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
        cp = 0xFFFD;
    if (cp < 0x80) {
        o[0] = (unsigned char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (unsigned char)(0xC0 | cp >> 6);
        o[1] = (unsigned char)(0x80 | (cp & 63));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (unsigned char)(0xE0 | cp >> 12);
        o[1] = (unsigned char)(0x80 | (cp >> 6 & 63));
        o[2] = (unsigned char)(0x80 | (cp & 63));
        return 3;
    }
    o[0] = (unsigned char)(0xF0 | cp >> 18);
    o[1] = (unsigned char)(0x80 | (cp >> 12 & 63));
    o[2] = (unsigned char)(0x80 | (cp >> 6 & 63));
    o[3] = (unsigned char)(0x80 | (cp & 63));
    return 4;
}

long pp_read_pystring(const pp_py_layout *l, uintptr_t addr, char *out)
{
    /* Only the PyASCIIObject part first: a short ASCII str may end right there. */
    unsigned char hdr[PP_COPY_STR];
    if ((size_t)l->str_ascii_size > sizeof hdr ||
        pp_read(hdr, addr, (size_t)l->str_ascii_size) != 0)
        return -1;
    int64_t length;
    uint32_t state;
    memcpy(&length, hdr + l->str_length, sizeof length);
    memcpy(&state, hdr + l->str_state, sizeof state);
    /* kind (3 bits), compact, ascii: consecutive bits of state, from str_kind_shift */
    uint32_t bits = state >> l->str_kind_shift;
    unsigned kind = bits & 7, compact = bits >> 3 & 1, ascii = bits >> 4 & 1;
    if (length < 0 || (kind != 1 && kind != 2 && kind != 4) || (ascii && kind != 1))
        return -1;
    uintptr_t data;
    if (compact) {
        data = addr + (uintptr_t)(ascii ? l->str_ascii_size : l->str_compact_size);
    } else {
        /* legacy string: the data pointer follows the PyCompactUnicodeObject part */
        if (pp_read(&data, addr + (uintptr_t)l->str_compact_size, sizeof data) != 0)
            return -1;
    }
    size_t chars = length > PP_MAX_STR_CHARS ? PP_MAX_STR_CHARS : (size_t)length;
    if (kind == 1 && ascii) {
        if (pp_read(out, data, chars) != 0)
            return -1;
        for (size_t i = 0; i < chars; i++)
            if ((unsigned char)out[i] >= 0x80)
                return -1; /* not the ASCII str it claims to be: freed or being rewritten */
        out[chars] = '\0';
        return (long)chars;
    }
    unsigned char raw[PP_MAX_STR_CHARS * 4];
    if (pp_read(raw, data, chars * kind) != 0)
        return -1;
    size_t n = 0;
    for (size_t i = 0; i < chars; i++) {
        uint32_t cp;
        if (kind == 1) {
            cp = raw[i];
        } else if (kind == 2) {
            uint16_t u;
            memcpy(&u, raw + 2 * i, 2);
            cp = u;
        } else {
            memcpy(&cp, raw + 4 * i, 4);
        }
        n += pp_utf8_put(cp, out + n);
    }
    out[n] = '\0';
    return (long)n;
}
