"""A thread whose work changes over time at known moments, for the timeline: `busy` runs phase_a
then phase_b, three times each, for PHASE_S seconds of CPU each, and records when every phase began
and ended on the wall clock; `waiter` sleeps throughout. The phase windows go to the JSON file named
by argv[1]."""
import json
import sys
import threading
import time

PHASE_S = 0.3
windows = {"phase_a": [], "phase_b": []}


def spin(seconds):
    end = time.thread_time() + seconds
    while time.thread_time() < end:
        pass


def phase_a():
    spin(PHASE_S)


def phase_b():
    spin(PHASE_S)


def busy():
    for _ in range(3):
        for fn in (phase_a, phase_b):
            start = time.time_ns()
            fn()
            windows[fn.__name__].append((start, time.time_ns()))


def waiter(stop):
    stop.wait()


stop = threading.Event()
w = threading.Thread(target=waiter, args=(stop,), name="pp-waiter")
b = threading.Thread(target=busy, name="pp-busy")
w.start()
b.start()
b.join()
stop.set()
w.join()
with open(sys.argv[1], "w") as f:
    json.dump(windows, f)
