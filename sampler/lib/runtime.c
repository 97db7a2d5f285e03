#include "runtime.h"

#include <dlfcn.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "elf_symbols.h"
#include "log.h"
#include "safe_read.h"

enum { SYM_RUNTIME, SYM_CODE_TYPE, SYM_PY_VERSION, SYM_GET_VERSION, SYM_COUNT };
static const char *const sym_names[SYM_COUNT] = {"_PyRuntime", "PyCode_Type", "Py_Version",
                                                 "Py_GetVersion"};
static uintptr_t sym_addrs[SYM_COUNT];

static int names_libpython(struct dl_phdr_info *info, size_t size, void *arg)
{
    (void)size;
    (void)arg;
    return info->dlpi_name && strstr(info->dlpi_name, "libpython") != NULL;
}

/* Reading symbol tables from disk costs every process of the container at start, so it is only
 * done where an interpreter is plausible: an executable named python*, or a libpython loaded. */
static int looks_like_python(void)
{
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = '\0';
        const char *base = strrchr(exe, '/');
        if (strstr(base ? base + 1 : exe, "python"))
            return 1;
    }
    return dl_iterate_phdr(names_libpython, NULL);
}

int pp_runtime_find(pp_runtime *rt, int force_elf)
{
    memset(rt, 0, sizeof *rt);
    memset(sym_addrs, 0, sizeof sym_addrs);
    if (!force_elf)
        for (int i = 0; i < SYM_COUNT; i++)
            sym_addrs[i] = (uintptr_t)dlsym(RTLD_DEFAULT, sym_names[i]);
    if (!sym_addrs[SYM_RUNTIME] && looks_like_python()) {
        /* Not exported (e.g. a static python linked without -export-dynamic): read the symbol
         * tables of the loaded objects from disk. */
        pp_elf_lookup(sym_names, sym_addrs, SYM_COUNT);
        rt->found_by_elf = sym_addrs[SYM_RUNTIME] != 0;
    }
    rt->runtime = sym_addrs[SYM_RUNTIME];
    rt->code_type = sym_addrs[SYM_CODE_TYPE];
    return rt->runtime ? 0 : -1;
}

static int parse_version(const char *s, int *major, int *minor, int *micro)
{
    *micro = 0;
    return sscanf(s, "%d.%d.%d", major, minor, micro) >= 2 ? 0 : -1;
}

struct soname_ctx {
    int major, minor;
};

static int find_soname(struct dl_phdr_info *info, size_t size, void *arg)
{
    (void)size;
    struct soname_ctx *ctx = arg;
    const char *p = info->dlpi_name ? strstr(info->dlpi_name, "libpython") : NULL;
    return p && sscanf(p, "libpython%d.%d", &ctx->major, &ctx->minor) == 2;
}

int pp_runtime_resolve(pp_runtime *rt)
{
    int major = 0, minor = 0, micro = 0;
    uint64_t debug[PP_DEBUG_OFFSETS_WORDS];
    uint32_t hex = 0;
    int have_layout = 0, free_threaded = 0;
    /* The struct is read whole; a shorter one of an older version ends inside _PyRuntime. */
    if (pp_read(debug, rt->runtime, sizeof debug) == 0 && memcmp(debug, "xdebugpy", 8) == 0) {
        /* 3.13+: the interpreter publishes its own layout. */
        pp_layout_status st = pp_py_layout_from_debug_offsets(debug, PP_DEBUG_OFFSETS_WORDS,
                                                              &rt->layout, &hex, &free_threaded);
        if (st != PP_LAYOUT_OK) {
            pp_log(PP_LOG_WARN,
                   "CPython %u.%u%s (_Py_DebugOffsets%s) is not supported; not profiling",
                   hex >> 24 & 0xff, hex >> 16 & 0xff, free_threaded ? "t" : "",
                   st == PP_LAYOUT_BAD_OFFSETS ? ": implausible offsets" : "");
            return -1;
        }
        have_layout = 1;
    } else if (sym_addrs[SYM_PY_VERSION] &&
               pp_read(&hex, sym_addrs[SYM_PY_VERSION], sizeof hex) == 0) {
        /* 3.11+ */
    } else if (sym_addrs[SYM_GET_VERSION]) {
        /* 3.8-3.10: Py_GetVersion() only formats static strings, callable from any thread. */
        const char *(*get_version)(void) = (const char *(*)(void))sym_addrs[SYM_GET_VERSION];
        if (parse_version(get_version(), &major, &minor, &micro) == 0)
            hex = (uint32_t)major << 24 | (uint32_t)minor << 16 | (uint32_t)micro << 8;
    }
    if (!hex) {
        struct soname_ctx ctx = {0, 0};
        if (dl_iterate_phdr(find_soname, &ctx))
            hex = (uint32_t)ctx.major << 24 | (uint32_t)ctx.minor << 16;
    }
    major = (int)(hex >> 24 & 0xff);
    minor = (int)(hex >> 16 & 0xff);
    micro = (int)(hex >> 8 & 0xff);
    rt->hexversion = hex;
    snprintf(rt->version, sizeof rt->version, "%d.%d.%d", major, minor, micro);
    if (!have_layout) {
        /* Without _Py_DebugOffsets only the rows of versions that have none apply. */
        const pp_py_layout *row = pp_py_layout_for(major, minor);
        if (!row) {
            pp_log(PP_LOG_WARN, "CPython version %s is not supported; not profiling",
                   hex ? rt->version : "unknown");
            return -1;
        }
        rt->layout = *row;
    }
    return 0;
}

int pp_runtime_state(const pp_runtime *rt, pp_read_fn read, void *ctx, uintptr_t *interp_head)
{
    int flag;
    pp_field f[] = {{rt->layout.rt_initialized, sizeof flag, &flag},
                    {rt->layout.rt_interp_head, sizeof *interp_head, interp_head}};
    if (pp_read_fields_with(read, ctx, rt->runtime, f, 2) != 0)
        return -1;
    return flag != 0;
}

int pp_runtime_initialized(const pp_runtime *rt)
{
    int flag;
    if (pp_read(&flag, rt->runtime + (uintptr_t)rt->layout.rt_initialized, sizeof flag) != 0)
        return -1;
    return flag != 0;
}
