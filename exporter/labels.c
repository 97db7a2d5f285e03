#include "labels.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Kubernetes allows at most 64 KiB of labels per object in practice; stay well above that. */
#define EX_LABELS_MAX_FILE (1 << 20)
#define EX_LABELS_MAX_COUNT 1024

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static size_t put_utf8(char *out, uint32_t cp)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* Unquotes the Go double-quoted string starting at p[0] == '"' within [p, end). On success
 * returns the decoded (NUL-terminated, malloc'd) string and sets *after past the closing quote. */
static char *go_unquote(const char *p, const char *end, const char **after)
{
    if (p >= end || *p != '"')
        return NULL;
    p++;
    /* decoded output is never longer than the escaped input */
    char *out = malloc((size_t)(end - p) + 1);
    if (!out)
        return NULL;
    size_t n = 0;
    while (p < end && *p != '"') {
        if (*p == '\n')
            goto bad;
        if (*p != '\\') {
            out[n++] = *p++;
            continue;
        }
        if (++p >= end)
            goto bad;
        char c = *p++;
        switch (c) {
        case 'a':
            out[n++] = '\a';
            break;
        case 'b':
            out[n++] = '\b';
            break;
        case 'f':
            out[n++] = '\f';
            break;
        case 'n':
            out[n++] = '\n';
            break;
        case 'r':
            out[n++] = '\r';
            break;
        case 't':
            out[n++] = '\t';
            break;
        case 'v':
            out[n++] = '\v';
            break;
        case '\\':
            out[n++] = '\\';
            break;
        case '"':
            out[n++] = '"';
            break;
        case '\'':
            out[n++] = '\'';
            break;
        case 'x': {
            if (end - p < 2 || hexval(p[0]) < 0 || hexval(p[1]) < 0)
                goto bad;
            out[n++] = (char)(hexval(p[0]) * 16 + hexval(p[1]));
            p += 2;
            break;
        }
        case 'u':
        case 'U': {
            int digits = c == 'u' ? 4 : 8;
            if (end - p < digits)
                goto bad;
            uint32_t cp = 0;
            for (int i = 0; i < digits; i++) {
                int h = hexval(p[i]);
                if (h < 0)
                    goto bad;
                cp = cp * 16 + (uint32_t)h;
            }
            if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
                goto bad;
            p += digits;
            n += put_utf8(out + n, cp);
            break;
        }
        default:
            if (c >= '0' && c <= '7') { /* \NNN octal, three digits */
                if (end - p < 2 || p[0] < '0' || p[0] > '7' || p[1] < '0' || p[1] > '7')
                    goto bad;
                int v = (c - '0') * 64 + (p[0] - '0') * 8 + (p[1] - '0');
                if (v > 255)
                    goto bad;
                out[n++] = (char)v;
                p += 2;
                break;
            }
            goto bad;
        }
    }
    if (p >= end)
        goto bad;
    out[n] = '\0';
    *after = p + 1;
    return out;
bad:
    free(out);
    return NULL;
}

static bool valid_key(const char *k, size_t len)
{
    if (!len)
        return false;
    for (size_t i = 0; i < len; i++)
        if (k[i] == ' ' || k[i] == '\t' || k[i] == '"' || (unsigned char)k[i] < 0x20)
            return false;
    return true;
}

void ex_labels_parse(const char *text, size_t len, ex_labels *out)
{
    memset(out, 0, sizeof *out);
    const char *p = text, *end = text + len;
    int lineno = 0;
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        const char *line_end = eol ? eol : end;
        lineno++;
        const char *le = line_end;
        if (le > p && le[-1] == '\r')
            le--;
        if (le == p) { /* blank line */
            p = eol ? eol + 1 : end;
            continue;
        }
        const char *eq = memchr(p, '=', (size_t)(le - p));
        char *value = NULL;
        const char *after = NULL;
        bool ok = eq && valid_key(p, (size_t)(eq - p)) && out->n < EX_LABELS_MAX_COUNT &&
                  (value = go_unquote(eq + 1, le, &after)) != NULL && after == le;
        if (ok) {
            ex_label *grown = realloc(out->items, (out->n + 1) * sizeof *grown);
            char *key = strndup(p, (size_t)(eq - p));
            if (grown)
                out->items = grown;
            if (grown && key) {
                out->items[out->n].key = key;
                out->items[out->n].value = value;
                out->n++;
            } else {
                free(key);
                free(value);
            }
        } else {
            free(value);
            out->malformed++;
            if (!out->first_bad_line)
                out->first_bad_line = lineno;
        }
        p = eol ? eol + 1 : end;
    }
}

int ex_labels_read(const char *path, ex_labels *out)
{
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    char *buf = malloc(EX_LABELS_MAX_FILE);
    if (!buf) {
        fclose(f);
        errno = ENOMEM;
        return -1;
    }
    size_t n = fread(buf, 1, EX_LABELS_MAX_FILE, f);
    int err = ferror(f) ? errno : 0;
    fclose(f);
    if (err) {
        free(buf);
        errno = err;
        return -1;
    }
    ex_labels_parse(buf, n, out);
    free(buf);
    return 0;
}

void ex_labels_free(ex_labels *labels)
{
    for (size_t i = 0; i < labels->n; i++) {
        free(labels->items[i].key);
        free(labels->items[i].value);
    }
    free(labels->items);
    memset(labels, 0, sizeof *labels);
}
