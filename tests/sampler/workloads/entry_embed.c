/* An application that embeds CPython the way uWSGI's plugin does: libpython is dlopen'ed (by the
 * path argv[1], RTLD_LOCAL) long after the preloaded library's constructor ran, then runs the
 * Python source argv[2]. */
#include <dlfcn.h>
#include <stdio.h>

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
    int (*run)(const char *) = (int (*)(const char *))dlsym(py, "PyRun_SimpleString");
    int (*fini)(void) = (int (*)(void))dlsym(py, "Py_FinalizeEx");
    if (!init || !run || !fini) {
        fprintf(stderr, "dlsym: %s\n", dlerror());
        return 1;
    }
    init(0);
    int rc = run(argv[2]);
    return fini() < 0 || rc != 0;
}
