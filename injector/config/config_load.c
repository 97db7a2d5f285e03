/* The layers of the injector's configuration, in order of precedence: default < config file
 * (JSON or YAML) < environment < flag. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>

#include "config_options.h"
#include "docload.h"

static const struct opt *find_opt(const char *name, size_t n)
{
    for (size_t i = 0; i < inj_n_opts; i++)
        if (strlen(inj_opts[i].name) == n && !strncmp(inj_opts[i].name, name, n))
            return &inj_opts[i];
    return NULL;
}

/* A file key spells '-' as '_' (YAML/Helm friendly); both spellings are accepted. */
static const struct opt *find_opt_key(const char *key)
{
    char name[64];
    size_t n = strlen(key);
    if (n >= sizeof name)
        return NULL;
    for (size_t i = 0; i <= n; i++)
        name[i] = key[i] == '_' ? '-' : key[i];
    return find_opt(name, n);
}

static int apply_file_value(inj_config *cfg, const struct opt *o, const cJSON *v, char *err,
                            size_t errlen)
{
    char buf[64];
    if (cJSON_IsString(v))
        return inj_cfg_set_value(cfg, o, v->valuestring, err, errlen);
    if (cJSON_IsBool(v))
        return inj_cfg_set_value(cfg, o, cJSON_IsTrue(v) ? "true" : "false", err, errlen);
    if (cJSON_IsNumber(v)) {
        snprintf(buf, sizeof buf, "%.17g", v->valuedouble);
        return inj_cfg_set_value(cfg, o, buf, err, errlen);
    }
    if (cJSON_IsNull(v))
        return inj_cfg_set_value(cfg, o, o->def, err, errlen);
    if ((o->kind == K_LIST && cJSON_IsArray(v)) ||
        (o->kind == K_ENV && (cJSON_IsObject(v) || cJSON_IsArray(v)))) {
        inj_strlist *l = inj_cfg_field(cfg, o);
        inj_cfg_strlist_free(l);
        const cJSON *it;
        cJSON_ArrayForEach(it, v)
        {
            char *item = NULL;
            const char *name = it->string, *val = NULL;
            if (cJSON_IsObject(v)) {
                if (!inj_cfg_env_name_ok(name, strlen(name))) {
                    inj_cfg_err(err, errlen, "%s: '%s' is not a valid env name", o->name, name);
                    return -1;
                }
                if (cJSON_IsString(it))
                    val = it->valuestring;
            } else if (cJSON_IsString(it) && o->kind == K_LIST) {
                if (!inj_cfg_dns_label_ok(it->valuestring, strlen(it->valuestring))) {
                    inj_cfg_err(err, errlen, "%s: '%s' is not a valid container name", o->name,
                                it->valuestring);
                    return -1;
                }
                if (inj_cfg_strlist_add(l, it->valuestring, strlen(it->valuestring)) < 0)
                    return -1;
                continue;
            } else if (cJSON_IsObject(it)) { /* [{name: X, value: Y}] as in a pod spec */
                const cJSON *nm = cJSON_GetObjectItemCaseSensitive(it, "name");
                const cJSON *vl = cJSON_GetObjectItemCaseSensitive(it, "value");
                name = cJSON_IsString(nm) ? nm->valuestring : NULL;
                val = cJSON_IsString(vl) ? vl->valuestring : NULL;
                if (!name || !inj_cfg_env_name_ok(name, strlen(name))) {
                    inj_cfg_err(err, errlen, "%s: every item needs a valid name", o->name);
                    return -1;
                }
            }
            if (!name || !val) {
                inj_cfg_err(err, errlen, "%s: values must be strings", o->name);
                return -1;
            }
            size_t n = strlen(name) + strlen(val) + 2;
            if (!(item = malloc(n)))
                return -1;
            snprintf(item, n, "%s=%s", name, val);
            int rc = inj_cfg_strlist_add(l, item, n - 1);
            free(item);
            if (rc < 0)
                return -1;
        }
        return 0;
    }
    inj_cfg_err(err, errlen, "%s: unexpected value type", o->name);
    return -1;
}

static int apply_file(inj_config *cfg, const char *path, char *err, size_t errlen)
{
    char perr[200] = "";
    size_t len = 0;
    char *text = inj_read_file(path, &len, perr, sizeof perr);
    if (!text) {
        inj_cfg_err(err, errlen, "config file %s", perr);
        return -1;
    }
    cJSON *doc = inj_doc_parse(text, len, perr, sizeof perr);
    free(text);
    if (!doc) {
        inj_cfg_err(err, errlen, "config file %s: %s", path, perr);
        return -1;
    }
    int rc = 0;
    if (!cJSON_IsObject(doc)) {
        inj_cfg_err(err, errlen, "config file %s: expected a mapping of settings", path);
        rc = -1;
    }
    const cJSON *it;
    if (rc == 0) {
        cJSON_ArrayForEach(it, doc)
        {
            const struct opt *o = find_opt_key(it->string);
            if (!o || o->off == NO_FIELD) {
                inj_cfg_err(err, errlen, "config file %s: unknown setting '%s'", path, it->string);
                rc = -1;
                break;
            }
            char verr[200] = "";
            if (apply_file_value(cfg, o, it, verr, sizeof verr) < 0) {
                inj_cfg_err(err, errlen, "config file %s: %s", path,
                            verr[0] ? verr : "out of memory");
                rc = -1;
                break;
            }
        }
    }
    cJSON_Delete(doc);
    return rc;
}

/* Splits "--name=value" / "--name value"; returns the option or NULL if argv[i] is not ours. */
static const struct opt *match_flag(char **argv, int argc, int i, const char **value, int *used)
{
    const char *a = argv[i];
    if (strncmp(a, "--", 2) != 0)
        return NULL;
    a += 2;
    const char *eq = strchr(a, '=');
    const struct opt *o = find_opt(a, eq ? (size_t)(eq - a) : strlen(a));
    if (!o)
        return NULL;
    *used = 1;
    if (eq) {
        *value = eq + 1;
    } else if (o->kind == K_BOOL) {
        *value = "true";
    } else if (i + 1 < argc) {
        *value = argv[i + 1];
        *used = 2;
    } else {
        *value = NULL;
    }
    return o;
}

int inj_config_load(inj_config *cfg, int *argc, char **argv, int scope, char *err, size_t errlen)
{
    /* The file comes first whatever its position on the command line. */
    const char *file = getenv("PODPROF_INJECTOR_CONFIG");
    for (int i = 1; i < *argc; i++) {
        const char *v = NULL;
        int used = 0;
        const struct opt *o = match_flag(argv, *argc, i, &v, &used);
        if (o && o->kind == K_FILE) {
            if (!v) {
                inj_cfg_err(err, errlen, "--config needs a value");
                return -1;
            }
            file = v;
        }
        if (o)
            i += used - 1;
    }
    if (file && file[0] && apply_file(cfg, file, err, errlen) < 0)
        return -1;

    for (size_t i = 0; i < inj_n_opts; i++) {
        char name[80];
        if (inj_opts[i].off == NO_FIELD || !(inj_opts[i].scope & scope))
            continue;
        inj_cfg_env_name_of(&inj_opts[i], name, sizeof name);
        const char *v = getenv(name);
        if (v && inj_cfg_set_value(cfg, &inj_opts[i], v, err, errlen) < 0) {
            size_t n = strlen(err);
            snprintf(err + n, errlen - n, " (from %s)", name);
            return -1;
        }
    }

    int out = 1;
    for (int i = 1; i < *argc;) {
        const char *v = NULL;
        int used = 0;
        const struct opt *o = match_flag(argv, *argc, i, &v, &used);
        if (!o || !(o->scope & scope)) {
            argv[out++] = argv[i++];
            continue;
        }
        if (!v) {
            inj_cfg_err(err, errlen, "--%s needs a value", o->name);
            return -1;
        }
        if (inj_cfg_set_value(cfg, o, v, err, errlen) < 0)
            return -1;
        i += used;
    }
    *argc = out;
    argv[out] = NULL;
    return inj_cfg_validate(cfg, err, errlen);
}
