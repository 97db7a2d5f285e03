"""Lock-profile overhead, side by side in one run, on a lock-heavy workload (lock_workload.py:
millions of uncontended acquire/release of a threading.Lock on one thread, then a producer and a
consumer handing items through a queue.Queue of 8): no profiler, libpodprof.so with every profile
type but locks, libpodprof.so with every type (its defaults: CPU, wall, exceptions, memory, GIL,
locks at a capture of 1 %), ddtrace with its defaults but the lock profiler, and ddtrace with its
defaults (lock profiler at its capture of 1 %).

(a) the worker threads' CPU time for the fixed work, repetitions interleaved (the order rotates
each round), medians, as ratios to the unprofiled run, for the whole and for each part; (b)
instructions per uncontended acquire/release under `valgrind --tool=callgrind` (sampler thread at
1 Hz): the whole process's count with the loop minus the count without it, divided by the
iterations, so start-up (ddtrace's import) cancels out; the instructions of the contended part
are not deterministic (valgrind runs one thread at a time and the hand-overs vary). ddtrace
comes from the bench venv that sampler_overhead.py builds (CPython 3.12 there: each lock has a
semaphore of its own, so podprof observes acquisitions, releases and holds at libc's sem_*
calls). With --python, another interpreter runs the podprof configurations only (no ddtrace
there): on 3.13+ podprof observes the locks at the wrapped methods of _thread.lock.

    .venv/bin/python tests/bench/lock_overhead.py [--reps 7] [--no-callgrind] [--python PATH]
"""
import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import hook_bench as hb  # noqa: E402
import sampler_overhead as so  # noqa: E402

WORKLOAD = Path(__file__).resolve().parent / "lock_workload.py"


def configs(lib, rate, with_ddtrace=True):
    podprof = {"LD_PRELOAD": str(lib), "DD_PROFILING_ENABLED": "true",
               "DD_PROFILING_SAMPLE_RATE": str(rate)}
    ddtrace = dict(hb.QUIET, DD_PROFILING_ENABLED="true")
    run = [str(so.VENV / "bin" / "ddtrace-run")]
    ours = [
        ("no profiler", [], {}),
        ("podprof all but locks", [], dict(podprof, DD_PROFILING_LOCK_ENABLED="false")),
        ("podprof all types", [], podprof),
    ]
    if not with_ddtrace:
        return ours
    return ours + [
        ("ddtrace all but locks", run, dict(ddtrace, DD_PROFILING_LOCK_ENABLED="false")),
        ("ddtrace all types", run, dict(ddtrace, DD_PROFILING_LOCK_ENABLED="true")),
    ]


def parts_table(cfgs, results):
    """Medians of each part's CPU, against no profiler."""
    base = {k: statistics.median(r[k] for r in results[cfgs[0][0]])
            for k in ("uncontended_cpu_s", "queue_cpu_s")}
    lines = ["| configuration | uncontended loop CPU | vs none | queue CPU | vs none |",
             "|---|---|---|---|---|"]
    for name, _, _ in cfgs:
        med = {k: statistics.median(r[k] for r in results[name]) for k in base}
        lines.append(f"| {name} | {med['uncontended_cpu_s']:.3f} s | "
                     f"{med['uncontended_cpu_s'] / base['uncontended_cpu_s']:.3f} | "
                     f"{med['queue_cpu_s']:.3f} s | {med['queue_cpu_s'] / base['queue_cpu_s']:.3f} |")
    return "\n".join(lines)


def per_iteration_table(cfgs, per_iter):
    base = per_iter[cfgs[0][0]]
    lines = ["| configuration | instructions per acquire/release | vs none |", "|---|---|---|"]
    for name, _, _ in cfgs:
        lines.append(f"| {name} | {per_iter[name]:.0f} | {per_iter[name] / base:.3f} |")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--uncontended", type=int, default=3000000)
    ap.add_argument("--items", type=int, default=100000)
    ap.add_argument("--callgrind-iterations", type=int, default=200000)
    ap.add_argument("--no-callgrind", action="store_true")
    ap.add_argument("--python", help="this interpreter instead, podprof configurations only")
    args = ap.parse_args()
    python = Path(args.python) if args.python else so.ensure_venv()
    with_ddtrace = not args.python
    lib = so.BUILD / "lib" / "libpodprof.so"
    cfgs = configs(lib, 100, with_ddtrace)
    scratch = tempfile.mkdtemp(prefix="podprof-lockbench-")
    results = hb.interleaved(cfgs, args.reps, lambda name, prefix, env: json.loads(
        (hb.run(prefix, env, python, [WORKLOAD, args.uncontended, args.items], scratch)
         / "result.json").read_text()))
    cpu = {name: [r["worker_cpu_s"] for r in rs] for name, rs in results.items()}
    per_iter = {}
    if not args.no_callgrind:
        n = args.callgrind_iterations
        for name, prefix, env in configs(lib, 1, with_ddtrace):
            with_loop = hb.callgrind_ir(prefix, env, python, scratch, (WORKLOAD, n, 0))
            without = hb.callgrind_ir(prefix, env, python, scratch, (WORKLOAD, 0, 0))
            per_iter[name] = (with_loop - without) / n
    print(f"CPython {hb.python_version(python)}, {args.reps} interleaved rounds, "
          f"{args.uncontended} uncontended acquire/release, {args.items} items through the "
          f"queue\n")
    print(hb.overhead_table(cfgs, cpu, {}))
    print()
    print(parts_table(cfgs, results))
    if per_iter:
        print()
        print(per_iteration_table(cfgs, per_iter))


if __name__ == "__main__":
    main()
