/* The common part of the picture commands (see picture_job.h). */
#include "picture_job.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sample_types.h"
#include "value_units.h"

static int compile(const picture_job *j, regex_t *re, const char *option, const char *text)
{
    int rc = regcomp(re, text, REG_EXTENDED | REG_NOSUB);
    if (rc != 0) {
        char why[128];
        regerror(rc, re, why, sizeof why);
        fprintf(stderr, "podprof %s: %s '%s' is not a regular expression: %s\n", j->cmd, option,
                text, why);
        return 2;
    }
    return 0;
}

const pp_setting_type picture_path_argument = CLI_ARGUMENT_TYPE("a path, or - for stdout");
const pp_setting_type picture_pattern_argument = CLI_ARGUMENT_TYPE("a shell pattern");
const pp_setting_type picture_regex_argument =
    CLI_ARGUMENT_TYPE("a POSIX extended regular expression");

int picture_job_init(picture_job *j, const char *cmd, const picture_options *o)
{
    memset(j, 0, sizeof *j);
    j->cmd = cmd;
    j->filter.type = o->type;
    j->filter.thread = o->thread;
    j->filter.lines = o->lines;
    j->output = o->output && strcmp(o->output, "-") ? o->output : NULL;
    j->max_nodes = (size_t)o->max_nodes;
    if (o->focus) {
        if (compile(j, &j->focus, "--focus", o->focus) != 0)
            return 2;
        j->has_focus = true;
        j->filter.focus = &j->focus;
        j->focus_text = o->focus;
    }
    if (o->ignore) {
        if (compile(j, &j->ignore, "--ignore", o->ignore) != 0) {
            picture_job_free(j);
            return 2;
        }
        j->has_ignore = true;
        j->filter.ignore = &j->ignore;
        j->ignore_text = o->ignore;
    }
    return 0;
}

int picture_parse(picture_job *j, const cli_spec *spec, int argc, char **argv, picture_options *o,
                  int min_profiles, int max_profiles)
{
    memset(o, 0, sizeof *o);
    int first = cli_parse(spec, argc, argv, o);
    if (first == CLI_PARSE_HELP)
        return PICTURE_HELP_SHOWN;
    if (first == CLI_PARSE_ERROR)
        return PICTURE_BAD_USAGE;
    int n = argc - first;
    if (n < min_profiles || n > max_profiles) {
        fprintf(stderr, "podprof %s: %s (usage: podprof %s %s)\n", spec->name,
                n == 0 ? "no profile given" : "wrong number of profiles", spec->name, spec->usage);
        return PICTURE_BAD_USAGE;
    }
    return picture_job_init(j, spec->name, o) == 0 ? first : PICTURE_BAD_USAGE;
}

void picture_job_free(picture_job *j)
{
    if (j->has_focus)
        regfree(&j->focus);
    if (j->has_ignore)
        regfree(&j->ignore);
    j->has_focus = j->has_ignore = false;
}

call_tree *picture_tree(const picture_job *j)
{
    call_tree *t = call_tree_new(&j->filter, j->max_nodes);
    if (!t)
        fprintf(stderr, "podprof %s: out of memory\n", j->cmd);
    return t;
}

int picture_load(const picture_job *j, call_tree *t, int series, char **files, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char err[768];
        if (call_tree_add_file(t, series, files[i], err, sizeof err) != 0) {
            fprintf(stderr, "podprof %s: %s: %s\n", j->cmd, files[i], err);
            return 2;
        }
    }
    return 0;
}

void picture_type_title(const call_tree *t, char *buf, size_t len)
{
    const call_tree_info *info = call_tree_get_info(t);
    const sample_type_info *known = sample_type_info_of(info->type);
    if (known)
        snprintf(buf, len, "%s (%s)", known->title, info->type);
    else
        snprintf(buf, len, "%s", info->type);
}

/* Appends to buf at *n, never past len. */
static void add(char *buf, size_t len, size_t *n, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void add(char *buf, size_t len, size_t *n, const char *fmt, ...)
{
    if (*n >= len)
        return;
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(buf + *n, len - *n, fmt, ap);
    va_end(ap);
    if (w > 0)
        *n += (size_t)w;
}

void picture_subtitle(const picture_job *j, const call_tree *t, int series, char *buf, size_t len)
{
    const call_tree_info *info = call_tree_get_info(t);
    int64_t total = call_tree_node(t, CALL_TREE_ROOT)->total[series];
    char value[48];
    value_format(value, sizeof value, total, info->unit);
    size_t n = 0;
    buf[0] = '\0';
    add(buf, len, &n, "%zu profile%s, %" PRId64 " sample%s, %s in all", info->files[series],
        info->files[series] == 1 ? "" : "s", info->samples[series],
        info->samples[series] == 1 ? "" : "s", value);
    if (j->filter.thread)
        add(buf, len, &n, " | thread: %s", j->filter.thread);
    if (j->focus_text)
        add(buf, len, &n, " | focus: %s", j->focus_text);
    if (j->ignore_text)
        add(buf, len, &n, " | ignore: %s", j->ignore_text);
    if (info->cut_value[series] > 0 && total > 0)
        add(buf, len, &n, " | %.2f%% drawn short of its full stack (node or depth limit)",
            100.0 * (double)info->cut_value[series] / (double)total);
}

bool picture_wants_html(const picture_job *j)
{
    if (!j->output)
        return false;
    size_t n = strlen(j->output);
    return (n >= 5 && !strcasecmp(j->output + n - 5, ".html")) ||
           (n >= 4 && !strcasecmp(j->output + n - 4, ".htm"));
}

int picture_output(const picture_job *j, bool terminal_ok, int (*write)(void *ctx, FILE *f),
                   void *ctx)
{
    const char *cmd = j->cmd;
    if (!j->output) {
        if (!terminal_ok && isatty(STDOUT_FILENO)) {
            fprintf(stderr, "podprof %s: no -o OUT given and stdout is a terminal\n", cmd);
            return 2;
        }
        int rc = write(ctx, stdout);
        if (fflush(stdout) != 0 || ferror(stdout) || rc != 0) {
            fprintf(stderr, "podprof %s: writing to stdout: %s\n", cmd,
                    rc != 0 ? "out of memory" : strerror(errno));
            return 1;
        }
        return 0;
    }
    char tmp[PATH_MAX];
    if (snprintf(tmp, sizeof tmp, "%s.tmp.XXXXXX", j->output) >= (int)sizeof tmp) {
        fprintf(stderr, "podprof %s: %s: path too long\n", cmd, j->output);
        return 2;
    }
    int fd = mkstemp(tmp);
    if (fd < 0) {
        fprintf(stderr, "podprof %s: cannot write %s: %s\n", cmd, j->output, strerror(errno));
        return 1;
    }
    /* mkstemp makes the file private; a picture is as readable as any file the user creates. */
    mode_t mask = umask(0);
    umask(mask);
    if (fchmod(fd, 0666 & ~mask) != 0) {
        /* harmless: the picture stays private */
    }
    FILE *f = fdopen(fd, "w");
    if (!f) {
        close(fd);
        unlink(tmp);
        fprintf(stderr, "podprof %s: cannot write %s: %s\n", cmd, j->output, strerror(errno));
        return 1;
    }
    int rc = write(ctx, f);
    int write_failed = ferror(f);
    if (fclose(f) != 0 || write_failed || rc != 0) {
        int e = errno;
        unlink(tmp);
        fprintf(stderr, "podprof %s: cannot write %s: %s\n", cmd, j->output,
                rc != 0 ? "out of memory" : strerror(e));
        return 1;
    }
    if (rename(tmp, j->output) != 0) {
        int e = errno;
        unlink(tmp);
        fprintf(stderr, "podprof %s: cannot write %s: %s\n", cmd, j->output, strerror(e));
        return 1;
    }
    return 0;
}
