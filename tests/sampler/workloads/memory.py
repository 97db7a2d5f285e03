"""Allocations whose sizes, counts and owners are known exactly, for the memory profiles.

Usage: memory.py MODE EXPECT_JSON. Every payload is a bytes object, which CPython allocates in
one call of the object allocator of exactly sys.getsizeof(obj) bytes; loops iterate with
itertools.repeat so that the loop itself allocates nothing. The truth is written to EXPECT_JSON.
"""
import itertools
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
import hooks_ready  # noqa: E402

MODE, EXPECT = sys.argv[1], sys.argv[2]
MB = 1 << 20
expect = {}


def object_size(size):
    """What bytes(size) allocates, computed without allocating one (b"" is a shared constant)."""
    return sys.getsizeof(b"") + size


def churn(size, total):
    n = total // object_size(size)
    for _ in itertools.repeat(None, n):
        bytes(size)  # line: alloc
    return n * object_size(size)


def alpha(size, total):
    return churn(size, total)


def beta(size, total):
    return churn(size, total)


def small_allocs(total):
    return churn(200, total)


def large_allocs(total):
    return churn(2 * MB, total)


def keeper(size, total):
    n = total // object_size(size)
    kept = [bytes(size) for _ in itertools.repeat(None, n)]
    return kept, n * object_size(size)


def churner(size, total):
    return churn(size, total)


def parent_keep(size, total):
    return keeper(size, total)


def child_keep(size, total):
    return keeper(size, total)


def hold(seconds):
    """Keeps everything alive while profiles are written (DD_PROFILING_UPLOAD_INTERVAL < 1 s)."""
    expect.setdefault("hold", {})[str(os.getpid())] = [time.time_ns()]
    time.sleep(seconds)
    expect["hold"][str(os.getpid())].append(time.time_ns())


hooks_ready.wait_for_hooks(required=True)  # every allocation below is seen
if MODE == "split":
    # 2:1 by bytes, interleaved in rounds so that the two see the same conditions
    expect["alpha"] = expect["beta"] = 0
    for _ in range(20):
        expect["alpha"] += alpha(200, 20 * MB)
        expect["beta"] += beta(200, 10 * MB)
elif MODE == "sizes":
    expect["small_allocs"] = expect["large_allocs"] = 0
    expect["small_count"] = expect["large_count"] = 0
    for _ in range(10):
        expect["small_allocs"] += small_allocs(10 * MB)
        expect["large_allocs"] += large_allocs(10 * MB)
    expect["small_count"] = expect["small_allocs"] // object_size(200)
    expect["large_count"] = expect["large_allocs"] // object_size(2 * MB)
elif MODE == "live":
    kept, expect["keeper"] = keeper(1000, 64 * MB)
    expect["churner"] = churner(1000, 256 * MB)
    hold(2.5)
elif MODE == "fork":
    kept, expect["parent_keep"] = parent_keep(1000, 64 * MB)
    pid = os.fork()
    if pid == 0:
        del kept  # frees, in the child, what the parent allocated
        kept2, expect["child_keep"] = child_keep(1000, 32 * MB)
        hold(2.5)
        with open(EXPECT + ".child", "w") as f:
            json.dump(expect, f)
        os._exit(0)
    hold(2.5)
    os.waitpid(pid, 0)
elif MODE == "tracemalloc":
    import tracemalloc
    tracemalloc.start()
    kept, expect["keeper"] = keeper(1000, 32 * MB)
    current, _ = tracemalloc.get_traced_memory()
    expect["tracemalloc_current"] = current
    expect["tracemalloc_keeper"] = sum(
        s.size for s in tracemalloc.take_snapshot().statistics("filename")
        if s.traceback[0].filename == __file__)
    expect["churner"] = churner(1000, 64 * MB)
    hold(2.5)
    tracemalloc.stop()
# The sampler thread names recorded stacks on its next pass; one made after the interpreter has
# finalized can no longer be named (its code objects are gone). Give it that pass.
time.sleep(0.3)
with open(EXPECT, "w") as f:
    json.dump(expect, f)
