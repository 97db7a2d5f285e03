#include "thread_names.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "own_fd.h"
#include "py_objects.h"
#include "pystring.h"
#include "safe_read.h"
#include "spread_hash.h"

/* OS names: a name found is re-read every second; a thread without one yet, every 100 ms. */
#define OS_SLOTS 1024
#define REFRESH_NS 1000000000LL
#define REFRESH_UNNAMED_NS 100000000LL
/* Python names: ident -> name, open addressing, rebuilt on each refresh. */
#define PY_SLOTS 8192
#define PY_MAX_THREADS 4096
/* Each unknown ident triggers immediate re-reads (at most one per pass overall: after one, the
 * table holds every thread `threading` lists), the first at once and then 5, 10, 20 ... 640 ms
 * later; then it waits for the periodic one. A thread is seen by the sampler a moment before
 * `threading` lists it, and on a loaded machine that moment can outlast a few quick tries. */
#define MISS_SLOTS 256
#define MISS_TRIES 8
#define MISS_REFRESH_NS 5000000LL
#define NAME_MAX_BYTES 64

typedef struct {
    int32_t tid;
    int named;
    int64_t read_at;
    char name[32];
} os_entry;

typedef struct {
    uint64_t ident;
    uint64_t gen;      /* the table read that listed it; older: the thread has left `threading` */
    int32_t native_id; /* Thread._native_id (0: unknown) */
    char name[NAME_MAX_BYTES];
} py_entry;

typedef struct {
    uint64_t ident;
    int tries;
    int64_t next_at;
    int fell_back; /* labelled with its fallback name since the last flush */
} miss_entry;

/* The Thread attributes read: its name and its kernel tid. */
static const char *const THREAD_ATTRS[] = {"_name", "_native_id"};
enum { ATTR_NAME, ATTR_NATIVE_ID, N_ATTRS };

struct pp_thread_names {
    const pp_runtime *rt;
    int32_t pid;
    char process_comm[17];
    os_entry os[OS_SLOTS];
    py_entry *py;
    uint64_t py_gen;
    uint32_t py_used;
    uintptr_t active;             /* threading._active */
    uintptr_t attr_keys[N_ATTRS]; /* the key objects of THREAD_ATTRS (py_objects.h) */
    int64_t py_read_at, now;
    int py_missed, fell_back;
    pp_dict_item *items;
    miss_entry misses[MISS_SLOTS];
};

static int read_comm(const char *path, char *out, size_t cap)
{
    /* pread: through a number the application took over it takes nothing from a stream */
    pp_own_fd f;
    if (pp_own_open(&f, path, O_RDONLY, 0) != 0)
        return -1;
    ssize_t n = pread(f.fd, out, cap - 1, 0);
    pp_own_close(&f);
    if (n <= 0)
        return -1;
    while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == '\0'))
        n--;
    out[n] = '\0';
    return 0;
}

pp_thread_names *pp_thread_names_new(const pp_runtime *rt)
{
    pp_thread_names *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->rt = rt;
    t->py = calloc(PY_SLOTS, sizeof *t->py);
    t->items = malloc(PY_MAX_THREADS * sizeof *t->items);
    if (!t->py || !t->items) {
        pp_thread_names_free(t);
        return NULL;
    }
    t->pid = (int32_t)getpid();
    t->py_read_at = -REFRESH_NS;
    if (read_comm("/proc/self/comm", t->process_comm, sizeof t->process_comm) != 0)
        t->process_comm[0] = '\0';
    return t;
}

void pp_thread_names_free(pp_thread_names *t)
{
    if (!t)
        return;
    free(t->py);
    free(t->items);
    free(t);
}

/* threading._active of the main interpreter, or 0 while threading is not imported. */
static uintptr_t find_active(const pp_thread_names *t)
{
    const pp_py_layout *l = &t->rt->layout;
    uintptr_t interp, modules, threading, dict;
    if (pp_read_ptr(t->rt->runtime + (uintptr_t)l->rt_interp_head, &interp) != 0 ||
        pp_read_ptr(interp + (uintptr_t)l->is_modules, &modules) != 0 || !modules)
        return 0;
    threading = pp_dict_get_str(l, modules, "threading", PP_MAX_DICT_ENTRIES, NULL);
    if (!threading || pp_read_ptr(threading + (uintptr_t)l->mod_dict, &dict) != 0)
        return 0;
    return pp_dict_get_str(l, dict, "_active", PP_MAX_DICT_ENTRIES, NULL);
}

/* pthread_t values are a stack size apart (see spread_hash.h) */
static uint64_t ident_hash(uint64_t ident)
{
    return pp_spread(ident, 32);
}

/* A Thread._native_id object's value, 0 when unknown. */
static int32_t native_id_value(const pp_py_layout *l, uintptr_t obj)
{
    uint64_t v;
    return obj && pp_read_pylong(l, obj, &v) == 0 && v <= INT32_MAX ? (int32_t)v : 0;
}

static void refresh_python_names(pp_thread_names *t)
{
    const pp_py_layout *l = &t->rt->layout;
    if (!t->active)
        t->active = find_active(t);
    long n = t->active ? pp_dict_items(l, t->active, t->items, PY_MAX_THREADS) : -1;
    if (n < 0) {
        t->active = 0; /* look it up again next time */
        return;
    }
    /* Threads that left are kept (for names learnt late, pp_thread_late_name) until the table
     * is half full. */
    if (t->py_used > PY_SLOTS / 2) {
        memset(t->py, 0, PY_SLOTS * sizeof *t->py);
        t->py_used = 0;
    }
    t->py_gen++;
    char buf[PP_STR_BUF];
    for (long i = 0; i < n; i++) {
        uint64_t ident;
        if (pp_read_pylong(l, t->items[i].key, &ident) != 0 || ident == 0)
            continue;
        uintptr_t attrs[N_ATTRS];
        pp_instance_attrs(l, t->items[i].value, THREAD_ATTRS, N_ATTRS, attrs, t->attr_keys);
        long len = attrs[ATTR_NAME] ? pp_read_pystring(l, attrs[ATTR_NAME], buf) : -1;
        if (len <= 0)
            continue;
        for (uint32_t k = 0; k < PY_SLOTS; k++) {
            py_entry *e = &t->py[(ident_hash(ident) + k) % PY_SLOTS];
            if (e->ident == 0 || e->ident == ident) {
                t->py_used += e->ident == 0;
                e->ident = ident;
                e->gen = t->py_gen;
                /* pthread_t values are reused as soon as a thread ends: the kernel tid tells a
                 * record or a fallback-named sample of the thread listed here from one of a
                 * later thread with the same ident, however many table reads came between. */
                e->native_id = native_id_value(l, attrs[ATTR_NATIVE_ID]);
                /* truncate on a UTF-8 character boundary */
                size_t cut = (size_t)len < NAME_MAX_BYTES - 1 ? (size_t)len : NAME_MAX_BYTES - 1;
                while (cut > 0 && cut < (size_t)len && ((unsigned char)buf[cut] & 0xC0) == 0x80)
                    cut--;
                memcpy(e->name, buf, cut);
                e->name[cut] = '\0';
                break;
            }
        }
    }
}

void pp_thread_names_pass(pp_thread_names *t, int64_t now_ns)
{
    t->now = now_ns;
    int64_t age = now_ns - t->py_read_at;
    if (age >= REFRESH_NS || (t->py_missed && age >= REFRESH_UNNAMED_NS)) {
        refresh_python_names(t);
        t->py_read_at = now_ns;
        t->py_missed = 0;
    }
}

static const char *os_name(pp_thread_names *t, int32_t tid, int64_t now_ns)
{
    if (tid == t->pid)
        return "MainThread";
    os_entry *e = &t->os[(uint32_t)tid % OS_SLOTS];
    if (e->tid == tid && now_ns - e->read_at < (e->named ? REFRESH_NS : REFRESH_UNNAMED_NS))
        return e->name;
    e->tid = tid;
    e->read_at = now_ns;
    char path[64], comm[17];
    snprintf(path, sizeof path, "/proc/self/task/%d/comm", (int)tid);
    if (tid > 0 && read_comm(path, comm, sizeof comm) == 0 && comm[0] &&
        strcmp(comm, t->process_comm) != 0) {
        snprintf(e->name, sizeof e->name, "%s", comm);
        e->named = 1;
    } else {
        snprintf(e->name, sizeof e->name, "Thread-%d", (int)tid);
        e->named = 0;
    }
    return e->name;
}

static const py_entry *python_entry(const pp_thread_names *t, uint64_t ident)
{
    for (uint32_t k = 0; ident && k < PY_SLOTS; k++) {
        const py_entry *e = &t->py[(ident_hash(ident) + k) % PY_SLOTS];
        if (e->ident == ident)
            return e;
        if (e->ident == 0)
            break;
    }
    return NULL;
}

/* The name of ident if the last table read listed it. */
static const char *python_name(const pp_thread_names *t, uint64_t ident)
{
    const py_entry *e = python_entry(t, ident);
    return e && e->gen == t->py_gen ? e->name : NULL;
}

static miss_entry *miss_slot(pp_thread_names *t, uint64_t ident)
{
    return &t->misses[ident_hash(ident) % MISS_SLOTS];
}

const char *pp_thread_name(pp_thread_names *t, uint64_t ident, int32_t tid, int64_t now_ns)
{
    const char *name = python_name(t, ident);
    if (name)
        return name;
    miss_entry *m = miss_slot(t, ident);
    if (m->ident != ident) {
        m->ident = ident;
        m->tries = 0;
        m->next_at = 0;
        m->fell_back = 0;
    }
    if (m->tries < MISS_TRIES && now_ns >= m->next_at && now_ns != t->py_read_at) {
        /* a thread started since the last refresh: look again now, then less and less often */
        m->next_at = now_ns + (MISS_REFRESH_NS << m->tries);
        m->tries++;
        refresh_python_names(t);
        t->py_read_at = now_ns;
        if ((name = python_name(t, ident)) != NULL)
            return name;
    }
    t->py_missed = 1;
    if (tid != t->pid)
        m->fell_back = t->fell_back = 1;
    return os_name(t, tid, now_ns);
}

const char *pp_thread_name_of_record(pp_thread_names *t, uint64_t ident, int32_t tid,
                                     int64_t now_ns)
{
    /* The kernel tid tells it from a later thread that got the same ident; when it could not be
     * read, only the table read before the last one may name it. */
    const py_entry *e = python_entry(t, ident);
    if (e && (e->native_id ? e->native_id == tid : e->gen + 1 >= t->py_gen))
        return e->name;
    return pp_thread_name(t, ident, tid, now_ns);
}

int pp_thread_names_settle(pp_thread_names *t, int reread)
{
    if (!t->fell_back)
        return 0;
    if (reread) {
        refresh_python_names(t);
        t->py_read_at = t->now;
    }
    return 1;
}

const char *pp_thread_late_name(pp_thread_names *t, uint64_t ident, int32_t tid)
{
    const miss_entry *m = miss_slot(t, ident);
    if (m->ident != ident || !m->fell_back)
        return NULL;
    /* A thread that has left `threading` since (it ended before the flush) keeps the name it had
     * in the last table read that listed it. */
    const py_entry *e = python_entry(t, ident);
    return e && e->native_id == tid ? e->name : NULL;
}

void pp_thread_names_settled(pp_thread_names *t)
{
    for (size_t i = 0; i < MISS_SLOTS; i++)
        t->misses[i].fell_back = 0;
    t->fell_back = 0;
}
