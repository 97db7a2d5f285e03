/* Test driver: feeds stacks described on stdin into an aggregate and flushes them as profile files,
 * so the pytest side can define stacks and check what go tool pprof and protobuf decode.
 *
 *   pprof_fixture [--prefix P] [--max-stacks N] [--max-string-bytes N] [--rate HZ]
 *                 [--effective-rate HZ] [--max-frames N] < script
 *
 * Script lines (tab separated):
 *   S <thread id> <native id> <thread name> <cpu ns> <wall ns> <repeat> <frame>...
 *       frame = name \x1f filename \x1f line, leaf first; frames beyond --max-frames are
 *       counted as omitted, as the sampler does
 *   F <start ns> <end ns>      flush, then reset the stacks
 * After each flush one line goes to stdout: "flush rc=R generation=G dropped=D".
 * DD_SERVICE, DD_ENV, DD_VERSION, DD_TAGS, DD_PROFILING_TAGS, DD_PROFILING_K8S_CONTAINER are read
 * from the environment as the library's config would. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aggregate.h"
#include "profile_output.h"

#define MAX_FIELDS 8192

static char *env_or_null(const char *name)
{
    const char *v = getenv(name);
    return v ? strdup(v) : NULL;
}

static int run_stack(pp_agg *agg, char **fields, int n, int max_frames)
{
    static pp_frame frames[MAX_FIELDS];
    if (n < 7)
        return -1;
    pp_sample_key key = {0};
    key.thread_id = strtoull(fields[1], NULL, 10);
    key.native_thread_id = strtoull(fields[2], NULL, 10);
    key.thread_name = pp_agg_intern(agg, fields[3], strlen(fields[3]));
    long long cpu = strtoll(fields[4], NULL, 10), wall = strtoll(fields[5], NULL, 10);
    long repeat = strtol(fields[6], NULL, 10);
    size_t total = (size_t)(n - 7), kept = 0;
    for (size_t i = 0; i < total && (int)kept < max_frames; i++) {
        char *name = fields[7 + i];
        char *file = strchr(name, '\x1f');
        char *line = file ? strchr(file + 1, '\x1f') : NULL;
        if (!line)
            return -1;
        *file++ = '\0';
        *line++ = '\0';
        frames[kept].name = pp_agg_intern(agg, name, strlen(name));
        frames[kept].filename = pp_agg_intern(agg, file, strlen(file));
        frames[kept].line = atoi(line);
        kept++;
    }
    key.frames = frames;
    key.n_frames = kept;
    key.n_omitted = total - kept;
    for (long r = 0; r < repeat; r++)
        pp_agg_add(agg, &key, cpu, wall);
    return 0;
}

int main(int argc, char **argv)
{
    pp_config cfg = {0};
    size_t max_stacks = 10000, max_string_bytes = 1 << 20;
    double effective = -1;
    int max_frames = 64;
    cfg.enabled = true;
    cfg.sample_rate_hz = 100;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--prefix"))
            cfg.output_prefix = strdup(argv[i + 1]);
        else if (!strcmp(argv[i], "--max-stacks"))
            max_stacks = strtoull(argv[i + 1], NULL, 10);
        else if (!strcmp(argv[i], "--max-string-bytes"))
            max_string_bytes = strtoull(argv[i + 1], NULL, 10);
        else if (!strcmp(argv[i], "--rate"))
            cfg.sample_rate_hz = atof(argv[i + 1]);
        else if (!strcmp(argv[i], "--effective-rate"))
            effective = atof(argv[i + 1]);
        else if (!strcmp(argv[i], "--max-frames"))
            max_frames = atoi(argv[i + 1]);
        else {
            fprintf(stderr, "pprof_fixture: unknown option %s\n", argv[i]);
            return 2;
        }
    }
    cfg.service = env_or_null("DD_SERVICE");
    cfg.env = env_or_null("DD_ENV");
    cfg.version = env_or_null("DD_VERSION");
    cfg.tags = env_or_null("DD_TAGS");
    cfg.profiling_tags = env_or_null("DD_PROFILING_TAGS");
    cfg.container = env_or_null("DD_PROFILING_K8S_CONTAINER");
    cfg.max_frames = max_frames;

    pp_agg *agg = pp_agg_new(max_stacks, max_string_bytes);
    if (!agg) {
        fprintf(stderr, "pprof_fixture: pp_agg_new failed\n");
        return 1;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    uint64_t samples = 0;
    int rc = 0;
    static char *fields[MAX_FIELDS];
    while ((len = getline(&line, &cap, stdin)) > 0) {
        if (line[len - 1] == '\n')
            line[--len] = '\0';
        int n = 0;
        /* Empty fields are meaningful (an unnamed thread), so no strtok. */
        for (char *f = line; f && n < MAX_FIELDS; n++) {
            fields[n] = f;
            f = strchr(f, '\t');
            if (f)
                *f++ = '\0';
        }
        if (!strcmp(fields[0], "S")) {
            if (run_stack(agg, fields, n, max_frames) != 0) {
                fprintf(stderr, "pprof_fixture: bad stack line\n");
                rc = 2;
                break;
            }
            samples += n >= 7 ? strtoull(fields[6], NULL, 10) : 0;
        } else if (!strcmp(fields[0], "F") && n >= 3) {
            pp_counter counters[] = {{"samples", samples}, {"read_failures", 3}};
            double rate = effective >= 0 ? effective : cfg.sample_rate_hz;
            pp_flush_info info = {
                .start_ns = strtoll(fields[1], NULL, 10),
                .end_ns = strtoll(fields[2], NULL, 10),
                .period_ns = (int64_t)(1e9 / cfg.sample_rate_hz),
                .effective_rate_hz = rate,
                .python_version = "3.12.1",
                .runtime_id = "5b1e1c2e-8f0a-4e43-9d36-0c1b2a3d4e5f",
                .counters = counters,
                .n_counters = 2,
            };
            int frc = pp_profile_flush(&cfg, agg, &info);
            printf("flush rc=%d generation=%llu dropped=%llu\n", frc,
                   (unsigned long long)pp_agg_generation(agg),
                   (unsigned long long)pp_agg_dropped_stacks(agg));
            fflush(stdout);
            pp_agg_reset_stacks(agg);
        } else {
            fprintf(stderr, "pprof_fixture: bad line\n");
            rc = 2;
            break;
        }
    }
    free(line);
    pp_agg_free(agg);
    free(cfg.output_prefix);
    free(cfg.service);
    free(cfg.env);
    free(cfg.version);
    free(cfg.tags);
    free(cfg.profiling_tags);
    free(cfg.container);
    return rc;
}
