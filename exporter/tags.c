#include "tags.h"

#include <stdlib.h>
#include <string.h>

/* Length of a valid UTF-8 sequence at s (at most n bytes available), 0 when invalid. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    size_t len = s[0] >= 0xF0 && s[0] <= 0xF4   ? 4
                 : s[0] >= 0xE0                 ? 3
                 : s[0] >= 0xC2 && s[0] <= 0xDF ? 2
                                                : 0;
    if (!len || len > n)
        return 0;
    for (size_t i = 1; i < len; i++)
        if ((s[i] & 0xC0) != 0x80)
            return 0;
    return len;
}

static bool ascii_alpha(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool ascii_allowed(unsigned char c, bool as_key)
{
    if (ascii_alpha(c) || (c >= '0' && c <= '9'))
        return true;
    switch (c) {
    case '_':
    case '-':
    case '.':
    case '/':
        return true;
    case ':':
        return !as_key;
    default:
        return false;
    }
}

/* Datadog's rules: lower case; characters other than letters, digits, `_-./:` become `_`;
 * runs of `_` collapse; trailing `_` removed; a key starts with a letter; non-ASCII letters
 * (valid UTF-8) are kept as they are. */
size_t ex_tag_normalize(const char *s, bool as_key, char *out, size_t cap)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n = strlen(s), o = 0;
    if (!cap)
        return 0;
    for (size_t i = 0; i < n && o + 1 < cap;) {
        unsigned char c = p[i];
        if (c >= 0x80) {
            size_t l = utf8_len(p + i, n - i);
            if (l && o + l < cap) {
                memcpy(out + o, p + i, l);
                o += l;
                i += l;
                continue;
            }
            if (l) /* no room for the whole character */
                break;
            c = '_';
        } else if (!ascii_allowed(c, as_key)) {
            c = '_';
        } else if (c >= 'A' && c <= 'Z') {
            c = (unsigned char)(c - 'A' + 'a');
        }
        i++;
        if (as_key && o == 0 && !ascii_alpha(c))
            continue; /* a key must start with a letter */
        if (c == '_' && o > 0 && out[o - 1] == '_')
            continue;
        out[o++] = (char)c;
    }
    while (o > 0 && out[o - 1] == '_')
        o--;
    out[o] = '\0';
    return o;
}

static ex_tag *find(const ex_tags *tags, const char *key)
{
    for (size_t i = 0; i < tags->n; i++)
        if (!strcmp(tags->items[i].key, key))
            return &tags->items[i];
    return NULL;
}

const char *ex_tags_get(const ex_tags *tags, const char *key)
{
    ex_tag *t = find(tags, key);
    return t ? t->value : NULL;
}

void ex_tags_set_raw(ex_tags *tags, const char *key, const char *value)
{
    ex_tag *t = find(tags, key);
    char *v = strdup(value);
    if (!v)
        return;
    if (t) {
        free(t->value);
        t->value = v;
        return;
    }
    ex_tag *grown = realloc(tags->items, (tags->n + 1) * sizeof *grown);
    char *k = strdup(key);
    if (!grown || !k) {
        free(v);
        free(k);
        if (grown)
            tags->items = grown;
        return;
    }
    tags->items = grown;
    tags->items[tags->n].key = k;
    tags->items[tags->n].value = v;
    tags->n++;
}

bool ex_tags_set(ex_tags *tags, const char *key, const char *value)
{
    if (!key || !value)
        return false;
    char k[EX_TAG_MAX_LEN + 1], v[EX_TAG_MAX_LEN + 1];
    size_t kl = ex_tag_normalize(key, true, k, sizeof k);
    if (!kl || kl + 2 > EX_TAG_MAX_LEN)
        return false;
    /* the whole "key:value" must fit in EX_TAG_MAX_LEN */
    if (!ex_tag_normalize(value, false, v, EX_TAG_MAX_LEN - kl))
        return false;
    ex_tags_set_raw(tags, k, v);
    return true;
}

void ex_tags_add_list(ex_tags *tags, const char *list)
{
    if (!list)
        return;
    char *copy = strdup(list), *save = NULL;
    if (!copy)
        return;
    /* as dd-trace-py: commas separate when there is one, else whitespace does */
    const char *seps = strchr(copy, ',') ? "," : " \t\n";
    for (char *item = strtok_r(copy, seps, &save); item; item = strtok_r(NULL, seps, &save)) {
        while (*item == ' ' || *item == '\t')
            item++;
        char *colon = strchr(item, ':');
        if (!colon)
            continue; /* a key without a value carries nothing for the profiler */
        *colon = '\0';
        ex_tags_set(tags, item, colon + 1);
    }
    free(copy);
}

static bool excluded_label(const char *key)
{
    return !strcmp(key, "pod-template-hash") || !strcmp(key, "controller-revision-hash");
}

/* The tag name for a label under the policy, or NULL when the label is not wanted. */
static const char *label_tag_name(const char *policy, const char *label, char *buf, size_t cap)
{
    const char *wildcard = NULL;
    for (const char *p = policy; *p;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        while (len && (*p == ' ' || *p == '\t'))
            p++, len--;
        while (len && (p[len - 1] == ' ' || p[len - 1] == '\t'))
            len--;
        const char *eq = memchr(p, '=', len);
        size_t name_len = eq ? (size_t)(eq - p) : len;
        if (name_len == 1 && *p == '*')
            wildcard = label;
        else if (name_len == strlen(label) && !strncmp(p, label, name_len)) {
            size_t tag_len = eq ? len - name_len - 1 : name_len;
            const char *tag = eq ? eq + 1 : p;
            if (!tag_len || tag_len >= cap)
                return NULL;
            memcpy(buf, tag, tag_len);
            buf[tag_len] = '\0';
            return buf;
        }
        p = end ? end + 1 : p + len;
    }
    return wildcard;
}

void ex_tags_add_labels(ex_tags *tags, const ex_labels *labels, const char *policy)
{
    if (!policy || !*policy)
        return;
    char buf[256];
    for (size_t i = 0; i < labels->n; i++) {
        const ex_label *l = &labels->items[i];
        if (excluded_label(l->key))
            continue;
        const char *name = label_tag_name(policy, l->key, buf, sizeof buf);
        if (name)
            ex_tags_set(tags, name, l->value);
    }
}

char *ex_tags_join(const ex_tags *tags)
{
    size_t len = 1;
    for (size_t i = 0; i < tags->n; i++)
        len += strlen(tags->items[i].key) + strlen(tags->items[i].value) + 2;
    char *out = malloc(len), *w = out;
    if (!out)
        return NULL;
    *w = '\0';
    for (size_t i = 0; i < tags->n; i++) {
        if (i)
            *w++ = ',';
        size_t kl = strlen(tags->items[i].key), vl = strlen(tags->items[i].value);
        memcpy(w, tags->items[i].key, kl);
        w += kl;
        *w++ = ':';
        memcpy(w, tags->items[i].value, vl);
        w += vl;
        *w = '\0';
    }
    return out;
}

void ex_tags_free(ex_tags *tags)
{
    for (size_t i = 0; i < tags->n; i++) {
        free(tags->items[i].key);
        free(tags->items[i].value);
    }
    free(tags->items);
    tags->items = NULL;
    tags->n = 0;
}
