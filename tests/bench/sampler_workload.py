"""The CPU-bound workload the overhead benchmarks profile: 4 threads ($BENCH_THREADS), each
repeatedly descending through 40 ($BENCH_DEPTH) distinct Python functions to one of two leaf loops,
for a fixed amount of work.

It measures itself and writes one JSON object to $BENCH_RESULT: the elapsed wall time of the
work, its own CPU, the CPU of every thread that is not one of its own (an in-process profiler's
sampler and helper threads), and its peak RSS."""
import json
import os
import sys
import threading
import time

DEPTH = int(os.environ.get("BENCH_DEPTH", "40"))
THREADS = int(os.environ.get("BENCH_THREADS", "4"))


def leaf_a(n):
    x = 0
    for i in range(n):
        x += i * i % 7
    return x


def leaf_b(n):
    x = 1
    for i in range(n):
        x = (x * 31 + i) % 1000003
    return x


def make_chain():
    """level_0 -> level_1 -> ... -> level_39 -> leaf, distinct code objects with real lines."""
    src = []
    for i in range(DEPTH):
        callee = f"level_{i + 1}" if i + 1 < DEPTH else "chain_end"
        src.append(f"def level_{i}(n, leaf_fn):\n    return {callee}(n, leaf_fn) + 1\n")
    src.append("def chain_end(n, leaf_fn):\n    return leaf_fn(n)\n")
    ns = {}
    exec(compile("\n".join(src), __file__ + ":chain", "exec"), ns)
    return ns["level_0"]


def worker(top, rounds, chunk, ids, done, index, start, first_done):
    ids[index] = threading.get_native_id()
    start.wait()  # every worker begins together
    for r in range(rounds):
        top(chunk, leaf_a if r % 2 == 0 else leaf_b)
    with first_done["lock"]:
        if not any(done):
            # the steady phase ends when the first worker does: the load changes after that
            first_done["at"] = (time.perf_counter(), others_cpu(set(ids) | {first_done["main"]}))
    done[index] = True


def thread_cpu(tid):
    """CPU seconds of any thread of this process, from its kernel CPU clock."""
    try:
        return time.clock_gettime(((~tid) << 3) | 6)
    except OSError:
        return 0.0


def others_cpu(mine):
    """CPU seconds of the threads that are not the workload's own."""
    total = 0.0
    for name in os.listdir("/proc/self/task"):
        tid = int(name)
        if tid not in mine:
            total += thread_cpu(tid)
    return total


def status_kb(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 40
    chunk = int(sys.argv[2]) if len(sys.argv) > 2 else 20000
    top = make_chain()
    ids, done = [0] * THREADS, [False] * THREADS
    start = threading.Barrier(THREADS + 1)
    first_done = {"lock": threading.Lock(), "at": None, "main": threading.get_native_id()}
    threads = [threading.Thread(target=worker,
                                args=(top, rounds, chunk, ids, done, i, start, first_done),
                                name=f"worker-{i}") for i in range(THREADS)]
    # $BENCH_STEADY_AFTER_S: the other threads' CPU is also measured from that long after the
    # workers start together, when whatever they do once (a profiler's start-up, its first look at
    # the code) is past, until the first worker ends.
    steady_after = float(os.environ.get("BENCH_STEADY_AFTER_S", "0"))
    for t in threads:
        t.start()
    start.wait()
    cpu0 = time.process_time()
    t0 = time.perf_counter()
    steady = None
    if steady_after > 0:
        time.sleep(steady_after)
        if not any(done):
            mine = set(ids) | {threading.get_native_id()}
            steady = (time.perf_counter(), others_cpu(mine))
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    end = time.perf_counter()
    if not all(done):
        sys.exit("sampler_workload: a worker thread failed")
    cpu = time.process_time() - cpu0
    mine = set(ids) | {threading.get_native_id()}
    if steady and first_done["at"][0] <= steady[0]:
        steady = None  # a worker ended while the steady phase was being entered
    others = others_cpu(mine)
    result = {
        "elapsed_s": elapsed,
        "process_cpu_s": cpu,
        "other_threads_cpu_s": others,
        "steady_elapsed_s": first_done["at"][0] - steady[0] if steady else None,
        "steady_other_threads_cpu_s": first_done["at"][1] - steady[1] if steady else None,
        "vmhwm_kb": status_kb("VmHWM"),
        "threads": len(os.listdir("/proc/self/task")),
    }
    path = os.environ.get("BENCH_RESULT")
    if path:
        with open(path, "w") as f:
            json.dump(result, f)
    else:
        print(json.dumps(result))


if __name__ == "__main__":
    main()
