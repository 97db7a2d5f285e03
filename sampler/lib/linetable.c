#include "linetable.h"

/* 3.8-3.9 co_lnotab: (address increment, signed line increment) byte pairs. */
static int lnotab_line(const uint8_t *t, size_t len, int line, long addr_target)
{
    long addr = 0;
    for (size_t i = 0; i + 1 < len; i += 2) {
        addr += t[i];
        if (addr > addr_target)
            break;
        line += (int8_t)t[i + 1];
    }
    return line;
}

/* 3.10 co_linetable (PEP 626): (range length, signed line delta) pairs; -128 = no line. */
static int linetable_line(const uint8_t *t, size_t len, int line, long addr_target)
{
    long end = 0;
    for (size_t i = 0; i + 1 < len; i += 2) {
        long start = end;
        end += t[i];
        int8_t delta = (int8_t)t[i + 1];
        int current = 0;
        if (delta != -128) {
            line += delta;
            current = line;
        }
        if (start <= addr_target && addr_target < end)
            return current;
    }
    return 0;
}

typedef struct {
    const uint8_t *t;
    size_t len, pos;
} cursor;

static unsigned read_varint(cursor *c)
{
    unsigned value = 0, shift = 0;
    while (c->pos < c->len && shift < 32) {
        uint8_t b = c->t[c->pos++];
        value |= (unsigned)(b & 63) << shift;
        shift += 6;
        if (!(b & 64))
            break;
    }
    return value;
}

static int read_svarint(cursor *c)
{
    unsigned v = read_varint(c);
    return (v & 1) ? -(int)(v >> 1) : (int)(v >> 1);
}

/* 3.11+ location table (PEP 657): entries of (code, length) with line deltas; code units. */
static int locations_line(const uint8_t *t, size_t len, int line, long unit_target)
{
    cursor c = {t, len, 0};
    long addr = 0;
    while (c.pos < c.len) {
        uint8_t first = c.t[c.pos++];
        if (!(first & 0x80))
            return 0; /* not at an entry start: corrupt or torn copy */
        int code = (first >> 3) & 15;
        long length = (first & 7) + 1;
        int current;
        switch (code) {
        case 15: /* no location */
            current = 0;
            break;
        case 14: /* long form */
            line += read_svarint(&c);
            read_varint(&c);
            read_varint(&c);
            read_varint(&c);
            current = line;
            break;
        case 13: /* no columns */
            line += read_svarint(&c);
            current = line;
            break;
        case 10:
        case 11:
        case 12: /* one-line forms: line delta in the code, two column bytes */
            line += code - 10;
            c.pos += 2;
            current = line;
            break;
        default: /* short forms: same line, one column byte */
            c.pos += 1;
            current = line;
            break;
        }
        if (addr <= unit_target && unit_target < addr + length)
            return current;
        addr += length;
    }
    return 0;
}

int pp_line_for_offset(pp_line_format format, const uint8_t *table, size_t len, int firstlineno,
                       long offset)
{
    if (offset < 0)
        return firstlineno;
    switch (format) {
    case PP_LINES_LNOTAB:
        return lnotab_line(table, len, firstlineno, offset);
    case PP_LINES_LINETABLE:
        return linetable_line(table, len, firstlineno, offset);
    case PP_LINES_LOCATIONS:
        return locations_line(table, len, firstlineno, offset);
    }
    return 0;
}
