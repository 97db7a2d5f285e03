"""Known behaviour for the sampler to find: a 3:1 CPU split between alpha and beta (each in its
own thread, measured by thread CPU time), a sleeping thread with a (non-ASCII) Python name, a
thread unknown to the threading module that only has an OS name, recursion, a stack deeper than
DD_PROFILING_MAX_FRAMES and a function with a non-ASCII name. Writes the lines the profile must
report to the JSON file named by argv[1]."""
import _thread
import atexit
import ctypes
import inspect
import json
import sys
import threading
import time

ALPHA_CPU, BETA_CPU = 0.45, 0.15


def spin_until(cpu_seconds, linger=0.0):
    end = time.thread_time() + cpu_seconds
    while time.thread_time() < end:
        pass
    time.sleep(linger)


# Each lingers, asleep, so that a pass reads its CPU clock after the spin: CPU a thread spends
# between the last pass and its end is in no sample, and a sampler thread starved on a loaded
# machine once left about 0.1 s of alpha's CPU there (a 0.70 share for 0.75).
def alpha():
    spin_until(ALPHA_CPU, linger=0.5)


def beta():
    spin_until(BETA_CPU, linger=0.5)


def sleeper():
    time.sleep(0.8)


def os_named(done):
    ctypes.CDLL(None).prctl(15, b"pp-os-named", 0, 0, 0)  # PR_SET_NAME: the OS thread name
    time.sleep(0.8)
    done.release()


def recurse(n):
    if n == 0:
        spin_until(0.1)
        return
    recurse(n - 1)


def deep(n):
    if n == 0:
        spin_until(0.1)
        return
    deep(n - 1)


def naïve_计算():
    spin_until(0.1)


# Latin-1 (compact, not ASCII) function name in a file whose name needs UCS-4.
_ns = {"spin_until": spin_until}
exec(compile("def café():\n    spin_until(0.1)\n", "fichier_😀.py", "exec"), _ns)
latin1_ucs4 = _ns["café"]


def call_line(func, callee):
    lines, start = inspect.getsourcelines(func)
    for i, text in enumerate(lines):
        if callee + "(" in text and not text.lstrip().startswith("def"):
            return start + i
    raise AssertionError(callee)


threads = [threading.Thread(target=alpha), threading.Thread(target=beta),
           threading.Thread(target=sleeper, name="pp-sleeper-é"),
           threading.Thread(target=recurse, args=(20,)),
           threading.Thread(target=deep, args=(100,)), threading.Thread(target=naïve_计算),
           threading.Thread(target=latin1_ucs4)]
# The library's first sampling pass has its atexit callback (the exit drain) registered on the
# main thread. What a thread already running at that pass spent until then is, by design, in no
# sample: started before it (an ASan interpreter is slow to start), alpha and beta once lost
# about 40 ms each, a 0.789 share for 0.75. So they start after it. (Nothing this script imports
# registers an atexit callback of its own; the pass may come before the script starts.)
deadline = time.monotonic() + 30
while atexit._ncallbacks() == 0 and time.monotonic() < deadline:
    time.sleep(0.002)
profiler_ready = atexit._ncallbacks() > 0

os_named_done = _thread.allocate_lock()
os_named_done.acquire()
_thread.start_new_thread(os_named, (os_named_done,))
for t in threads:
    t.start()
for t in threads:
    t.join()
os_named_done.acquire()
json.dump({"alpha_call": call_line(alpha, "spin_until"), "beta_call": call_line(beta, "spin_until"),
           "recurse_call": call_line(recurse, "recurse"), "file": __file__,
           "profiler_ready": profiler_ready}, open(sys.argv[1], "w"))
