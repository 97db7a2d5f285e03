/* Force-included into every library object (lib.mk): pins the libc symbols that glibc 2.34
 * re-versioned to their original versions, so the library still loads on glibc 2.17..2.33. glibc
 * 2.34 merged libdl and libpthread into libc and gave their functions new GLIBC_2.34 versions
 * (glibc 2.34 NEWS); a binary linked against them needs 2.34 unless it asks for the old version.
 * Add a line here for each such symbol the library starts to call; the symbol-audit test fails
 * when one is missed. */
#ifndef PODPROF_GLIBC_COMPAT_H
#define PODPROF_GLIBC_COMPAT_H

#if defined(__x86_64__)
__asm__(".symver dlsym,dlsym@GLIBC_2.2.5");
__asm__(".symver dlvsym,dlvsym@GLIBC_2.2.5");
__asm__(".symver dladdr,dladdr@GLIBC_2.2.5");
__asm__(".symver dlerror,dlerror@GLIBC_2.2.5");
__asm__(".symver dlclose,dlclose@GLIBC_2.2.5");
__asm__(".symver dl_iterate_phdr,dl_iterate_phdr@GLIBC_2.2.5");
__asm__(".symver pthread_create,pthread_create@GLIBC_2.2.5");
__asm__(".symver pthread_join,pthread_join@GLIBC_2.2.5");
__asm__(".symver pthread_getcpuclockid,pthread_getcpuclockid@GLIBC_2.2.5");
__asm__(".symver pthread_atfork,pthread_atfork@GLIBC_2.2.5");
__asm__(".symver pthread_sigmask,pthread_sigmask@GLIBC_2.2.5");
__asm__(".symver pthread_key_create,pthread_key_create@GLIBC_2.2.5");
__asm__(".symver pthread_key_delete,pthread_key_delete@GLIBC_2.2.5");
__asm__(".symver pthread_setspecific,pthread_setspecific@GLIBC_2.2.5");
#endif

#endif
