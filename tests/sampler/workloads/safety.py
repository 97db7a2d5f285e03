"""Everything that must neither crash nor misattribute: 500 threads, threads dying mid-sample,
recursion 5,000 deep, code objects freed and reallocated (exec in a loop), a sub-interpreter
where the version has one, and daemon threads still running when the interpreter finalises."""
import sys
import threading
import time

sys.setrecursionlimit(20000)


def spin_until(cpu_seconds):
    end = time.thread_time() + cpu_seconds
    while time.thread_time() < end:
        pass


def many_threads():
    gate = threading.Event()
    threads = [threading.Thread(target=gate.wait) for _ in range(500)]
    for t in threads:
        t.start()
    time.sleep(0.8)
    gate.set()
    for t in threads:
        t.join()


def churn_threads():
    end = time.time() + 0.4
    while time.time() < end:
        batch = [threading.Thread(target=spin_until, args=(0.001,)) for _ in range(20)]
        for t in batch:
            t.start()
        for t in batch:
            t.join()


def deep_recursion(n):
    if n == 0:
        spin_until(1.0)  # a loaded machine's sampler (3.13t under ASan) once missed 0.3 s
        return
    deep_recursion(n - 1)


def exec_churn():
    # Each function is compiled, run and freed; the next one often reuses the address.
    end = time.time() + 0.5
    i = 0
    while time.time() < end:
        namespace = {"spin_until": spin_until}
        src = "\n" * (i % 5) + "def churn_%d():\n    spin_until(0.002)\n" % (i % 5)
        exec(compile(src, "churn_file_%d.py" % (i % 5), "exec"), namespace)
        namespace["churn_%d" % (i % 5)]()
        i += 1


def subinterpreter():
    try:
        import _xxsubinterpreters as interpreters
    except ImportError:
        try:
            import _interpreters as interpreters
        except ImportError:
            return
    interp = interpreters.create()
    code = ("import time\ndef sub_work():\n    end = time.thread_time() + 0.3\n"
            "    while time.thread_time() < end: pass\nsub_work()\n")
    if hasattr(interpreters, "run_string"):
        interpreters.run_string(interp, code)
    else:
        interpreters.exec(interp, code)
    interpreters.destroy(interp)


def forever():
    while True:
        spin_until(0.01)


jobs = [many_threads, churn_threads, exec_churn, subinterpreter,
        lambda: deep_recursion(5000)]
threads = [threading.Thread(target=j) for j in jobs]
for t in threads:
    t.start()
for t in threads:
    t.join()
# Still running when the interpreter finalises.
threading.Thread(target=forever, daemon=True).start()
time.sleep(0.05)
