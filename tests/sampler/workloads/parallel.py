"""Four threads running Python code at the same time, each in its own function for a known amount
of its own CPU time (1:2:3:4), each thread named after its function. On a free-threaded build
they truly run in parallel. Writes {"gil": whether the GIL is enabled} to argv[1]."""
import json
import sys
import threading
import time

UNIT_CPU = 0.2


def spin(cpu_seconds):
    end = time.thread_time() + cpu_seconds
    x = 0
    while time.thread_time() < end:
        x += 1
    return x


def work_1():
    spin(1 * UNIT_CPU)


def work_2():
    spin(2 * UNIT_CPU)


def work_3():
    spin(3 * UNIT_CPU)


def work_4():
    spin(4 * UNIT_CPU)


start = threading.Barrier(4)


def run(fn):
    start.wait()  # all four begin together
    fn()


threads = [threading.Thread(target=run, args=(fn,), name="par-" + fn.__name__)
           for fn in (work_1, work_2, work_3, work_4)]
for t in threads:
    t.start()
for t in threads:
    t.join()
gil = sys._is_gil_enabled() if hasattr(sys, "_is_gil_enabled") else True
json.dump({"gil": gil}, open(sys.argv[1], "w"))
