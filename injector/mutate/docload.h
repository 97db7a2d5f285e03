/* Reading a Kubernetes object or a config file: JSON (cJSON) or YAML (libyaml, converted to
 * cJSON), from a path or stdin, with bounded size and depth so bad input fails with one line. */
#ifndef PODPROF_INJECTOR_DOCLOAD_H
#define PODPROF_INJECTOR_DOCLOAD_H

#include <stddef.h>
#include <cjson/cJSON.h>

#define INJ_DOC_MAX_BYTES (16u << 20)
#define INJ_DOC_MAX_DEPTH 200

/* Reads all of path ("-" = stdin) up to INJ_DOC_MAX_BYTES. Returns a NUL-terminated buffer
 * (caller frees) or NULL with err set. */
char *inj_read_file(const char *path, size_t *len, char *err, size_t errlen);

/* Parses JSON with cJSON after refusing nesting deeper than INJ_DOC_MAX_DEPTH. */
cJSON *inj_json_parse_bounded(const char *text, size_t len, char *err, size_t errlen);

/* Parses JSON, or YAML when the text does not start with '{' or '['. One document only. */
cJSON *inj_doc_parse(const char *text, size_t len, char *err, size_t errlen);

/* Parses YAML (a single document) into cJSON. Plain scalars become null/bool/number where YAML 1.2
 * core schema says so; aliases are refused. */
cJSON *inj_yaml_parse(const char *text, size_t len, char *err, size_t errlen);

#endif
