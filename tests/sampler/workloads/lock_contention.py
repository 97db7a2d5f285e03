"""Lock contention of a known shape, measured by the workload itself.

`contended` (argv[2]): for each kind of lock, a holder thread takes it (or makes the waiter wait
for a notification, a release or an item) for HOLD seconds ROUNDS times while a waiter thread
keeps asking for it; each waiter times its own blocking calls, each holder the time it held a
Lock, RLock or Condition. `uncontended`: one thread takes and releases a Lock COUNT times, in
bursts. `dropped`: DROPPED locks are taken and freed while held, then as many new ones (at the
same addresses, mostly) are taken and released at once. `methods`: which lock methods' C
functions lie in libpodprof.so (wrapped). `late_thread`: the same, when _thread was out of
sys.modules (a sitecustomize of the test's moved it to sys._podprof_test_thread) until the
library's first try to wrap them had run. Writes the truth, per function, to argv[1]. A line
marked `# site:NAME` is where NAME's lock is taken."""
import ctypes
import json
import os
import queue
import sys
import sysconfig
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
import hooks_ready  # noqa: E402

if sys.argv[2] == "late_thread":
    # the installers' first try has run once the memory hooks are in: put _thread back, before
    # threading imports it again
    hooks_ready.wait_for_hooks(required=True)
    sys.modules["_thread"] = sys._podprof_test_thread
import threading  # noqa: E402

out, mode = sys.argv[1], sys.argv[2]
HOLD, ROUNDS, COUNT, DROPPED = 0.02, 15, 200_000, 100
waited, held = {}, {}
now = time.monotonic


def keep_asking(name, ask, stop):
    total = 0.0
    while not stop.is_set():
        total += ask()
        time.sleep(0.001)
    waited[name] = total


lock, rlock = threading.Lock(), threading.RLock()
cond = threading.Condition()
sem, bounded = threading.Semaphore(0), threading.BoundedSemaphore(1)
items = queue.Queue()


def wait_lock():
    t0 = now()
    lock.acquire()  # site:wait_lock
    t = now() - t0
    lock.release()
    return t


def hold_lock():
    total = 0.0
    for _ in range(ROUNDS):
        lock.acquire()
        t0 = now()
        time.sleep(HOLD)
        total += now() - t0
        lock.release()  # site:hold_lock
        time.sleep(HOLD / 4)
    held["hold_lock"] = total


def wait_rlock():
    t0 = now()
    with rlock:  # site:wait_rlock
        return now() - t0


def hold_rlock():
    total = 0.0
    for _ in range(ROUNDS):
        rlock.acquire()
        rlock.acquire()  # nested: one semaphore acquisition
        t0 = now()
        time.sleep(HOLD)
        total += now() - t0
        rlock.release()
        rlock.release()  # site:hold_rlock
        time.sleep(HOLD / 4)
    held["hold_rlock"] = total


def wait_condition():
    with cond:
        t0 = now()
        cond.wait(timeout=5)  # site:wait_condition
        return now() - t0


def notify_condition():
    total = 0.0
    for _ in range(ROUNDS):
        time.sleep(HOLD)
        cond.acquire()
        cond.notify_all()
        t0 = now()
        time.sleep(HOLD / 2)  # the woken waiter needs the lock back: it waits too
        total += now() - t0
        cond.release()  # site:notify_condition
    held["notify_condition"] = total


def wait_semaphore():
    t0 = now()
    sem.acquire()  # site:wait_semaphore
    return now() - t0


def release_semaphore():
    for _ in range(ROUNDS):
        time.sleep(HOLD)
        sem.release()


def wait_bounded_semaphore():
    t0 = now()
    bounded.acquire()  # site:wait_bounded_semaphore
    t = now() - t0
    bounded.release()
    return t


def hold_bounded_semaphore():
    for _ in range(ROUNDS):
        with bounded:
            time.sleep(HOLD)
        time.sleep(HOLD / 4)


def wait_queue():
    t0 = now()
    items.get()  # site:wait_queue
    return now() - t0


def put_queue():
    for i in range(ROUNDS):
        time.sleep(HOLD)
        items.put(i)  # site:put_queue


PAIRS = [(wait_lock, hold_lock), (wait_rlock, hold_rlock), (wait_condition, notify_condition),
         (wait_semaphore, release_semaphore), (wait_bounded_semaphore, hold_bounded_semaphore),
         (wait_queue, put_queue)]


def contend(wait, hold):
    stop = threading.Event()
    waiter = threading.Thread(target=keep_asking, args=(wait.__name__, wait, stop))
    holder = threading.Thread(target=hold)
    holder.start()
    waiter.start()
    holder.join()
    stop.set()
    # a waiter left blocked: let it through
    if wait is wait_semaphore:
        sem.release()
    elif wait is wait_queue:
        items.put(None)
    elif wait is wait_condition:
        with cond:
            cond.notify_all()
    waiter.join()


def count_uncontended():
    # in bursts of a thousand (5 M/s on this machine), 1 ms apart
    for _ in range(COUNT // 1000):
        for _ in range(1000):
            with lock:  # site:count_uncontended
                pass
        time.sleep(0.001)


def drop_held():
    held_locks = [threading.Lock() for _ in range(DROPPED)]
    for one in held_locks:
        one.acquire()
    time.sleep(0.5)
    del held_locks  # freed while held: their sampled acquisitions must be forgotten


def take_fresh():
    fresh = [threading.Lock() for _ in range(DROPPED)]
    for one in fresh:
        one.acquire()
        one.release()  # site:take_fresh


def wrapped_methods():
    """{"type.method": True when the method's C function lies in libpodprof.so}."""
    ranges = hooks_ready.library_ranges()
    # a method descriptor: the object header, d_type, d_name, d_qualname, then d_method, whose
    # second word is ml_meth
    d_method_at = object.__basicsize__ + 3 * ctypes.sizeof(ctypes.c_void_p)
    found = {}
    for kind in (threading.Lock, threading.RLock):
        t = type(kind())
        for name in ("acquire", "__enter__", "release", "__exit__"):
            descr = t.__dict__[name]
            d_method = ctypes.c_void_p.from_address(id(descr) + d_method_at).value
            meth = ctypes.c_void_p.from_address(d_method + ctypes.sizeof(ctypes.c_void_p)).value
            found["%s.%s" % (t.__name__, name)] = any(lo <= meth < hi for lo, hi in ranges)
    return found


def wait_for_lock_hooks(expect):
    """Until the installers ran (the memory hooks are in place) and, from 3.13 when expected,
    the lock methods are wrapped (a free-threaded build may run the installers on another
    thread, one after the other)."""
    hooks_ready.wait_for_hooks(required=True)
    end = now() + 60
    while expect and sys.version_info >= (3, 13) and not all(wrapped_methods().values()):
        if now() > end:
            sys.exit("the lock methods were not wrapped")
        time.sleep(0.01)


def warm_up():
    """Runs bytecode for a second first: the profiler installs its hooks from a call the
    interpreter runs between two instructions (within 0.2 s otherwise, through another thread),
    and the phases start with the main thread blocked in join()."""
    t0 = now()
    while now() - t0 < 1.0:
        pass


def main():
    warm_up()
    if mode in ("methods", "late_thread"):
        expect = os.environ.get("DD_PROFILING_LOCK_ENABLED", "true") == "true"
        wait_for_lock_hooks(expect)
        truth = {"wrapped": wrapped_methods()}
    elif mode == "dropped":
        wait_for_lock_hooks(True)
        drop_held()
        take_fresh()
        # and exit at once: the records are named at exit, before finalization frees their code
        # (without that, 3.14 named all 100 "<code freed before it was named>" in 1 run of 4)
        truth = {"released": {"take_fresh": DROPPED}}
    elif mode == "contended":
        for wait, hold in PAIRS:
            contend(wait, hold)
        truth = {"waited": waited, "held": held}
    else:
        count_uncontended()
        truth = {"acquired": {"count_uncontended": COUNT}}
    truth["version"] = list(sys.version_info[:2])
    truth["free_threaded"] = bool(sysconfig.get_config_var("Py_GIL_DISABLED"))
    with open(out, "w") as f:
        json.dump(truth, f)


main()
