/* A C program whose main thread ends first: it starts CPython (libpython dlopen'ed from argv[1]),
 * hands the interpreter to a second thread that runs the Python source argv[2], and calls
 * pthread_exit. The process lives on in that thread, which ends it with exit(). */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

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
    if (argc != 3) {
        fprintf(stderr, "usage: %s LIBPYTHON SOURCE\n", argv[0]);
        return 2;
    }
    void *py = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (!py) {
        fprintf(stderr, "dlopen: %s\n", dlerror());
        return 1;
    }
    void (*init)(int) = (void (*)(int))dlsym(py, "Py_InitializeEx");
    void *(*save)(void) = (void *(*)(void))dlsym(py, "PyEval_SaveThread");
    run = (int (*)(const char *))dlsym(py, "PyRun_SimpleString");
    gil_ensure = (int (*)(void))dlsym(py, "PyGILState_Ensure");
    if (!init || !save || !run || !gil_ensure) {
        fprintf(stderr, "dlsym: %s\n", dlerror());
        return 1;
    }
    source = argv[2];
    init(0);
    save(); /* the GIL is free for the other thread */
    pthread_t t;
    if (pthread_create(&t, NULL, python_thread, NULL) != 0) {
        fprintf(stderr, "pthread_create failed\n");
        return 1;
    }
    pthread_exit(NULL);
}
