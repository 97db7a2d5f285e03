/* The injector's layers over the shared settings engine, in order of precedence: default < config
 * file (JSON or YAML) < environment (PODPROF_INJECTOR_<NAME>) < flag. The engine parses every
 * value; this file only finds them: the file's keys (where lists may be arrays or mappings) and
 * the flags of the command's scope. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>

#include "config_options.h"
#include "docload.h"
#include "podprof/names.h"

void inj_config_defaults(inj_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    if (pp_settings_defaults(cfg, inj_opts, inj_n_opts) != 0)
        abort(); /* a bad default is a programming error caught by every test */
}

void inj_config_free(inj_config *cfg)
{
    pp_settings_free(cfg, inj_opts, inj_n_opts);
    memset(cfg, 0, sizeof *cfg);
}

/* A file key spells '-' as '_' (YAML/Helm friendly); both spellings are accepted. */
static const pp_setting *find_opt_key(const char *key)
{
    for (size_t i = 0; i < inj_n_opts; i++) {
        const char *a = inj_opts[i].name, *b = key;
        while (*a && (*a == *b || (*a == '-' && *b == '_')))
            a++, b++;
        if (!*a && !*b)
            return &inj_opts[i];
    }
    return NULL;
}

/* A list given as an array (items) or, for NAME=VALUE, as a mapping or [{name, value}] as in a
 * pod spec. */
static int apply_file_list(inj_config *cfg, const pp_setting *o, const char *key, const cJSON *v,
                           char *err, size_t errlen)
{
    inj_strlist fresh = {0};
    const cJSON *it;
    bool env = o->type == &inj_env_list, bad = false;
    cJSON_ArrayForEach(it, v)
    {
        const char *name = it->string, *val = NULL;
        if (cJSON_IsObject(v)) {
            val = cJSON_IsString(it) ? it->valuestring : NULL;
        } else if (cJSON_IsString(it) && !env) {
            name = "";
            val = it->valuestring;
        } else if (cJSON_IsObject(it) && env) {
            const cJSON *nm = cJSON_GetObjectItemCaseSensitive(it, "name");
            const cJSON *vl = cJSON_GetObjectItemCaseSensitive(it, "value");
            name = cJSON_IsString(nm) ? nm->valuestring : NULL;
            val = cJSON_IsString(vl) ? vl->valuestring : NULL;
        }
        char *item = NULL;
        if (name && val && (item = malloc(strlen(name) + strlen(val) + 2)))
            sprintf(item, "%s%s%s", name, env ? "=" : "", val);
        int rc = item ? inj_cfg_list_add(o->type, &fresh, item, &bad) : -1;
        if (rc != 0) {
            if (!name || !val)
                snprintf(err, errlen, "%s: every item needs a name and a string value", key);
            else if (bad)
                snprintf(err, errlen, "%s: '%.64s' is not valid: expected %s", key,
                         item ? item : val, o->type->expected);
            free(item);
            inj_cfg_strlist_free(&fresh);
            return -1;
        }
        free(item);
    }
    inj_cfg_strlist_free(pp_setting_field(cfg, o));
    *(inj_strlist *)pp_setting_field(cfg, o) = fresh;
    return 0;
}

static int apply_file_value(inj_config *cfg, const pp_setting *o, const char *key, const cJSON *v,
                            char *err, size_t errlen)
{
    char buf[64];
    const char *text = NULL;
    if (cJSON_IsString(v))
        text = v->valuestring;
    else if (cJSON_IsBool(v))
        text = cJSON_IsTrue(v) ? "true" : "false";
    else if (cJSON_IsNumber(v) && snprintf(buf, sizeof buf, "%.17g", v->valuedouble) > 0)
        text = buf;
    else if (cJSON_IsNull(v))
        text = o->def;
    else if (o->kind == PP_SETTING_CUSTOM &&
             (cJSON_IsArray(v) || (cJSON_IsObject(v) && o->type == &inj_env_list)))
        return apply_file_list(cfg, o, key, v, err, errlen);
    if (!text) {
        snprintf(err, errlen, "%s: unexpected value type", key);
        return -1;
    }
    if (pp_setting_set(cfg, o, text) != 0) {
        pp_setting_refusal(err, errlen, key, o, text);
        return -1;
    }
    return 0;
}

static int apply_file(inj_config *cfg, const char *path, char *err, size_t errlen)
{
    char perr[200] = "";
    size_t len = 0;
    char *text = inj_read_file(path, &len, perr, sizeof perr);
    if (!text) {
        snprintf(err, errlen, "config file %s", perr);
        return -1;
    }
    cJSON *doc = inj_doc_parse(text, len, perr, sizeof perr);
    free(text);
    if (!doc) {
        snprintf(err, errlen, "config file %s: %s", path, perr);
        return -1;
    }
    int rc = 0;
    if (!cJSON_IsObject(doc)) {
        snprintf(err, errlen, "config file %s: expected a mapping of settings", path);
        rc = -1;
    }
    const cJSON *it;
    if (rc == 0) {
        cJSON_ArrayForEach(it, doc)
        {
            const pp_setting *o = find_opt_key(it->string);
            if (!o || o->kind == PP_SETTING_NONE) {
                snprintf(err, errlen, "config file %s: unknown setting '%s'", path, it->string);
                rc = -1;
                break;
            }
            char verr[300] = "";
            if (apply_file_value(cfg, o, it->string, it, verr, sizeof verr) < 0) {
                snprintf(err, errlen, "config file %s: %s", path, verr[0] ? verr : "out of memory");
                rc = -1;
                break;
            }
        }
    }
    cJSON_Delete(doc);
    return rc;
}

struct first_error {
    char *err;
    size_t errlen;
};

static void keep_first(void *ctx, const pp_setting *s, const char *line)
{
    (void)s;
    struct first_error *fe = ctx;
    if (!fe->err[0])
        snprintf(fe->err, fe->errlen, "%s", line);
}

int inj_config_load(inj_config *cfg, int *argc, char **argv, int scope, char *err, size_t errlen)
{
    /* The file comes first whatever its position on the command line. */
    char env_name[64];
    const pp_setting *config_flag = inj_opts;
    while (config_flag->kind != PP_SETTING_NONE) /* --config, the one row without a field */
        config_flag++;
    const char *file =
        getenv(pp_setting_env_name(PP_ENV_INJECTOR_PREFIX, config_flag, env_name, sizeof env_name));
    for (int i = 1; i < *argc; i++) {
        const char *v = NULL;
        int used = 0;
        const pp_setting *o =
            pp_settings_match_flag(inj_opts, inj_n_opts, *argc, argv, i, &v, &used);
        if (o == config_flag) {
            if (!v) {
                snprintf(err, errlen, "--%s needs a value", o->name);
                return -1;
            }
            file = v;
        }
        if (o)
            i += used - 1;
    }
    if (file && file[0] && apply_file(cfg, file, err, errlen) < 0)
        return -1;

    struct first_error fe = {err, errlen};
    err[0] = '\0';
    if (pp_settings_from_env(cfg, inj_opts, inj_n_opts, PP_ENV_INJECTOR_PREFIX, (unsigned)scope,
                             keep_first, &fe) != 0)
        return -1;

    int out = 1;
    for (int i = 1; i < *argc;) {
        const char *v = NULL;
        int used = 0;
        const pp_setting *o =
            pp_settings_match_flag(inj_opts, inj_n_opts, *argc, argv, i, &v, &used);
        if (!o || !(o->flags & scope)) {
            argv[out++] = argv[i++];
            continue;
        }
        if (!v || pp_setting_set(cfg, o, v) != 0) {
            char label[80];
            snprintf(label, sizeof label, "--%s", o->name);
            pp_setting_refusal(err, errlen, label, o, v);
            return -1;
        }
        i += used;
    }
    *argc = out;
    argv[out] = NULL;
    return inj_cfg_validate(cfg, err, errlen);
}
