#include "elf_symbols.h"

#include <elf.h>
#include <fcntl.h>
#include <link.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "own_fd.h"

/* Executables larger than this are not scanned (keeps start-up bounded). */
#define MAX_ELF_BYTES ((int64_t)512 << 20)

static int in_file(size_t size, uint64_t off, uint64_t len)
{
    return off <= size && len <= size - off;
}

static size_t scan_table(const unsigned char *img, size_t size, const Elf64_Shdr *sym,
                         const Elf64_Shdr *str, uintptr_t bias, const char *const *names,
                         uintptr_t *addrs, size_t n)
{
    if (sym->sh_entsize != sizeof(Elf64_Sym) || !in_file(size, sym->sh_offset, sym->sh_size) ||
        !in_file(size, str->sh_offset, str->sh_size))
        return 0;
    const Elf64_Sym *syms = (const Elf64_Sym *)(img + sym->sh_offset);
    const char *strtab = (const char *)img + str->sh_offset;
    size_t count = sym->sh_size / sizeof(Elf64_Sym), found = 0;
    for (size_t i = 0; i < count; i++) {
        const Elf64_Sym *s = &syms[i];
        if (s->st_shndx == SHN_UNDEF || s->st_value == 0 || s->st_name >= str->sh_size)
            continue;
        const char *name = strtab + s->st_name;
        size_t maxlen = str->sh_size - s->st_name;
        for (size_t k = 0; k < n; k++) {
            if (addrs[k] == 0 && strnlen(name, maxlen) < maxlen && strcmp(name, names[k]) == 0) {
                addrs[k] = bias + s->st_value;
                found++;
            }
        }
    }
    return found;
}

size_t pp_elf_lookup_file(const char *path, uintptr_t bias, const char *const *names,
                          uintptr_t *addrs, size_t n)
{
    /* Mapped, never read with read(2): a number the application took over meanwhile is mapped
     * read-only and private at worst, which fails the checks below. */
    pp_own_fd f;
    if (pp_own_open(&f, path, O_RDONLY, 0) != 0)
        return 0;
    if (f.size < (int64_t)sizeof(Elf64_Ehdr) || f.size > MAX_ELF_BYTES || !pp_own_check(&f)) {
        pp_own_close(&f);
        return 0;
    }
    size_t size = (size_t)f.size;
    const unsigned char *img = mmap(NULL, size, PROT_READ, MAP_PRIVATE, f.fd, 0);
    pp_own_close(&f);
    if (img == MAP_FAILED)
        return 0;
    const Elf64_Ehdr *eh = (const Elf64_Ehdr *)img;
    if (memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 || eh->e_ident[EI_CLASS] != ELFCLASS64 ||
        eh->e_shentsize != sizeof(Elf64_Shdr) ||
        !in_file(size, eh->e_shoff, (uint64_t)eh->e_shnum * sizeof(Elf64_Shdr))) {
        munmap((void *)img, size);
        return 0;
    }
    const Elf64_Shdr *sh = (const Elf64_Shdr *)(img + eh->e_shoff);
    /* .symtab first: it is the superset when present. */
    const uint32_t kinds[2] = {SHT_SYMTAB, SHT_DYNSYM};
    for (int k = 0; k < 2; k++) {
        for (size_t i = 0; i < eh->e_shnum; i++) {
            if (sh[i].sh_type != kinds[k] || sh[i].sh_link >= eh->e_shnum)
                continue;
            scan_table(img, size, &sh[i], &sh[sh[i].sh_link], bias, names, addrs, n);
        }
    }
    munmap((void *)img, size);
    size_t resolved = 0;
    for (size_t k = 0; k < n; k++)
        resolved += addrs[k] != 0;
    return resolved;
}

struct lookup_ctx {
    const char *const *names;
    uintptr_t *addrs;
    size_t n;
};

static int visit_object(struct dl_phdr_info *info, size_t size, void *arg)
{
    (void)size;
    struct lookup_ctx *ctx = arg;
    const char *path = info->dlpi_name && info->dlpi_name[0] ? info->dlpi_name : "/proc/self/exe";
    if (strstr(path, "linux-vdso") || strstr(path, "libpodprof"))
        return 0;
    return pp_elf_lookup_file(path, (uintptr_t)info->dlpi_addr, ctx->names, ctx->addrs, ctx->n) ==
           ctx->n;
}

size_t pp_elf_lookup(const char *const *names, uintptr_t *addrs, size_t n)
{
    struct lookup_ctx ctx = {names, addrs, n};
    dl_iterate_phdr(visit_object, &ctx);
    size_t resolved = 0;
    for (size_t k = 0; k < n; k++)
        resolved += addrs[k] != 0;
    return resolved;
}
