"""What real services do to the process the library lives in, one case per argv[1]; each checks
its own results and prints them as JSON (the test compares them with what they must be), and
spends its CPU in functions named stress_<case>_* for the test to find in the profile.

    threads     500 threads started and ended in 5 waves of 100
    recursion   a call chain 5,000 deep, 1 s of CPU at its bottom
    exec_churn  8,000 functions compiled, called and freed (their code objects' addresses reused)
    fork_storm  100 forks from 4 threads while the sampler samples; the children end with
                os._exit (their own status) or sys.exit (which ends only the forking thread)
    daemon      double fork, setsid, every descriptor closed, 2 s of CPU, the result written to
                argv[2]
"""
import json
import os
import sys
import threading
import time


def spin(cpu_seconds):
    end = time.thread_time() + cpu_seconds
    while time.thread_time() < end:
        pass


def stress_threads_work(i, results):
    spin(0.002)
    results[i] = i * i


def threads():
    results = [None] * 500
    for wave in range(5):
        batch = [threading.Thread(target=stress_threads_work, args=(wave * 100 + k, results))
                 for k in range(100)]
        for t in batch:
            t.start()
        for t in batch:
            t.join()
    return {"threads": sum(1 for i, r in enumerate(results) if r == i * i),
            "alive": threading.active_count()}


def stress_recursion_down(n):
    if n == 0:
        spin(1.0)
        return 0
    return 1 + stress_recursion_down(n - 1)


def recursion():
    sys.setrecursionlimit(20000)
    return {"depth": stress_recursion_down(5000)}


def exec_churn():
    total = 0
    for i in range(8000):
        namespace = {}
        source = "def stress_exec_churn_%d(x):\n    return x * %d\n" % (i % 7, i)
        exec(compile(source, "stress_churn_%d.py" % (i % 7), "exec"), namespace)
        total += namespace["stress_exec_churn_%d" % (i % 7)](2)
    return {"total": total, "expected": sum(2 * i for i in range(8000))}


def stress_fork_storm_child(k):
    spin(0.001)
    return k * 3 % 256


def fork_storm():
    outcomes = {"ok": 0, "hung": 0, "bad": 0}
    lock = threading.Lock()

    # No thread starts or ends while another forks: under ASan (GCC 12's runtime, whose allocator
    # has no fork handlers) a thread starting or ending is inside the allocator without the GIL,
    # and a child forked at that moment inherits its lock held and hangs at its first allocation
    # of that size, with or without the library. The storm is about the library's own thread.
    started = threading.Barrier(5)  # the forkers and the burner
    finished = threading.Barrier(4)

    def forker(base):
        started.wait()
        forker_loop(base)
        finished.wait()

    def forker_loop(base):
        for k in range(base, base + 25):
            r, w = os.pipe()
            pid = os.fork()
            if pid == 0:
                os.close(r)
                value = stress_fork_storm_child(k)
                os.write(w, b"%d\n" % value)
                if k % 2:
                    os._exit(value)
                sys.exit(value)
            os.close(w)
            got = b""
            while True:
                chunk = os.read(r, 64)
                if not chunk:
                    break
                got += chunk
            os.close(r)
            deadline = time.monotonic() + 20
            status = None
            while time.monotonic() < deadline:
                done, status = os.waitpid(pid, os.WNOHANG)
                if done:
                    break
                time.sleep(0.001)
            else:
                os.kill(pid, 9)
                os.waitpid(pid, 0)
                with lock:
                    outcomes["hung"] += 1
                continue
            value = k * 3 % 256
            # sys.exit in a child forked from a thread ends only that thread (threading swallows
            # SystemExit); the process then ends with its last thread, status 0. The library's
            # thread must not keep such a process alive.
            want = value if k % 2 else 0
            good = os.WIFEXITED(status) and os.WEXITSTATUS(status) == want and \
                got == b"%d\n" % value
            with lock:
                outcomes["ok" if good else "bad"] += 1

    stop = threading.Event()

    def stress_fork_storm_burn():
        started.wait()
        while not stop.is_set():
            spin(0.005)

    burner = threading.Thread(target=stress_fork_storm_burn)
    burner.start()
    forkers = [threading.Thread(target=forker, args=(25 * i,)) for i in range(4)]
    for t in forkers:
        t.start()
    for t in forkers:
        t.join()
    stop.set()
    burner.join()
    return outcomes


def stress_daemon_work():
    spin(2.0)
    return sum(range(1000))


def daemon():
    result_path = sys.argv[2]
    if os.fork():
        os._exit(0)  # the caller's child returns at once, like `celery --detach`
    os.setsid()
    if os.fork():
        os._exit(0)
    os.chdir("/")
    os.closerange(0, 65536)
    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(null, 1)
    os.dup2(null, 2)
    value = stress_daemon_work()
    tmp = result_path + ".tmp"
    with open(tmp, "w") as f:
        json.dump({"pid": os.getpid(), "value": value}, f)
    os.rename(tmp, result_path)
    sys.exit(0)


if __name__ == "__main__":
    print(json.dumps(globals()[sys.argv[1]]()), flush=True)
