/* Life cycle of the library inside a process: the ELF constructor decides whether to do anything
 * at all, starts the sampler thread, and arranges a last flush at exit (atexit, and a SIGTERM left
 * at its default disposition) and a fresh sampler in fork children. Between passes the sampler
 * thread sleeps on a futex (wake_word.c) and holds no descriptor. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "config_table.h"
#include "memory_profile.h"
#include "own_fd.h"
#include "private_pipe.h"
#include "ddtrace_profiler.h"
#include "exit_drain.h"
#include "fork_gate.h"
#include "late_interpreter.h"
#include "inproc_hooks.h"
#include "log.h"
#include "podprof/names.h"
#include "podprof/setting_value.h"
#include "quiet_thread.h"
#include "runtime.h"
#include "safe_read.h"
#include "sampler.h"
#include "sigterm_default.h"
#include "thread_clock.h"
#include "wake_word.h"

/* How long exit waits for the sampler thread's last flush. */
#define EXIT_FLUSH_TIMEOUT_NS (3 * 1000000000LL)
/* Polling the interpreter's initialized flag: first and largest sleep. */
#define INIT_POLL_MIN_NS 2000000LL
#define INIT_POLL_MAX_NS 100000000LL
/* How often the sampler looks for ddtrace's profiler in the process. */
#define DDTRACE_CHECK_NS 1000000000LL

enum { STOP_NONE = 0, STOP_EXIT = 1, STOP_SIGTERM = 2 };

static pp_config cfg;
static pp_runtime rt;
static atomic_int running; /* a sampler thread exists */
static atomic_int stop_reason;
static pp_wake_word wake;     /* the sampler thread sleeps on it */
static pp_wake_word finished; /* exit waits on it for the sampler thread's end */
static atomic_int sampler_done;

/* Wakes the sampler thread early (the memory hooks' ring is filling); callable from any thread. */
static void wake_sampler(void)
{
    pp_wake_up(&wake);
}

/* 1 when the sampler thread is the last thread of the process. A process whose threads have all
 * ended by returning (a child forked from a non-main thread whose SystemExit ends that thread, a
 * C main calling pthread_exit) ends with its last thread: the sampler must not be what keeps it
 * alive. Read from /proc/self/stat, opened and closed here: the state of the main thread (field
 * 3, 'Z' once it has ended) and num_threads (field 20), which still counts an ended main thread;
 * the name before them, in parentheses, may hold anything. 0 when it cannot be read. */
static int last_thread_left(void)
{
    pp_own_fd f = PP_OWN_FD_NONE;
    if (pp_own_open(&f, "/proc/self/stat", O_RDONLY, 0) != 0)
        return 0;
    char buf[1024];
    ssize_t n = pread(f.fd, buf, sizeof buf - 1, 0);
    pp_own_close(&f);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    char *p = strrchr(buf, ')');
    if (!p || p[1] != ' ')
        return 0;
    char main_state = p[2];
    for (int field = 2; p && field < 20; field++)
        p = strchr(p + 1, ' '); /* ends on the space before field 20 */
    if (!p)
        return 0;
    long threads = strtol(p + 1, NULL, 10);
    /* the sampler is never the main thread: alone, or beside a main thread that has ended */
    return main_state == 'Z' ? threads == 2 : threads == 1;
}

/* Sleeps until deadline (CLOCK_MONOTONIC ns) or a wake-up; returns the stop reason. */
static int sleep_until(int64_t deadline)
{
    pp_safe_read_release(); /* no descriptor of ours while we sleep */
    pp_fork_gate_idle();
    uint32_t seen = pp_wake_seen(&wake);
    /* a drain asked for while the thread was busy (its wake-up already spent) is answered now,
     * not a pass interval later */
    if (atomic_load(&stop_reason) == STOP_NONE && !pp_exit_drain_pending())
        pp_wake_wait(&wake, seen, deadline);
    while (!pp_fork_gate_enter()) { /* a fork is under way (sanitizer builds only) */
        seen = pp_wake_seen(&wake);
        pp_wake_wait(&wake, seen, pp_now_ns(CLOCK_MONOTONIC) + 5000000);
    }
    return atomic_load(&stop_reason);
}

/* The kept SIGTERM handler (sigterm_default.c runs it only where SIGTERM would otherwise have
 * its default action). */
static void on_sigterm(int sig)
{
    int saved = errno;
    int reason = STOP_NONE;
    if (!atomic_load(&running)) {
        /* nothing to flush: the default action, now */
        pp_sigterm_release();
        raise(sig);
    } else if (atomic_compare_exchange_strong(&stop_reason, &reason, STOP_SIGTERM)) {
        pp_wake_up(&wake); /* flush, then end by the signal (reraise_sigterm) */
    } else if (reason == STOP_SIGTERM) {
        /* a second SIGTERM: die now */
        pp_sigterm_release();
        raise(sig);
    }
    /* STOP_EXIT: the application is already exiting with a status it chose, and exit waits for
     * the last flush (bounded); the signal must not replace that status. */
    errno = saved;
}

/* Only when nobody chose a disposition: a handler the application set is never replaced, and
 * a SIG_DFL it sets later keeps ours (sigterm_default.c). */
static void install_sigterm(void)
{
    pp_sigterm_keep(on_sigterm);
}

/* After the last flush on SIGTERM: the process must still end by that signal, unless the
 * application installed a handler of its own since, which then runs. */
static void reraise_sigterm(void)
{
    pp_sigterm_release();
    kill(getpid(), SIGTERM);
}

/* ddtrace's profiler started in this process. When it uploads by itself
 * (DD_PROFILING_OUTPUT_PPROF unset) the process must not be profiled twice: the library stands
 * down. When DD_PROFILING_OUTPUT_PPROF is set, ddtrace writes its profiles there and uploads
 * nothing, so only the library's reach the exporter: it keeps profiling. Either way one line says
 * what happens. Returns 1 to stand down. */
static int ddtrace_decides(void)
{
    if (cfg.output_prefix && cfg.output_prefix[0]) {
        pp_log(PP_LOG_WARN, "ddtrace's profiler also runs in this process; with "
                            "DD_PROFILING_OUTPUT_PPROF set it writes its profiles there and "
                            "uploads none, so podprof keeps profiling (the process pays for both)");
        return 0;
    }
    pp_log(PP_LOG_WARN,
           "ddtrace's profiler runs in this process and uploads its profiles; "
           "podprof stands down (no podprof profile from pid %ld)",
           (long)getpid());
    return 1;
}

static int wait_for_interpreter(void)
{
    int64_t pause = INIT_POLL_MIN_NS;
    for (;;) {
        int ready = pp_runtime_initialized(&rt);
        if (ready == 1)
            return 0;
        if (ready < 0)
            return -1;
        if (sleep_until(pp_now_ns(CLOCK_MONOTONIC) + pause) != STOP_NONE)
            return -1;
        if (pause < INIT_POLL_MAX_NS)
            pause *= 2;
    }
}

static void *sampler_main(void *arg)
{
    (void)arg;
    pp_sampler *s = NULL;
    int stand_down = 0;
    pp_safe_read_bind_thread();
    /* (no pipe: every read through process_vm_readv or /proc/self/mem, as without it) */
    int private_pipe = pp_private_pipe_open();
    if (pp_thread_clock_init() != 0) {
        pp_log(PP_LOG_WARN, "per-thread CPU clocks unavailable; not profiling");
        goto out;
    }
    if (pp_runtime_resolve(&rt) != 0 || wait_for_interpreter() != 0)
        goto out;
    /* ddtrace-run starts ddtrace's profiler while the interpreter initializes: decided here,
     * before the first sample; a profiler started later is noticed within DDTRACE_CHECK_NS. */
    int ddtrace_checked = pp_ddtrace_profiler_active();
    if (ddtrace_checked && (stand_down = ddtrace_decides()))
        goto out;
    s = pp_sampler_new(&cfg, &rt, wake_sampler);
    if (!s) {
        pp_log(PP_LOG_ERROR, "out of memory starting the sampler; not profiling");
        goto out;
    }
    pp_log(PP_LOG_INFO, "sampling CPython %s at %g Hz%s%s%s", rt.version, cfg.sample_rate_hz,
           rt.found_by_elf ? " (runtime found in the ELF symbol table)" : "",
           pp_safe_read_mode() == PP_READ_PROC_MEM
               ? " (process_vm_readv refused: reading through /proc/self/mem)"
               : "",
           private_pipe == PP_PIPE_SHARED_TABLE
               ? " (no private descriptor table: no pipe for scattered reads)"
           : private_pipe == PP_PIPE_NONE ? " (no pipe for scattered reads)"
                                          : "");
    install_sigterm();
    int64_t next = pp_now_ns(CLOCK_MONOTONIC) + pp_sampler_interval_ns(s);
    int64_t ddtrace_at = pp_now_ns(CLOCK_MONOTONIC) + DDTRACE_CHECK_NS;
    pp_exit_drain_open();
    while (sleep_until(next) == STOP_NONE) {
        int64_t now = pp_now_ns(CLOCK_MONOTONIC);
        /* read before the drain that answers it: a request after this waits for the next one */
        uint32_t drain_asked = pp_exit_drain_asked();
        if (now < next) {
            /* woken early: hook samples are piling up, or the program is about to finalize */
            pp_sampler_drain(s);
            pp_exit_drain_answer(drain_asked);
            continue;
        }
        if (!ddtrace_checked && now >= ddtrace_at) {
            ddtrace_at = now + DDTRACE_CHECK_NS;
            if ((ddtrace_checked = pp_ddtrace_profiler_active()) &&
                (stand_down = ddtrace_decides()))
                break;
        }
        /* no Python thread, or nothing readable */
        long walked = pp_sampler_pass(s, now); /* drains the hook samples first */
        pp_exit_drain_answer(drain_asked);
        if (walked <= 0 && last_thread_left())
            break; /* flush, then let the process end with its own status */
        pp_sampler_adapt(s, now);
        next += pp_sampler_interval_ns(s);
        if (next <= pp_now_ns(CLOCK_MONOTONIC)) {
            pp_sampler_note_overrun(s);
            next = pp_now_ns(CLOCK_MONOTONIC) + pp_sampler_interval_ns(s);
        }
        if (pp_sampler_flush_due(s, now))
            pp_sampler_flush(s);
    }
    if (!stand_down)
        pp_sampler_flush(s);
out:
    pp_exit_drain_close();
    /* The sampler's memory is not freed: a racing exit path may still be looking at it, and the
     * process is ending anyway (or, standing down, the few hundred KiB stay with it). */
    (void)s;
    pp_safe_read_release();
    if (stand_down)
        pp_sigterm_release(); /* SIGTERM is the application's again */
    atomic_store(&running, 0);
    int reason = atomic_load(&stop_reason);
    atomic_store(&sampler_done, 1);
    pp_wake_up(&finished);
    pp_fork_gate_idle();
    if (reason == STOP_SIGTERM)
        reraise_sigterm();
    return NULL;
}

static int start_sampler(void)
{
    atomic_store(&stop_reason, STOP_NONE);
    atomic_store(&sampler_done, 0);
    atomic_store(&running, 1);
    pp_fork_gate_busy();
    int rc = pp_start_quiet_thread(sampler_main);
    if (rc != 0) {
        atomic_store(&running, 0);
        pp_fork_gate_idle();
        pp_log(PP_LOG_WARN, "cannot start the sampler thread: %s", strerror(rc));
        return -1;
    }
    return 0;
}

static void on_exit_flush(void)
{
    if (!atomic_load(&running))
        return;
    /* A SIGTERM that came first (e.g. multiprocessing's terminate() racing a worker's normal
     * exit) keeps its reason, so the process still ends by it; either way exit must wait for the
     * flush that stop started, or the process ends in the middle of writing its profile. */
    int expected = STOP_NONE;
    atomic_compare_exchange_strong(&stop_reason, &expected, STOP_EXIT);
    pp_wake_up(&wake);
    int64_t deadline = pp_now_ns(CLOCK_MONOTONIC) + EXIT_FLUSH_TIMEOUT_NS;
    for (;;) {
        uint32_t seen = pp_wake_seen(&finished);
        if (atomic_load(&sampler_done) || pp_now_ns(CLOCK_MONOTONIC) >= deadline)
            break;
        pp_wake_wait(&finished, seen, deadline);
    }
    /* The SIGTERM whose default action the kept handler put off ends the process here, flushed
     * or out of time: left to the sampler thread, it could come after this exit has already
     * ended the process with status 0 (as it did on a loaded machine). */
    if (expected == STOP_SIGTERM)
        reraise_sigterm();
}

/* The helper thread first, while nothing of the library's is held for the fork; then the gate:
 * the sampler thread must reach its sleep before the store's lock is taken, or it could wait for
 * that lock while the gate waits for it. */
static void on_fork_prepare(void)
{
    pp_inproc_fork_prepare();
    pp_fork_gate_prepare();
    pp_memory_fork_prepare();
}

static void on_fork_parent(void)
{
    pp_memory_fork_done();
    pp_fork_gate_release(&wake);
    pp_inproc_fork_parent();
}

/* In a fork child the sampler thread is gone, and it may have been stopped in the middle of
 * anything: its memory is abandoned (never freed or reused) and a new sampler starts, with its
 * own pid and runtime id. */
static void on_fork_child(void)
{
    pp_memory_fork_done();
    pp_inproc_fork_child();
    pp_fork_gate_idle();   /* the sampler thread is gone */
    pp_exit_drain_close(); /* until the new one runs: an exit must not wait for it */
    pp_fork_gate_release(&wake);
    int was_running = atomic_load(&running);
    atomic_store(&running, 0);
    if (pp_safe_read_init() != 0 || !was_running) /* also drops the parent's descriptor */
        return;
    start_sampler();
}

static int env_true(const char *name)
{
    bool v = false;
    return pp_value_bool(getenv(name), &v) == 0 && v;
}

static void start_profiling(void)
{
    pp_config_load(&cfg);
    pp_log_set_level(cfg.log_level);
    if (start_sampler() != 0)
        return;
    atexit(on_exit_flush);
    pthread_atfork(on_fork_prepare, on_fork_parent, on_fork_child);
}

/* From the dlopen that loaded a libpython, after it returned. */
static void on_late_interpreter(void)
{
    int found = pp_runtime_find(&rt, 0);
    pp_safe_read_release();
    if (found == 0)
        start_profiling();
}

__attribute__((constructor)) static void podprof_init(void)
{
    if (!env_true(PP_ENV_PROFILING_ENABLED))
        return; /* inert: nothing parsed, nothing started */
    if (pp_safe_read_init() != 0) {
        pp_log(PP_LOG_WARN, "neither process_vm_readv nor /proc/self/mem can read this process's "
                            "memory; not profiling");
        return;
    }
    /* Tests exercise the fallback path without the seccomp filter that would refuse
     * process_vm_readv. */
    if (env_true(PP_ENV_TEST_FORCE_PROC_MEM_READS) && pp_safe_read_force(PP_READ_PROC_MEM) != 0)
        return;
    int found = pp_runtime_find(&rt, env_true(PP_ENV_TEST_FORCE_ELF_SYMBOLS));
    pp_safe_read_release();
    if (found != 0) {
        /* Not CPython (a shell, a subprocess target ...), or not yet: uWSGI's python plugin
         * and embedding applications dlopen libpython later. */
        pp_late_interpreter_watch(on_late_interpreter);
        return;
    }
    start_profiling();
}
