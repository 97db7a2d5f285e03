"""Waits, in a workload (a test's or a benchmark's), until libpodprof.so (when it is preloaded)
has installed the in-process hooks the environment enables. They are installed from a pending call
after the sampler thread's first pass: one sampling interval after start, later on a loaded
machine, under ASan or under valgrind. A fixed wait leaves part of the work unhooked there (a
test's estimate of 0, a benchmark's instruction count that depends on the machine's speed).
Python's standard library only: a workload must not load anything else."""
import ctypes
import os
import sys
import time


def library_ranges():
    """Address ranges of libpodprof.so in this process."""
    ranges = []
    with open("/proc/self/maps") as f:
        for line in f:
            if line.rstrip().endswith("libpodprof.so"):
                lo, hi = line.split()[0].split("-")
                ranges.append((int(lo, 16), int(hi, 16)))
    return ranges


class _Allocator(ctypes.Structure):  # PyMemAllocatorEx
    _fields_ = [("ctx", ctypes.c_void_p), ("malloc", ctypes.c_void_p),
                ("calloc", ctypes.c_void_p), ("realloc", ctypes.c_void_p),
                ("free", ctypes.c_void_p)]


def _allocator_hooked(ranges):
    alloc = _Allocator()
    ctypes.pythonapi.PyMem_GetAllocator(ctypes.c_int(2), ctypes.byref(alloc))  # OBJ domain
    return any(lo <= (alloc.malloc or 0) < hi for lo, hi in ranges)


def _raise_tool_registered():
    return any(sys.monitoring.get_tool(i) == "podprof" for i in range(6))


def _enabled(name):
    return os.environ.get(name, "true").lower() not in ("false", "0", "no", "off")


def wait_for_hooks(timeout=120.0, required=False):
    """Returns once every hook the environment enables is in place. After timeout seconds it
    exits the workload when required, else says so on stderr (the numbers of that run include
    unhooked work) and returns."""
    if "libpodprof.so" not in os.environ.get("LD_PRELOAD", "") or \
            not _enabled("DD_PROFILING_ENABLED"):
        return
    ranges = library_ranges()
    checks = []
    if _enabled("DD_PROFILING_MEMORY_ENABLED"):
        checks.append(lambda: _allocator_hooked(ranges))
    if _enabled("DD_PROFILING_EXCEPTION_ENABLED") and sys.version_info >= (3, 12):
        checks.append(_raise_tool_registered)
    end = time.monotonic() + timeout
    while not all(check() for check in checks):
        if time.monotonic() > end:
            message = "hooks_ready: hooks not installed after %.0f s" % timeout
            if required:
                sys.exit(message)
            print(message, file=sys.stderr)
            return
        time.sleep(0.01)
