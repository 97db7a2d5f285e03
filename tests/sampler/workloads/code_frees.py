"""Code objects that live on, and code objects freed: what the library's count of freed code objects
(sampler/lib/code_frees.h) lets the sampler thread skip, and what it must not.

Usage: code_frees.py EXPECT_JSON MODE [SECONDS]. Two threads run the same few functions for SECONDS
(2 by default) after the hooks are in place (but in reuse mode); then, by MODE:
- steady: nothing else. Only the FREED code objects freed at the start (counted) are freed.
- bursts: BURSTS times, FREED code objects are compiled and freed, then the threads run on alone
  for PAUSE seconds (many sampling passes).
- reuse (the main thread alone): PAIRS times, gen_K is made, called by call_even or call_odd (K's parity), spins for SPIN
  seconds and allocates on its way out (an allocation record holding its code object's address),
  and is freed; after PAUSE seconds (the sampler thread names the record meanwhile, from the freed
  object's header) gen_K+1 is made at gen_K's address (copies are made and kept until one lands
  there, at most TRIES), and spins while no code object is freed.
Writes {"hooked": the wrapper was found in PyCode_Type's tp_dealloc, "freed": code objects this
workload freed after that, "bursts", "pairs", "spin_calls": gen_K's calls, "reused": how many
gen_K+1 were made at gen_K's address} to EXPECT_JSON."""
import ctypes
import gc
import json
import marshal
import os
import sys
import threading
import time
import types
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
import hooks_ready  # noqa: E402

FREED, BURSTS, PAIRS, PAUSE, SPIN, TRIES = 4, 8, 12, 0.25, 0.2, 4000
MODE = sys.argv[2]
SECONDS = float(sys.argv[3]) if len(sys.argv) > 3 else 2.0


def dealloc_slot():
    """PyCode_Type's tp_dealloc, after checking that tp_basicsize and tp_itemsize sit where the
    library expects them (tp_dealloc follows them): PyVarObject's header, then tp_name."""
    at = id(types.CodeType) + object.__basicsize__ + 8 + 8
    assert ctypes.c_ssize_t.from_address(at).value == types.CodeType.__basicsize__
    assert ctypes.c_ssize_t.from_address(at + 8).value == types.CodeType.__itemsize__
    return ctypes.c_void_p.from_address(at + 16).value


def wait_for_wrapper(expected):
    ranges = hooks_ready.library_ranges()
    end = time.monotonic() + 120
    while expected and not any(lo <= dealloc_slot() < hi for lo, hi in ranges):
        if time.monotonic() > end:
            sys.exit("code_frees: the wrapper was not installed")
        time.sleep(0.01)
    return any(lo <= dealloc_slot() < hi for lo, hi in ranges)


def leaf(n):
    return sum(range(n))


def middle(n):
    return leaf(n) + leaf(n // 2)


def top(stop):
    while not stop.is_set():
        middle(200)


def spin(until):
    n = 0
    while time.monotonic() < until:
        n += 1
    bytes(1 << 20)  # an allocation record, named once gen_K's code object is freed
    return n


def call_even(fn, until):
    return fn(until)


def call_odd(fn, until):
    return fn(until)


CALLERS = (call_even, call_odd)


def compile_and_free(k):
    """Compiles gen_k (two code objects: the module's and the function's) and frees both."""
    ns = {}
    src = f"def gen_{k}(size):\n    return bytes(size)\n"
    exec(compile(src, "<generated>", "exec"), ns)
    del ns
    gc.collect()  # (free-threaded: code objects and functions are freed by the collector)
    return 2


hooks_ready.wait_for_hooks(required=True)
hooked = wait_for_wrapper(os.environ.get("EXPECT_WRAPPER") == "1")
freed = sum(compile_and_free(k) for k in range(FREED // 2))
stop = threading.Event()
# (free-threaded: once a second thread has run, freed memory is handed out again only after every
# thread passed a quiescent state: the reuse turns run alone)
workers = [threading.Thread(target=top, args=(stop,)) for _ in range(2 if MODE != "reuse" else 0)]
for w in workers:
    w.start()
time.sleep(SECONDS if workers else 0)
spin_calls = 0
reused = 0
if MODE == "bursts":
    for b in range(BURSTS):
        freed += sum(compile_and_free(k) for k in range(FREED // 2))
        time.sleep(PAUSE)
elif MODE == "reuse":
    # gen_K's code is a copy of the template's but for its names, so gen_K+1's has the size gen_K's
    # had; copies are made by marshal, which allocates nothing that size before the code object
    # (code.replace's keyword dict would take the freed block first)
    template = spin.__code__
    kept = []  # names and spare code objects stay alive: freeing one would count
    copies = []
    for k in range(PAIRS):
        name = sys.intern(f"gen_{k}")
        kept.append(name)
        names = {"co_name": name}
        if hasattr(template, "co_qualname"):
            names["co_qualname"] = name
        copies.append(marshal.dumps(template.replace(**names)))
    gc.collect()
    freed_at = None
    for k in range(PAIRS):
        code = marshal.loads(copies[k])
        # mimalloc (free-threaded) hands out a freed block once its page's free list is used up,
        # pymalloc the last freed block of the size at once
        for _ in range(TRIES if freed_at else 0):
            if id(code) == freed_at:
                break
            kept.append(code)
            code = marshal.loads(copies[k])
        reused += id(code) == freed_at
        fn = types.FunctionType(code, globals())
        freed_at = id(code)
        del code
        CALLERS[k % 2](fn, time.monotonic() + SPIN)
        del fn  # gen_K's code object: the only one freed in this turn
        gc.collect()  # (free-threaded: code objects and functions are freed by the collector)
        freed += 1
        spin_calls += 1
        time.sleep(PAUSE)
stop.set()
for w in workers:
    w.join()
Path(sys.argv[1]).write_text(json.dumps({"hooked": hooked, "freed": freed, "bursts": BURSTS,
                                         "pairs": PAIRS, "spin_calls": spin_calls,
                                         "reused": reused}))
