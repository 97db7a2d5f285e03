/* The library keeps SIGTERM's default disposition (to flush before the process dies) while the
 * application sets its own handler at the very same moment: the application's handler always
 * ends up installed, and a SIGTERM always reaches it. Each race is made to happen, not hoped for:
 * fake_sigaction.c runs a hook between the library's system calls. The library's keeper runs with
 * every signal blocked, as its sampler thread does. */
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "fake_sigaction.h"
#include "sigterm_default.h"

static atomic_int kept_runs, app_runs, app_done;
static pthread_t app_thread;
static pid_t main_tid;

static void kept_handler(int sig)
{
    (void)sig;
    atomic_fetch_add(&kept_runs, 1);
}

static void app_handler(int sig)
{
    (void)sig;
    atomic_fetch_add(&app_runs, 1);
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

static struct sigaction handler_action(void (*h)(int))
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = h;
    sigemptyset(&sa.sa_mask);
    return sa;
}

static void (*installed(void))(int)
{
    struct sigaction cur;
    fake_sigaction_real(SIGTERM, NULL, &cur);
    return cur.sa_handler;
}

static int reset(void **state)
{
    (void)state;
    fake_sigaction_arm(NULL);
    pp_sigterm_release();
    struct sigaction dfl = handler_action(SIG_DFL);
    fake_sigaction_real(SIGTERM, &dfl, NULL);
    atomic_store(&kept_runs, 0);
    atomic_store(&app_runs, 0);
    atomic_store(&app_done, 0);
    return 0;
}

/* The library's keeper: a thread with every signal blocked, like the sampler thread. */
static void *keeper(void *rc)
{
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, NULL);
    *(int *)rc = pp_sigterm_keep(kept_handler);
    return NULL;
}

static int keep_from_blocked_thread(void)
{
    int rc = -2;
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, keeper, &rc), 0);
    assert_int_equal(pthread_join(t, NULL), 0);
    return rc;
}

static void wait_for(atomic_int *counter, int want)
{
    for (int i = 0; i < 2000 && atomic_load(counter) < want; i++)
        sleep_ms(1);
}

/* ---- an application thread calls sigaction(SIGTERM, handler) between the library's read of the
 * disposition and its install ---- */

static void *app_sets_handler(void *arg)
{
    (void)arg;
    struct sigaction sa = handler_action(app_handler);
    assert_int_equal(sigaction(SIGTERM, &sa, NULL), 0); /* through the library's interposer */
    atomic_store(&app_done, 1);
    return NULL;
}

static void hook_app_thread_in_window(const struct sigaction *act, int after)
{
    if (act || !after)
        return; /* only right after the library read the disposition */
    fake_sigaction_arm(NULL);
    assert_int_equal(pthread_create(&app_thread, NULL, app_sets_handler, NULL), 0);
    /* every chance to land now; it does unless the library holds it back until its install */
    for (int i = 0; i < 200 && !atomic_load(&app_done); i++)
        sleep_ms(1);
}

static void test_app_handler_set_through_sigaction_in_the_window(void **state)
{
    (void)state;
    fake_sigaction_arm(hook_app_thread_in_window);
    keep_from_blocked_thread();
    assert_int_equal(pthread_join(app_thread, NULL), 0);
    assert_true(installed() == app_handler);
    raise(SIGTERM);
    assert_int_equal(atomic_load(&app_runs), 1);
    assert_int_equal(atomic_load(&kept_runs), 0);
}

/* ---- a handler set without the interposer (glibc's signal(), a raw system call) lands in the
 * window: the library finds it in what its install replaced and puts it back ---- */

static void hook_bypass_in_window(const struct sigaction *act, int after)
{
    if (act || !after)
        return;
    fake_sigaction_arm(NULL);
    struct sigaction sa = handler_action(app_handler);
    fake_sigaction_real(SIGTERM, &sa, NULL);
}

static void test_app_handler_set_without_sigaction_in_the_window(void **state)
{
    (void)state;
    fake_sigaction_arm(hook_bypass_in_window);
    assert_int_equal(keep_from_blocked_thread(), -1);
    assert_true(installed() == app_handler);
    raise(SIGTERM);
    assert_int_equal(atomic_load(&app_runs), 1);
    assert_int_equal(atomic_load(&kept_runs), 0);
}

/* ---- ... and a SIGTERM that arrives while the library's handler is briefly installed in its
 * place is passed to the application's handler ---- */

static void hook_signal_while_ours(const struct sigaction *act, int after)
{
    if (!act || act->sa_handler == SIG_DFL)
        return;
    if (!after) {
        /* the application's handler arrives just before the library's install */
        struct sigaction sa = handler_action(app_handler);
        fake_sigaction_real(SIGTERM, &sa, NULL);
        return;
    }
    fake_sigaction_arm(NULL);
    syscall(SYS_tgkill, getpid(), main_tid, SIGTERM);
    sleep_ms(100); /* the main thread is in the library's handler by now */
}

static void test_signal_in_the_window_reaches_the_app_handler(void **state)
{
    (void)state;
    main_tid = (pid_t)syscall(SYS_gettid);
    fake_sigaction_arm(hook_signal_while_ours);
    assert_int_equal(keep_from_blocked_thread(), -1);
    wait_for(&app_runs, 1);
    assert_int_equal(atomic_load(&app_runs), 1);
    assert_int_equal(atomic_load(&kept_runs), 0);
    assert_true(installed() == app_handler);
}

/* ---- the ordinary cases ---- */

static void test_kept_only_where_default(void **state)
{
    (void)state;
    assert_int_equal(keep_from_blocked_thread(), 0);
    raise(SIGTERM);
    assert_int_equal(atomic_load(&kept_runs), 1);
    /* the application asks: SIG_DFL; sets SIG_DFL: still kept; sets a handler: its own runs */
    struct sigaction old, dfl = handler_action(SIG_DFL), app = handler_action(app_handler);
    assert_int_equal(sigaction(SIGTERM, NULL, &old), 0);
    assert_true(old.sa_handler == SIG_DFL && !(old.sa_flags & SA_SIGINFO));
    assert_int_equal(sigaction(SIGTERM, &dfl, &old), 0);
    assert_true(old.sa_handler == SIG_DFL);
    raise(SIGTERM);
    assert_int_equal(atomic_load(&kept_runs), 2);
    assert_int_equal(sigaction(SIGTERM, &app, &old), 0);
    assert_true(old.sa_handler == SIG_DFL);
    raise(SIGTERM);
    assert_int_equal(atomic_load(&app_runs), 1);
    assert_int_equal(atomic_load(&kept_runs), 2);
    /* released: nothing of the application's is touched */
    assert_int_equal(pp_sigterm_release(), 0);
    assert_true(installed() == app_handler);
}

static void test_not_kept_where_the_app_chose(void **state)
{
    (void)state;
    struct sigaction ign = handler_action(SIG_IGN);
    assert_int_equal(sigaction(SIGTERM, &ign, NULL), 0);
    assert_int_equal(keep_from_blocked_thread(), -1);
    assert_true(installed() == SIG_IGN);
    raise(SIGTERM); /* ignored */
    assert_int_equal(atomic_load(&kept_runs), 0);
}

static void test_release_gives_back_sig_dfl(void **state)
{
    (void)state;
    assert_int_equal(keep_from_blocked_thread(), 0);
    assert_true(installed() != SIG_DFL);
    assert_int_equal(pp_sigterm_release(), 1);
    assert_true(installed() == SIG_DFL);
}

/* ---- a fork while a thread holds the library's lock: the child is not blocked by it ---- */

static void hook_fork_in_lock(const struct sigaction *act, int after)
{
    if (act || !after)
        return;
    fake_sigaction_arm(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        struct sigaction old;
        sigaction(SIGTERM, NULL, &old); /* takes the lock its parent's thread held */
        _exit(7);
    }
    int status = 0;
    for (int i = 0; i < 2000 && waitpid(pid, &status, WNOHANG) == 0; i++)
        sleep_ms(1);
    if (!WIFEXITED(status)) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
    }
    atomic_store(&app_done, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}

static void test_fork_while_locked(void **state)
{
    (void)state;
    fake_sigaction_arm(hook_fork_in_lock);
    keep_from_blocked_thread();
    assert_int_equal(atomic_load(&app_done), 7);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_app_handler_set_through_sigaction_in_the_window, reset),
        cmocka_unit_test_setup(test_app_handler_set_without_sigaction_in_the_window, reset),
        cmocka_unit_test_setup(test_signal_in_the_window_reaches_the_app_handler, reset),
        cmocka_unit_test_setup(test_kept_only_where_default, reset),
        cmocka_unit_test_setup(test_not_kept_where_the_app_chose, reset),
        cmocka_unit_test_setup(test_release_gives_back_sig_dfl, reset),
        cmocka_unit_test_setup(test_fork_while_locked, reset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
