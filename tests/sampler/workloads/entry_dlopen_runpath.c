/* dlopen as callers rely on it: a bare name found through the calling object's RUNPATH, and a
 * $ORIGIN-relative path. The preloaded dlopen must leave both to the caller's identity. */
#include <dlfcn.h>
#include <stdio.h>

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        void *h = dlopen(argv[i], RTLD_NOW);
        if (!h) {
            fprintf(stderr, "dlopen %s: %s\n", argv[i], dlerror());
            return 1;
        }
        int (*answer)(void) = (int (*)(void))dlsym(h, "entry_answer");
        printf("%s %d\n", argv[i], answer ? answer() : -1);
    }
    return 0;
}
