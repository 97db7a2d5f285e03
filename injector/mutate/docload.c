#include "docload.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "podprof/read_bounded.h"

char *inj_read_file(const char *path, size_t *len, char *err, size_t errlen)
{
    const char *why = NULL;
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    char *text = f ? pp_read_bounded(f, INJ_DOC_MAX_BYTES, len, &why) : NULL;
    if (!f)
        why = strerror(errno);
    else if (f != stdin)
        fclose(f);
    if (!text && why == pp_read_too_large)
        snprintf(err, errlen, "%s: larger than %u bytes", path, INJ_DOC_MAX_BYTES);
    else if (!text)
        snprintf(err, errlen, "%s: %s", path, why);
    return text;
}

static const char *skip_space(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
        p++;
    return p;
}

/* cJSON's parser recurses; refuse absurd nesting before handing it over. */
static int json_depth_ok(const char *p, const char *end)
{
    int depth = 0;
    bool in_str = false;
    for (; p < end; p++) {
        char c = *p;
        if (in_str) {
            if (c == '\\')
                p++;
            else if (c == '"')
                in_str = false;
        } else if (c == '"') {
            in_str = true;
        } else if (c == '{' || c == '[') {
            if (++depth > INJ_DOC_MAX_DEPTH)
                return 0;
        } else if (c == '}' || c == ']') {
            depth--;
        }
    }
    return 1;
}

cJSON *inj_json_parse_bounded(const char *text, size_t len, char *err, size_t errlen)
{
    if (!json_depth_ok(text, text + len)) {
        snprintf(err, errlen, "JSON nested deeper than %d levels", INJ_DOC_MAX_DEPTH);
        return NULL;
    }
    const char *end = NULL;
    cJSON *doc = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    if (!doc) {
        size_t off = end ? (size_t)(end - text) : 0;
        if (off + 1 >= len)
            snprintf(err, errlen, "invalid JSON: truncated (ends at byte %zu)", len);
        else
            snprintf(err, errlen, "invalid JSON at byte %zu", off);
        return NULL;
    }
    const char *rest = skip_space(end, text + len);
    if (rest < text + len && *rest != '\0') {
        snprintf(err, errlen, "invalid JSON: trailing data at byte %zu", (size_t)(rest - text));
        cJSON_Delete(doc);
        return NULL;
    }
    return doc;
}

cJSON *inj_doc_parse(const char *text, size_t len, char *err, size_t errlen)
{
    const char *p = skip_space(text, text + len);
    if (p == text + len) {
        snprintf(err, errlen, "empty input");
        return NULL;
    }
    if (*p == '{' || *p == '[')
        return inj_json_parse_bounded(text, len, err, errlen);
    return inj_yaml_parse(text, len, err, errlen);
}

/* YAML 1.2 core schema resolution of a plain (unquoted) scalar. */
static cJSON *yaml_plain_scalar(const char *s, size_t n)
{
    if (n == 0 || (n == 1 && s[0] == '~') || !strcmp(s, "null") || !strcmp(s, "Null") ||
        !strcmp(s, "NULL"))
        return cJSON_CreateNull();
    if (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "TRUE"))
        return cJSON_CreateTrue();
    if (!strcmp(s, "false") || !strcmp(s, "False") || !strcmp(s, "FALSE"))
        return cJSON_CreateFalse();
    const char *q = s;
    if (*q == '-' || *q == '+')
        q++;
    bool digits = false, ok = true;
    for (const char *c = q; *c; c++) {
        if (*c >= '0' && *c <= '9')
            digits = true;
        else if (*c != '.' && *c != 'e' && *c != 'E' && *c != '-' && *c != '+')
            ok = false;
    }
    if (ok && digits && *q >= '0' && *q <= '9') {
        char *endp = NULL;
        errno = 0;
        double v = strtod(s, &endp);
        if (endp && *endp == '\0' && errno == 0 && isfinite(v))
            return cJSON_CreateNumber(v);
    }
    return cJSON_CreateString(s);
}

struct yaml_frame {
    cJSON *node;
    char *pending_key; /* mapping: key read, value not yet */
};

static int yaml_attach(struct yaml_frame *top, cJSON *value, char *err, size_t errlen)
{
    if (cJSON_IsArray(top->node)) {
        cJSON_AddItemToArray(top->node, value);
        return 0;
    }
    if (!top->pending_key) {
        if (!cJSON_IsString(value)) {
            snprintf(err, errlen, "YAML mapping key is not a scalar");
            cJSON_Delete(value);
            return -1;
        }
        top->pending_key = strdup(value->valuestring);
        cJSON_Delete(value);
        return top->pending_key ? 0 : -1;
    }
    if (cJSON_GetObjectItemCaseSensitive(top->node, top->pending_key))
        cJSON_ReplaceItemInObjectCaseSensitive(top->node, top->pending_key, value);
    else
        cJSON_AddItemToObject(top->node, top->pending_key, value);
    free(top->pending_key);
    top->pending_key = NULL;
    return 0;
}

cJSON *inj_yaml_parse(const char *text, size_t len, char *err, size_t errlen)
{
    yaml_parser_t parser;
    yaml_event_t ev;
    struct yaml_frame stack[INJ_DOC_MAX_DEPTH + 1];
    int depth = 0, docs = 0;
    cJSON *root = NULL;
    bool done = false, failed = false;

    if (!yaml_parser_initialize(&parser)) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    while (!done && !failed) {
        if (!yaml_parser_parse(&parser, &ev)) {
            snprintf(err, errlen, "invalid YAML at line %zu: %s", parser.problem_mark.line + 1,
                     parser.problem ? parser.problem : "syntax error");
            failed = true;
            break;
        }
        cJSON *value = NULL;
        switch (ev.type) {
        case YAML_STREAM_END_EVENT:
            done = true;
            break;
        case YAML_DOCUMENT_START_EVENT:
            if (++docs > 1) {
                snprintf(err, errlen, "YAML has more than one document; give one object");
                failed = true;
            }
            break;
        case YAML_ALIAS_EVENT:
            snprintf(err, errlen, "YAML aliases are not supported (line %zu)",
                     ev.start_mark.line + 1);
            failed = true;
            break;
        case YAML_SCALAR_EVENT: {
            const char *s = (const char *)ev.data.scalar.value;
            size_t n = ev.data.scalar.length;
            bool plain = ev.data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
            bool is_key =
                depth > 0 && cJSON_IsObject(stack[depth - 1].node) && !stack[depth - 1].pending_key;
            if (strlen(s) != n) {
                snprintf(err, errlen, "YAML scalar with a NUL byte at line %zu",
                         ev.start_mark.line + 1);
                failed = true;
                break;
            }
            value = (plain && !is_key) ? yaml_plain_scalar(s, n) : cJSON_CreateString(s);
            break;
        }
        case YAML_SEQUENCE_START_EVENT:
        case YAML_MAPPING_START_EVENT:
            if (depth >= INJ_DOC_MAX_DEPTH) {
                snprintf(err, errlen, "YAML nested deeper than %d levels", INJ_DOC_MAX_DEPTH);
                failed = true;
                break;
            }
            if (depth > 0 && cJSON_IsObject(stack[depth - 1].node) &&
                !stack[depth - 1].pending_key) {
                snprintf(err, errlen, "YAML mapping key is not a scalar (line %zu)",
                         ev.start_mark.line + 1);
                failed = true;
                break;
            }
            stack[depth].node =
                ev.type == YAML_SEQUENCE_START_EVENT ? cJSON_CreateArray() : cJSON_CreateObject();
            stack[depth].pending_key = NULL;
            if (!stack[depth].node) {
                snprintf(err, errlen, "out of memory");
                failed = true;
                break;
            }
            depth++;
            break;
        case YAML_SEQUENCE_END_EVENT:
        case YAML_MAPPING_END_EVENT:
            depth--;
            value = stack[depth].node;
            free(stack[depth].pending_key);
            break;
        default:
            break;
        }
        if (value && !failed) {
            if (depth == 0) {
                if (root)
                    cJSON_Delete(root);
                root = value;
            } else if (yaml_attach(&stack[depth - 1], value, err, errlen) < 0) {
                failed = true;
            }
        } else if (value) {
            cJSON_Delete(value);
        }
        yaml_event_delete(&ev);
    }
    /* On failure the open containers are owned by the stack; the outermost one holds the rest. */
    if (failed) {
        for (int i = depth - 1; i >= 0; i--) {
            free(stack[i].pending_key);
            cJSON_Delete(stack[i].node);
        }
        cJSON_Delete(root);
        root = NULL;
    } else if (!root) {
        snprintf(err, errlen, "empty YAML document");
    }
    yaml_parser_delete(&parser);
    return root;
}
