/* A server that forks its workers from C, the way uWSGI does without --py-call-osafterfork:
 * libpython is dlopen'ed (argv[1]) and initialized, then the main thread releases the GIL and
 * forks children one after the other, with no PyOS_AfterFork_Child, for argv[2] seconds and until
 * the file argv[3] exists (at most 60 s more). Each child takes the GIL back (PyEval_RestoreThread,
 * as a uWSGI worker does) and runs a statement; one that has not ended after 5 s counts as hung.
 *
 * The main thread runs no bytecode after start-up, so the library's pending call never runs on
 * it: its helper thread takes the GIL instead, and with slow_atexit_import/sitecustomize.py on
 * PYTHONPATH keeps it for 50 ms (and then creates argv[3]). A child forked meanwhile would find
 * the GIL held by a thread it does not have. Prints "forks N hung H importer T", T being the
 * thread that imported atexit ("other": the helper), read through the C API only so that no
 * pending call runs then. */
#include <dlfcn.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

typedef void py_object;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *need(void *py, const char *name)
{
    void *f = dlsym(py, name);
    if (!f) {
        fprintf(stderr, "dlsym %s: %s\n", name, dlerror());
        exit(1);
    }
    return f;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: %s LIBPYTHON SECONDS DONE_FILE\n", argv[0]);
        return 2;
    }
    void *py = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (!py) {
        fprintf(stderr, "dlopen: %s\n", dlerror());
        return 1;
    }
    /* Casting object pointers to function pointers is how dlsym is used (POSIX). */
    void (*init)(int) = (void (*)(int))need(py, "Py_InitializeEx");
    void *(*save)(void) = (void *(*)(void))need(py, "PyEval_SaveThread");
    void (*restore)(void *) = (void (*)(void *))need(py, "PyEval_RestoreThread");
    int (*run)(const char *) = (int (*)(const char *))need(py, "PyRun_SimpleString");
    py_object *(*sys_get)(const char *) =
        (py_object * (*)(const char *)) need(py, "PySys_GetObject");

    init(0);
    void *main_state = save();
    double end = now() + atof(argv[2]), last = end + 60;
    int forks = 0, hung = 0;
    while ((now() < end || access(argv[3], F_OK) != 0) && now() < last) {
        pid_t pid = fork();
        if (pid < 0) {
            perror("fork");
            return 1;
        }
        if (pid == 0) {
            alarm(5);
            restore(main_state);
            _exit(run("x = 1") == 0 ? 0 : 3);
        }
        int status = 0;
        if (waitpid(pid, &status, 0) != pid) {
            perror("waitpid");
            return 1;
        }
        forks++;
        if (WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM)
            hung++;
        else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            fprintf(stderr, "child status %#x\n", status);
            return 1;
        }
    }
    restore(main_state);
    py_object *importer = sys_get("_pp_atexit_importer");
    const char *(*utf8)(py_object *) = (const char *(*)(py_object *))need(py, "PyUnicode_AsUTF8");
    printf("forks %d hung %d importer %s\n", forks, hung, importer ? utf8(importer) : "none");
    fflush(stdout);
    _exit(0);
}
