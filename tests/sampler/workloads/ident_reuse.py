"""A thread unknown to `threading` (started with _thread, named only by the OS) ends, and a
threading.Thread then gets the same pthread_t ident (glibc reuses the cached stack, and the ident
is the address of the thread's descriptor on it). Each runs its own function on CPU. Retries until
the ident is reused (at most 10 times); writes {"reused": bool} to argv[1]."""
import _thread
import ctypes
import json
import os
import sys
import threading
import time


def spin(cpu_seconds):
    end = time.thread_time() + cpu_seconds
    while time.thread_time() < end:
        pass


def first(out):
    ctypes.CDLL(None).prctl(15, b"pp-first", 0, 0, 0)  # PR_SET_NAME
    out["ident"], out["tid"] = _thread.get_ident(), threading.get_native_id()
    spin(1.5)  # past the library's 1 s re-read of OS names, had it sampled us before the prctl
    out["lock"].release()


def second(out):
    out["ident"] = _thread.get_ident()
    spin(0.2)


reused = False
for _ in range(10):
    a = {"lock": _thread.allocate_lock()}
    a["lock"].acquire()
    _thread.start_new_thread(first, (a,))
    a["lock"].acquire()
    while os.path.exists("/proc/self/task/%d" % a["tid"]):  # until it has fully exited
        time.sleep(0.005)
    b = {}
    t = threading.Thread(target=second, args=(b,), name="pp-second")
    t.start()
    t.join()
    if b["ident"] == a["ident"]:
        reused = True
        break
json.dump({"reused": reused}, open(sys.argv[1], "w"))
