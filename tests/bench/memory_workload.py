"""Allocation-heavy fixed work for the memory-profile bench: THREADS threads each build and drop
small dicts, lists, objects and strings ITERATIONS times. Writes the workload threads' summed CPU
time (s) to $BENCH_RESULT as JSON."""
import json
import os
import sys
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import hooks_ready  # noqa: E402
import time

THREADS, ITERATIONS = int(sys.argv[1]), int(sys.argv[2])


class Point:
    def __init__(self, x, y):
        self.x, self.y = x, y


def work(out, i):
    start = time.thread_time()
    for n in range(ITERATIONS):
        d = {"a": n, "b": [n, n + 1, n + 2], "c": Point(n, -n)}
        s = "item-%d-%s" % (n, d["b"])
        lst = [s, d, (n, s)]
        del d, s, lst
    out[i] = time.thread_time() - start


hooks_ready.wait_for_hooks()  # the timed part is all hooked, at any sampling rate
cpu = [0.0] * THREADS
threads = [threading.Thread(target=work, args=(cpu, i)) for i in range(THREADS)]
for t in threads:
    t.start()
for t in threads:
    t.join()
if os.environ.get("BENCH_RESULT"):
    with open(os.environ["BENCH_RESULT"], "w") as f:
        json.dump({"worker_cpu_s": sum(cpu)}, f)
