/* A process that looks like a CPython newer than the sampler's table: it exports _PyRuntime,
 * whose first bytes are a _Py_DebugOffsets header (cookie "xdebugpy", version, free_threaded)
 * announcing FAKE_VERSION (default 3.16.0 final) and FAKE_FREE_THREADED. It then lives long
 * enough for the sampler thread to look at it. Build with -rdynamic so dlsym finds the symbol. */
#include <stdint.h>
#include <unistd.h>

#ifndef FAKE_VERSION
#define FAKE_VERSION 0x031000f0
#endif
#ifndef FAKE_FREE_THREADED
#define FAKE_FREE_THREADED 0
#endif

struct fake_runtime {
    char cookie[8];
    uint64_t version, free_threaded;
    uint64_t rest[253]; /* zeros: whatever else a reader copies */
};

__attribute__((visibility("default"))) struct fake_runtime _PyRuntime = {
    {'x', 'd', 'e', 'b', 'u', 'g', 'p', 'y'}, FAKE_VERSION, FAKE_FREE_THREADED, {0}};

int main(void)
{
    usleep(500 * 1000);
    return _PyRuntime.version == FAKE_VERSION ? 0 : 1;
}
