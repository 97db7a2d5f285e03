"""An application with its own signal handlers, next to the library: a SIGTERM handler installed
while the interpreter initializes (the test's sitecustomize, before the sampler starts), and once
the sampler has written a profile: SIGINT and SIGCHLD handlers, another SIGTERM handler, SIGTERM
ignored through libc's signal() (which bypasses sigaction), and last a SIGTERM handler that ends
the process with status 42. Prints how often each handler ran, as JSON."""
import ctypes
import glob
import json
import os
import signal
import subprocess
import sys
import time

import sitecustomize

counts = {"early_sigterm": 0, "late_sigterm": 0, "sigint": 0, "sigchld": 0, "libc_sigterm": 0}


def app_signals_work(cpu_seconds):
    end = time.thread_time() + cpu_seconds
    while time.thread_time() < end:
        pass


def until(condition, what):
    deadline = time.monotonic() + 30
    while not condition():
        if time.monotonic() > deadline:
            sys.exit("timed out waiting for " + what)
        app_signals_work(0.005)


def handler(key):
    def count(sig, frame):
        counts[key] += 1
    return count


# the sampler runs (and has kept SIGTERM, where it could) once it wrote a profile
prefix = os.environ["DD_PROFILING_OUTPUT_PPROF"]
until(lambda: glob.glob("%s.%d.*.json" % (prefix, os.getpid())), "a first profile")

os.kill(os.getpid(), signal.SIGTERM)
until(lambda: len(sitecustomize.early) == 1, "the early SIGTERM handler")
counts["early_sigterm"] = len(sitecustomize.early)

signal.signal(signal.SIGINT, handler("sigint"))
for i in range(2):
    os.kill(os.getpid(), signal.SIGINT)
    until(lambda: counts["sigint"] == i + 1, "SIGINT")

signal.signal(signal.SIGCHLD, handler("sigchld"))
for i in range(3):
    subprocess.run(["/bin/true"], check=True)
    until(lambda: counts["sigchld"] == i + 1, "SIGCHLD")

signal.signal(signal.SIGTERM, handler("late_sigterm"))
os.kill(os.getpid(), signal.SIGTERM)
until(lambda: counts["late_sigterm"] == 1, "the late SIGTERM handler")

libc = ctypes.CDLL(None)
libc.signal.restype = ctypes.c_void_p
libc.signal.argtypes = [ctypes.c_int, ctypes.c_void_p]
libc.signal(signal.SIGTERM, 1)  # SIG_IGN, set without sigaction
os.kill(os.getpid(), signal.SIGTERM)
app_signals_work(0.2)
counts["libc_sigterm"] = 1  # still alive: ignored

finished = []
signal.signal(signal.SIGTERM, lambda sig, frame: finished.append(sig))
os.kill(os.getpid(), signal.SIGTERM)
until(lambda: finished, "the last SIGTERM handler")
print(json.dumps(counts), flush=True)
sys.exit(42)
