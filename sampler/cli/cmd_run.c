/* podprof run [OPTIONS] -- CMD ARGS...: runs CMD with libpodprof.so preloaded and profiling
 * enabled, forwards the signals it is sent, and once CMD has exited prints the top functions of
 * the profiles this run wrote, then exits as CMD did. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli_options.h"
#include "commands.h"
#include "library_path.h"
#include "podprof/ld_preload.h"
#include "podprof/names.h"
#include "podprof/spool_format.h"
#include "pprof_input.h"
#include "run_exporter.h"
#include "spool_file.h"

typedef struct run_options {
    const char *output;
    double rate; /* 0: not given */
    int limit;
    const char *flamegraph; /* NULL: no picture */
} run_options;

#define F(field) offsetof(run_options, field)
static const pp_setting run_table[] = {
    {.name = "output",
     .meta = "PREFIX",
     .kind = PP_SETTING_CUSTOM,
     .type = &cli_argument,
     .offset = F(output),
     .help = "write profiles as PREFIX.PID.SEQ" PP_SPOOL_PPROF " + " PP_SPOOL_JSON
             " (sets " PP_ENV_OUTPUT_PPROF "; default: $" PP_ENV_OUTPUT_PPROF
             ", else a new directory under $" PP_ENV_TMPDIR ")"},
    {.name = "rate",
     .meta = "HZ",
     .kind = PP_SETTING_DOUBLE,
     .offset = F(rate),
     .min = 0.001,
     .max = 100000,
     .help =
         "sampling rate (sets " PP_ENV_SAMPLE_RATE "; default: $" PP_ENV_SAMPLE_RATE ", else 100)"},
    {.name = "limit",
     .meta = "N",
     .kind = PP_SETTING_INT,
     .offset = F(limit),
     .def = "20",
     .min = 1,
     .max = 100000,
     .help = "functions listed per table in the summary"},
    {.name = "flamegraph",
     .meta = "OUT.svg",
     .kind = PP_SETTING_CUSTOM,
     .type = &cli_argument,
     .offset = F(flamegraph),
     .help = "also draw the run's profiles as a flame graph of CPU time into OUT.svg (.html: an "
             "HTML page), as `podprof flamegraph -o OUT.svg` would"},
};
static const cli_spec run_spec = {
    "run",
    "[OPTIONS] -- CMD [ARGS...]",
    "Runs CMD with libpodprof.so (found beside this podprof) prepended to " PP_ENV_LD_PRELOAD
    " and " PP_ENV_PROFILING_ENABLED "=true, forwards the signals podprof receives to it, and when "
    "CMD exits prints the top functions by CPU and wall time from the profiles this run wrote (on "
    "stderr), then exits with CMD's status.",
    run_table,
    sizeof run_table / sizeof run_table[0],
    NULL,
    false,
};

static volatile sig_atomic_t child_pid;
static const int forwarded_signals[] = {SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2};

static void forward_signal(int sig, siginfo_t *info, void *ctx)
{
    (void)ctx;
    /* A signal the terminal generated (Ctrl-C) already reached CMD through the process group;
     * only signals sent by a process (kill, a container runtime) are passed on. */
    if (child_pid > 0 && info->si_code != SI_KERNEL)
        kill((pid_t)child_pid, sig);
}

/* ---- the profiles this run wrote ---- */

typedef struct name_list {
    char **names;
    size_t n, cap;
} name_list;

static void names_free(name_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->names[i]);
    free(l->names);
    l->names = NULL;
    l->n = l->cap = 0;
}

static bool names_contain(const name_list *l, const char *name)
{
    for (size_t i = 0; i < l->n; i++)
        if (!strcmp(l->names[i], name))
            return true;
    return false;
}

/* Paths of the "<base>.<pid>.<seq>.pprof" files in the prefix's directory that are regular files
 * owned as the exporter expects (spool_file.h): the command run may write anything there, and a
 * symbolic link or FIFO named like a profile is named once and skipped. The summary's reader
 * also opens without blocking and refuses what is not a regular file. */
static void list_profiles(const char *prefix, name_list *out, bool quiet)
{
    char dir[PATH_MAX];
    const char *base;
    pp_spool_split(prefix, dir, sizeof dir, &base);
    struct stat ds;
    DIR *d = stat(dir, &ds) == 0 ? opendir(dir) : NULL;
    if (!d)
        return;
    ex_spool_trust trust;
    ex_spool_trust_from_dir(&ds, &trust);
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        uint64_t pid, seq;
        if (pp_spool_parse(de->d_name, base, &pid, &seq, NULL) != PP_SPOOL_IS_PPROF)
            continue;
        struct stat st;
        char why[160];
        if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0)
            continue;
        if (ex_spool_entry_check(&st, &trust, PPROF_INPUT_MAX_FILE_BYTES, why, sizeof why) !=
            EX_ENTRY_OK) {
            if (!quiet)
                fprintf(stderr, "podprof run: %s/%s: %s; skipped\n", dir, de->d_name, why);
            continue;
        }
        if (out->n == out->cap) {
            size_t cap = out->cap ? out->cap * 2 : 16;
            char **names = realloc(out->names, cap * sizeof *names);
            if (!names)
                break;
            out->names = names;
            out->cap = cap;
        }
        char path[PATH_MAX + 256];
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        if (!(out->names[out->n] = strdup(path)))
            break;
        out->n++;
    }
    closedir(d);
}

static int compare_names(const void *a, const void *b)
{
    return strverscmp(*(char *const *)a, *(char *const *)b);
}

static void summarise(const char *prefix, const name_list *before, size_t limit,
                      const char *flamegraph)
{
    name_list all = {0}, fresh = {0};
    list_profiles(prefix, &all, false);
    fresh.names = malloc((all.n + 1) * sizeof *fresh.names);
    for (size_t i = 0; fresh.names && i < all.n; i++)
        if (!names_contain(before, all.names[i]))
            fresh.names[fresh.n++] = all.names[i];
    if (fresh.n == 0) {
        fprintf(stderr,
                "podprof run: no profile was written under %s (is CMD a CPython 3.8-3.13 "
                "program, and did it run long enough to be sampled?)\n",
                prefix);
    } else {
        qsort(fresh.names, fresh.n, sizeof *fresh.names, compare_names);
        fprintf(stderr, "\npodprof run: profiles in %s.*\n", prefix);
        podprof_print_top(fresh.names, fresh.n, NULL, stderr, limit);
        if (flamegraph)
            podprof_write_flamegraph(fresh.names, fresh.n, flamegraph);
    }
    free(fresh.names);
    names_free(&all);
}

/* ---- running CMD ---- */

static int set_environment(const char *library, const char *prefix, double rate)
{
    char *preload = pp_ld_preload_prepend(library, getenv(PP_ENV_LD_PRELOAD));
    char rate_text[32];
    snprintf(rate_text, sizeof rate_text, "%.15g", rate);
    int rc = preload && setenv(PP_ENV_LD_PRELOAD, preload, 1) == 0 &&
                     setenv(PP_ENV_PROFILING_ENABLED, "true", 1) == 0 &&
                     setenv(PP_ENV_OUTPUT_PPROF, prefix, 1) == 0 &&
                     (!rate || setenv(PP_ENV_SAMPLE_RATE, rate_text, 1) == 0)
                 ? 0
                 : -1;
    free(preload);
    return rc;
}

/* Forks and execs argv with the signal forwarding in place; returns CMD's wait status, or -1
 * (with a message) when it could not be started. */
static int run_child(char **argv, int *status)
{
    int pipefd[2];
    if (pipe2(pipefd, O_CLOEXEC) != 0) {
        fprintf(stderr, "podprof run: pipe: %s\n", strerror(errno));
        return -1;
    }
    sigset_t block, old;
    sigemptyset(&block);
    for (size_t i = 0; i < sizeof forwarded_signals / sizeof forwarded_signals[0]; i++)
        sigaddset(&block, forwarded_signals[i]);
    sigprocmask(SIG_BLOCK, &block, &old);
    pid_t pid = fork();
    if (pid == 0) {
        sigprocmask(SIG_SETMASK, &old, NULL);
        close(pipefd[0]);
        execvp(argv[0], argv);
        int err = errno;
        if (write(pipefd[1], &err, sizeof err) < 0) {
            /* the parent then only sees status 127 */
        }
        _exit(127);
    }
    if (pid < 0) {
        fprintf(stderr, "podprof run: fork: %s\n", strerror(errno));
        sigprocmask(SIG_SETMASK, &old, NULL);
        return -1;
    }
    child_pid = pid;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = forward_signal;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < sizeof forwarded_signals / sizeof forwarded_signals[0]; i++)
        sigaction(forwarded_signals[i], &sa, NULL);
    sigprocmask(SIG_SETMASK, &old, NULL);

    close(pipefd[1]);
    int exec_errno = 0;
    ssize_t r;
    do
        r = read(pipefd[0], &exec_errno, sizeof exec_errno);
    while (r < 0 && errno == EINTR);
    close(pipefd[0]);

    while (waitpid(pid, status, 0) < 0) {
        if (errno != EINTR) {
            fprintf(stderr, "podprof run: waitpid: %s\n", strerror(errno));
            return -1;
        }
    }
    child_pid = 0;
    if (r == (ssize_t)sizeof exec_errno) {
        fprintf(stderr, "podprof run: cannot run '%s': %s\n", argv[0], strerror(exec_errno));
        return -1;
    }
    return 0;
}

/* Ends this process the way CMD ended: same exit code, or the same (non core-dumping) signal. */
static int exit_like(int status)
{
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    int sig = WTERMSIG(status);
    switch (sig) {
    case SIGHUP:
    case SIGINT:
    case SIGKILL:
    case SIGPIPE:
    case SIGALRM:
    case SIGTERM:
    case SIGUSR1:
    case SIGUSR2: {
        fflush(NULL);
        signal(sig, SIG_DFL);
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, sig);
        sigprocmask(SIG_UNBLOCK, &set, NULL);
        raise(sig);
        break;
    }
    default:
        break;
    }
    return 128 + sig;
}

int podprof_cmd_run(int argc, char **argv)
{
    run_options opts = {0};
    int first = cli_parse(&run_spec, argc, argv, &opts);
    if (first == CLI_PARSE_HELP)
        return 0;
    if (first == CLI_PARSE_ERROR)
        return 2;
    if (first >= argc) {
        fprintf(stderr, "podprof run: no command given (usage: podprof run [OPTIONS] -- CMD "
                        "[ARGS...])\n");
        return 2;
    }

    char library[PATH_MAX];
    if (podprof_library_path(library, sizeof library) != 0)
        return 1;
    char real_library[PATH_MAX];
    if (realpath(library, real_library))
        snprintf(library, sizeof library, "%s", real_library);

    char prefix[PATH_MAX];
    const char *env_prefix = getenv(PP_ENV_OUTPUT_PPROF);
    if (opts.output && opts.output[0]) {
        snprintf(prefix, sizeof prefix, "%s", opts.output);
    } else if (env_prefix && env_prefix[0]) {
        snprintf(prefix, sizeof prefix, "%s", env_prefix);
    } else {
        const char *tmp = getenv(PP_ENV_TMPDIR);
        char dir[PATH_MAX - 16];
        if (snprintf(dir, sizeof dir, "%s/podprof-run-XXXXXX",
                     tmp && tmp[0] == '/' ? tmp : "/tmp") >= (int)sizeof dir)
            dir[0] = '\0';
        if (!dir[0] || !mkdtemp(dir)) {
            fprintf(stderr, "podprof run: cannot create a directory for profiles (%s): %s\n", dir,
                    strerror(errno));
            return 1;
        }
        if (snprintf(prefix, sizeof prefix, "%s/profile", dir) >= (int)sizeof prefix)
            return 1; /* cannot happen: dir is shorter */
    }

    /* The prefix's directory may be new (--output /tmp/myrun/profile); one level is created. */
    char dir[PATH_MAX];
    const char *base;
    pp_spool_split(prefix, dir, sizeof dir, &base);
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "podprof run: cannot create %s: %s\n", dir, strerror(errno));
        return 1;
    }
    name_list before = {0};
    list_profiles(prefix, &before, true);
    if (set_environment(library, prefix, opts.rate) != 0) {
        fprintf(stderr, "podprof run: cannot set the environment: out of memory\n");
        names_free(&before);
        return 1;
    }
    run_exporter *exporter = run_exporter_start(prefix);
    int status = 0;
    int rc = run_child(argv + first, &status);
    if (rc == 0)
        summarise(prefix, &before, (size_t)opts.limit, opts.flamegraph);
    names_free(&before);
    run_exporter_finish(exporter);
    if (rc != 0)
        return 127;
    return exit_like(status);
}
