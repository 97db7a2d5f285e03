/* An application that embeds CPython the way uWSGI's plugin does: libpython is dlopen'ed (by the
 * path argv[1], RTLD_LOCAL) long after the preloaded library's constructor ran, then runs the
 * Python source argv[2].
 * With --main-exits first, the main thread ends first instead: it starts CPython, hands the
 * interpreter to a second thread that runs the source, and calls pthread_exit. The process lives
 * on in that thread, which ends it with exit(). */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int (*run)(const char *);
static int (*gil_ensure)(void);
static const char *source;

static void *python_thread(void *arg)
{
    (void)arg;
    gil_ensure();
    int rc = run(source);
    fflush(stdout);
    exit(rc != 0);
}

int main(int argc, char **argv)
{
    int main_exits = argc == 4 && strcmp(argv[1], "--main-exits") == 0;
    if (argc != 3 + main_exits) {
        fprintf(stderr, "usage: %s [--main-exits] LIBPYTHON SOURCE\n", argv[0]);
        return 2;
    }
    const char *libpython = argv[1 + main_exits];
    source = argv[2 + main_exits];
    void *py = dlopen(libpython, RTLD_NOW | RTLD_LOCAL);
    if (!py) {
        fprintf(stderr, "dlopen: %s\n", dlerror());
        return 1;
    }
    void (*init)(int) = (void (*)(int))dlsym(py, "Py_InitializeEx");
    int (*fini)(void) = (int (*)(void))dlsym(py, "Py_FinalizeEx");
    void *(*save)(void) = (void *(*)(void))dlsym(py, "PyEval_SaveThread");
    run = (int (*)(const char *))dlsym(py, "PyRun_SimpleString");
    gil_ensure = (int (*)(void))dlsym(py, "PyGILState_Ensure");
    if (!init || !fini || !save || !run || !gil_ensure) {
        fprintf(stderr, "dlsym: %s\n", dlerror());
        return 1;
    }
    init(0);
    if (!main_exits) {
        int rc = run(source);
        return fini() < 0 || rc != 0;
    }
    save(); /* the GIL is free for the other thread */
    pthread_t t;
    if (pthread_create(&t, NULL, python_thread, NULL) != 0) {
        fprintf(stderr, "pthread_create failed\n");
        return 1;
    }
    pthread_exit(NULL);
}
