"""The sampler thread's own CPU (target: ≤ 1 % of one core at 100 Hz with 8 threads × 50
frames), per CPython, measured inside the profiled process from the kernel's per-thread CPU clock:
in the steady state (from 0.5 s after the workload starts) and over the whole run.

For every pyenv CPython 3.8–3.13 the same workload (tests/bench/sampler_workload.py with 8 threads
and 50-deep stacks) runs with libpodprof.so at 100 Hz twice: with the budget lifted to 100 % (the
cost of a full-rate pass) and with the default 1 % budget (the rate the adaptive interval settles
at). Runs are interleaved across interpreters and libraries and medians are printed. `--lib` may
be given more than once to compare two builds of the library side by side in one run; by default
the library of this checkout is compared with the one built from `--before` (a git revision,
default main, built from `git archive` into a temporary directory).

A second table gives what one thread sample costs, at 8 and 64 threads (`--threads`) x 50 frames
at 100 Hz with the budget lifted, over the whole run: the sampler's CPU (every thread that is not
the workload's) per sample, and the system calls and bytes the sampler thread spent reading the
process per sample, from the library's own counters (`read_calls`, `read_bytes`: a library without
them shows –). Samples include the idle main thread's, which costs almost nothing (its stack is
reused without a walk), so the figures are what a sample of every Python thread costs on average.

    .venv/bin/python tests/bench/sampler_thread_cpu.py [--reps 3] [--lib A.so --lib B.so]
        [--before REV] [--threads 8 --threads 64]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BUILD = Path(os.environ.get("PODPROF_BUILD", ROOT / "build")).resolve()
WORKLOAD = Path(__file__).resolve().parent / "sampler_workload.py"
THREADS, DEPTH, RATE_HZ = 8, 50, 100
STEADY_AFTER_S = 0.5  # start-up and the first look at each code object are not the steady cost
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "tests" / "sampler")]
from interpreters import all_pythons  # noqa: E402


def pythons():
    """[(name, executable)] in version order."""
    def order(name):  # 3.11.7 < debian (3.11) < 3.12.1 < 3.13.0 < 3.13t < 3.14
        if name == "debian":
            return [3, 11, 99]
        return [int(d) for d in name.rstrip("t").split(".")] + [int(name.endswith("t"))]
    return sorted(all_pythons().items(), key=lambda kv: order(kv[0]))


def build_before(rev, into):
    """libpodprof.so built from revision rev of this repository, in directory into."""
    src = Path(into) / "src"
    src.mkdir()
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", rev], capture_output=True,
                             check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(src)], input=archive, check=True)
    r = subprocess.run(["nice", "-n", "10", "make", "-s", "-C", str(src), "BUILD=build",
                        "build/lib/libpodprof.so"], capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"sampler_thread_cpu: building {rev} failed: {r.stderr[-2000:]}")
    return src / "build" / "lib" / "libpodprof.so"


def run(python, lib, budget_pct, rounds, chunk, threads=THREADS, tries=3):
    """One run's figures; a run that had no steady phase (the machine was too busy to start the
    workers in time, or the interpreter is fast) is run again, at most `tries` times."""
    for _ in range(tries):
        result = run_once(python, lib, budget_pct, rounds, chunk, threads)
        if result:
            return result
    sys.exit(f"sampler_thread_cpu: {python}: the workload ended before the steady phase")


def run_once(python, lib, budget_pct, rounds, chunk, threads):
    with tempfile.TemporaryDirectory() as d:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("DD_") and k != "LD_PRELOAD"}
        env.update({"LD_PRELOAD": str(lib), "DD_PROFILING_ENABLED": "true",
                    "DD_PROFILING_SAMPLE_RATE": str(RATE_HZ),
                    "DD_PROFILING_MAX_TIME_USAGE_PCT": str(budget_pct),
                    "DD_PROFILING_OUTPUT_PPROF": f"{d}/p", "BENCH_RESULT": f"{d}/result.json",
                    "BENCH_THREADS": str(threads), "BENCH_DEPTH": str(DEPTH),
                    "BENCH_STEADY_AFTER_S": str(STEADY_AFTER_S)})
        r = subprocess.run([str(python), str(WORKLOAD), str(rounds), str(chunk)], env=env,
                           capture_output=True, text=True)
        if r.returncode != 0:
            sys.exit(f"sampler_thread_cpu: {python} failed: {r.stderr[-2000:]}")
        result = json.loads(Path(d, "result.json").read_text())
        # counters are cumulative per process: the last profile's are the whole run's
        metas = [json.loads(p.read_text()) for p in Path(d).glob("p.*.json")]
        counters = max((m["counters"] for m in metas), key=lambda c: c.get("passes", 0),
                       default={})
        if result["steady_elapsed_s"] is None and threads == THREADS:
            return None  # the per-sample figures of other thread counts use the whole run only
        steady = result["steady_elapsed_s"] or None
        samples = counters.get("samples", 0) or None
        per_sample = (lambda v: None if v is None or samples is None else v / samples)
        return {"cpu_pct": steady and 100 * result["steady_other_threads_cpu_s"] / steady,
                "total_pct": 100 * result["other_threads_cpu_s"] / result["elapsed_s"],
                "rate_hz": counters.get("passes", 0) / result["elapsed_s"],
                "us_per_sample": per_sample(1e6 * result["other_threads_cpu_s"]),
                "reads_per_sample": per_sample(counters.get("read_calls")),
                "bytes_per_sample": per_sample(counters.get("read_bytes"))}


def median(values, fmt):
    values = [v for v in values if v is not None]
    return fmt.format(statistics.median(values)) if values else "–"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--lib", action="append", type=Path)
    ap.add_argument("--before", default="main",
                    help="git revision whose library is compared (when no --lib is given)")
    ap.add_argument("--threads", action="append", type=int,
                    help="thread counts of the per-sample table (default 8 and 64)")
    ap.add_argument("--python", action="append",
                    help="only these interpreters (names as printed, e.g. 3.12.1)")
    ap.add_argument("--rounds", type=int, default=30, help="workload rounds per thread")
    ap.add_argument("--chunk", type=int, default=150000, help="leaf iterations per round")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        libs = args.lib or [build_before(args.before, scratch), BUILD / "lib" / "libpodprof.so"]
        names = {lib: (args.before if not args.lib and i == 0 else
                       "this checkout" if not args.lib else str(lib))
                 for i, lib in enumerate(libs)}
        for lib in libs:
            if not lib.exists():
                sys.exit(f"sampler_thread_cpu: {lib} missing (run make)")
        measure(args, libs, names, args.threads or [THREADS, 64])


def measure(args, libs, names, thread_counts):
    pys = [(v, py) for v, py in pythons() if not args.python or v in args.python]
    results = {}
    for rep in range(args.reps):
        for _, py in pys:
            for lib in libs:
                for threads in thread_counts:
                    # the same work in all: fewer rounds per thread when there are more threads
                    rounds = max(2, args.rounds * THREADS // threads)
                    for budget in ((100, 1) if threads == THREADS else (100,)):
                        r = run(py, lib, budget, rounds, args.chunk, threads)
                        results.setdefault((py, lib, budget, threads), []).append(r)
        print(f"round {rep + 1}/{args.reps} done", file=sys.stderr)
    if THREADS in thread_counts:
        print(f"sampler thread CPU, {THREADS} threads x {DEPTH} frames, {RATE_HZ} Hz "
              f"(median of {args.reps}, % of one core)")
        print("| CPython | library | steady CPU at 100 Hz | whole run, start-up included "
              "| rate with the default 1 % budget |")
        print("|---|---|---|---|---|")
        for version, py in pys:
            for lib in libs:
                full = results[(py, lib, 100, THREADS)]
                print(f"| {version} | {names[lib]} | {median([r['cpu_pct'] for r in full], '{:.2f}')} %"
                      f" | {median([r['total_pct'] for r in full], '{:.2f}')} % | "
                      f"{median([r['rate_hz'] for r in results[(py, lib, 1, THREADS)]], '{:.0f}')}"
                      " Hz |")
        print()
    print(f"one thread sample, {DEPTH} frames, {RATE_HZ} Hz, budget lifted, whole run "
          f"(median of {args.reps})")
    print("| CPython | threads | library | sampler CPU per sample | reads per sample "
          "| bytes copied per sample |")
    print("|---|---|---|---|---|---|")
    for version, py in pys:
        for threads in thread_counts:
            for lib in libs:
                rs = results[(py, lib, 100, threads)]
                print(f"| {version} | {threads} | {names[lib]} | "
                      f"{median([r['us_per_sample'] for r in rs], '{:.1f}')} µs | "
                      f"{median([r['reads_per_sample'] for r in rs], '{:.2f}')} | "
                      f"{median([r['bytes_per_sample'] for r in rs], '{:.0f}')} |")


if __name__ == "__main__":
    main()
