"""Exception-heavy fixed work for the exception-profile bench: one thread raises and catches a
ValueError from two calls down ITERATIONS times. Writes the worker thread's CPU time (s) to
$BENCH_RESULT as JSON."""
import json
import os
import sys
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import hooks_ready  # noqa: E402
import time

ITERATIONS = int(sys.argv[1])


def fail(n):
    raise ValueError(n)


def call(n):
    return fail(n)


def work(out):
    start = time.thread_time()
    for n in range(ITERATIONS):
        try:
            call(n)
        except ValueError:
            pass
    out[0] = time.thread_time() - start


hooks_ready.wait_for_hooks()  # the timed part is all hooked, at any sampling rate
cpu = [0.0]
t = threading.Thread(target=work, args=(cpu,))
t.start()
t.join()
if os.environ.get("BENCH_RESULT"):
    with open(os.environ["BENCH_RESULT"], "w") as f:
        json.dump({"worker_cpu_s": cpu[0]}, f)
