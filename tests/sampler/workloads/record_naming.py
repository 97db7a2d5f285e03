"""Allocations recorded from code objects that are created and freed one after another, so that
a new code object is often allocated where a freed one was, and named later by the sampler
thread: every allocation of gen_K is made by the code of iteration K alone.

Usage: record_naming.py EXPECT_JSON. Each iteration compiles a function gen_K, calls it (CALLS
allocations of SIZE bytes on its line ALLOC_LINE + K % 3, the bytes object being the line's only
allocation), then drops it. Every name string stays alive (kept below): a code object's address
may be reused, its name's may not, so a stack recorded from gen_K can only be named gen_K or, when
its code was freed before the sampler thread read it, not at all. Writes {"iterations",
"calls", "alloc_line", "code_addresses"} to EXPECT_JSON."""
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
import hooks_ready  # noqa: E402

ITERATIONS, CALLS, SIZE = 400, 8, 1 << 20
ALLOC_LINE = 4  # of the first padding; gen_K's allocation is K % 3 lines below it
kept = []  # the name strings of every generated function
addresses = set()

hooks_ready.wait_for_hooks(required=True)  # every allocation below is seen
for k in range(ITERATIONS):
    name = sys.intern(f"gen_{k}")
    kept.append(name)
    pad = "\n" * (k % 3)
    src = (f"import itertools\ndef {name}(size, calls):\n    it = itertools.repeat(None, calls)\n"
           f"{pad}    for _ in it: bytes(size)\n")
    ns = {}
    exec(compile(src, "<generated>", "exec"), ns)
    code = ns[name].__code__
    # (3.11+: the qualified name is a string of its own; kept alive like the name)
    kept.append(getattr(code, "co_qualname", code.co_name))
    addresses.add(id(code))
    del code
    ns[name](SIZE, CALLS)
    del ns
    if k % 10 == 9:
        time.sleep(0.003)  # the sampler thread drains the ring: none of these records is dropped
Path(sys.argv[1]).write_text(json.dumps({"iterations": ITERATIONS, "calls": CALLS,
                                         "alloc_line": ALLOC_LINE,
                                         "code_addresses": len(addresses)}))
