/* Finds symbols of the loaded objects by reading their ELF symbol tables (.symtab, then
 * .dynsym) from disk, for builds where the interpreter's symbols are not exported and dlsym
 * cannot see them (e.g. a statically linked python without -export-dynamic). */
#ifndef PODPROF_SAMPLER_ELF_SYMBOLS_H
#define PODPROF_SAMPLER_ELF_SYMBOLS_H

#include <stddef.h>
#include <stdint.h>

/* For each names[i] not yet resolved (addrs[i] == 0), stores the run-time address of the first
 * loaded object defining it. Returns how many names are resolved afterwards. */
size_t pp_elf_lookup(const char *const *names, uintptr_t *addrs, size_t n);

/* Same, for one ELF file loaded at the given bias (exposed for tests). */
size_t pp_elf_lookup_file(const char *path, uintptr_t bias, const char *const *names,
                          uintptr_t *addrs, size_t n);

#endif
