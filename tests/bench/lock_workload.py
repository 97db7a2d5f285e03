"""Lock-heavy fixed work for the lock-profile bench: one thread takes and releases an uncontended
threading.Lock UNCONTENDED times (argv[1]), then a producer hands ITEMS items (argv[2]) to a
consumer through a queue.Queue of size 8, so the two wait on the queue's Condition (its lock and
the waiters' locks) over and over. Writes the worker threads' summed CPU time (s) to
$BENCH_RESULT as JSON, split into the two parts."""
import json
import os
import queue
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import hooks_ready  # noqa: E402

UNCONTENDED = int(sys.argv[1])
ITEMS = int(sys.argv[2]) if len(sys.argv) > 2 else 0


def uncontended(out):
    start = time.thread_time()
    lock = threading.Lock()
    for _ in range(UNCONTENDED):
        with lock:
            pass
    out["uncontended"] = time.thread_time() - start


def produce(q, out):
    start = time.thread_time()
    for i in range(ITEMS):
        q.put(i)
    q.put(None)
    out["producer"] = time.thread_time() - start


def consume(q, out):
    start = time.thread_time()
    while q.get() is not None:
        pass
    out["consumer"] = time.thread_time() - start


def in_thread(target, *args):
    t = threading.Thread(target=target, args=args)
    t.start()
    t.join()


# every hook the run enables is in place before the timed part (the lock observer is armed by
# the same call as the allocator hooks these runs wait for)
hooks_ready.wait_for_hooks()
cpu = {}
in_thread(uncontended, cpu)
if ITEMS:
    q = queue.Queue(maxsize=8)
    consumer = threading.Thread(target=consume, args=(q, cpu))
    consumer.start()
    in_thread(produce, q, cpu)
    consumer.join()
if os.environ.get("BENCH_RESULT"):
    with open(os.environ["BENCH_RESULT"], "w") as f:
        json.dump({"uncontended_cpu_s": cpu["uncontended"],
                   "queue_cpu_s": cpu.get("producer", 0) + cpu.get("consumer", 0),
                   "worker_cpu_s": sum(cpu.values())}, f)
