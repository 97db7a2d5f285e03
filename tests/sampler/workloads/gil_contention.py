"""GIL contention of a known shape: THREADS threads (argv[2], 1 = no contention) each spin in pure
Python for SECONDS of wall time (argv[3]). With n threads sharing the GIL, each runs about 1/n of
its wall time and waits for the GIL about (n - 1)/n of it. Writes each thread's wall time, CPU
time, time runnable but waiting for a CPU and kernel thread id to argv[1]."""
import json
import sys
import threading
import time

out, threads, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
walls, cpus, native_ids, run_delays = [], [], [], []


def run_delay():
    """ns this thread has spent runnable but waiting for a CPU (Linux schedstat)."""
    with open("/proc/thread-self/schedstat") as f:
        return int(f.read().split()[1])
lock = threading.Lock()


def spin_for_gil():
    w0, c0, r0 = time.monotonic(), time.thread_time(), run_delay()
    x = 0
    while time.monotonic() - w0 < seconds:
        for i in range(1000):
            x += i * i
    with lock:
        walls.append(time.monotonic() - w0)
        cpus.append(time.thread_time() - c0)
        native_ids.append(threading.get_native_id())
        run_delays.append((run_delay() - r0) / 1e9)


def main():
    if threads == 1:
        spin_for_gil()
    else:
        workers = [threading.Thread(target=spin_for_gil, name="spinner-%d" % i)
                   for i in range(threads)]
        for t in workers:
            t.start()
        for t in workers:
            t.join()
    with open(out, "w") as f:
        json.dump({"threads": threads, "walls": walls, "cpus": cpus, "native_ids": native_ids,
                   "run_delays": run_delays,
                   "main_native_id": threading.get_native_id()}, f)


main()
