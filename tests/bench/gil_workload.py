"""GIL-switch-heavy fixed work for the GIL wait bench: THREADS threads (argv[2]) each run
ITERATIONS (argv[1]) rounds of a little pure Python and a time.sleep(0), which releases the GIL,
so every round hands the GIL over and the thread waits in take_gil to get it back. Writes the
workers' summed CPU time and the wall time of the threaded part (s) to $BENCH_RESULT as JSON."""
import json
import os
import sys
import threading
import time

ITERATIONS = int(sys.argv[1])
THREADS = int(sys.argv[2]) if len(sys.argv) > 2 else 4


def work(out, i):
    start = time.thread_time()
    x = 0
    for n in range(ITERATIONS):
        for k in range(20):
            x += k
        time.sleep(0)
    out[i] = time.thread_time() - start


# Let the profiler install its hooks (a pending call, on the main thread) before the timed part.
end = time.monotonic() + 0.3
while time.monotonic() < end:
    pass
cpu = [0.0] * THREADS
w0 = time.monotonic()
workers = [threading.Thread(target=work, args=(cpu, i)) for i in range(THREADS)]
for t in workers:
    t.start()
for t in workers:
    t.join()
wall = time.monotonic() - w0
if os.environ.get("BENCH_RESULT"):
    with open(os.environ["BENCH_RESULT"], "w") as f:
        json.dump({"worker_cpu_s": sum(cpu), "wall_s": wall}, f)
