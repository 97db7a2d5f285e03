"""The sampler thread's own CPU (target: ≤ 1 % of one core at 100 Hz with 8 threads × 50
frames), per CPython, measured inside the profiled process from the kernel's per-thread CPU clock:
in the steady state (from 0.5 s after the workload starts) and over the whole run.

For every pyenv CPython 3.8–3.13 the same workload (tests/bench/sampler_workload.py with 8 threads
and 50-deep stacks) runs with libpodprof.so at 100 Hz twice: with the budget lifted to 100 % (the
cost of a full-rate pass) and with the default 1 % budget (the rate the adaptive interval settles
at). Runs are interleaved across interpreters and libraries and medians are printed. `--lib` may
be given more than once to compare two builds of the library side by side in one run.

    .venv/bin/python tests/bench/sampler_thread_cpu.py [--reps 3] [--lib A.so --lib B.so]
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


def run(python, lib, budget_pct, rounds, chunk, tries=3):
    """One run's figures; a run that had no steady phase (the machine was too busy to start the
    workers in time, or the interpreter is fast) is run again, at most `tries` times."""
    for _ in range(tries):
        result = run_once(python, lib, budget_pct, rounds, chunk)
        if result:
            return result
    sys.exit(f"sampler_thread_cpu: {python}: the workload ended before the steady phase")


def run_once(python, lib, budget_pct, rounds, chunk):
    with tempfile.TemporaryDirectory() as d:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("DD_") and k != "LD_PRELOAD"}
        env.update({"LD_PRELOAD": str(lib), "DD_PROFILING_ENABLED": "true",
                    "DD_PROFILING_SAMPLE_RATE": str(RATE_HZ),
                    "DD_PROFILING_MAX_TIME_USAGE_PCT": str(budget_pct),
                    "DD_PROFILING_OUTPUT_PPROF": f"{d}/p", "BENCH_RESULT": f"{d}/result.json",
                    "BENCH_THREADS": str(THREADS), "BENCH_DEPTH": str(DEPTH),
                    "BENCH_STEADY_AFTER_S": str(STEADY_AFTER_S)})
        r = subprocess.run([str(python), str(WORKLOAD), str(rounds), str(chunk)], env=env,
                           capture_output=True, text=True)
        if r.returncode != 0:
            sys.exit(f"sampler_thread_cpu: {python} failed: {r.stderr[-2000:]}")
        result = json.loads(Path(d, "result.json").read_text())
        passes = sum(json.loads(p.read_text())["counters"].get("passes", 0)
                     for p in Path(d).glob("p.*.json"))
        if result["steady_elapsed_s"] is None:
            return None
        return {"cpu_pct": 100 * result["steady_other_threads_cpu_s"] / result["steady_elapsed_s"],
                "total_pct": 100 * result["other_threads_cpu_s"] / result["elapsed_s"],
                "rate_hz": passes / result["elapsed_s"]}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--lib", action="append", type=Path)
    ap.add_argument("--rounds", type=int, default=30, help="workload rounds per thread")
    ap.add_argument("--chunk", type=int, default=150000, help="leaf iterations per round")
    args = ap.parse_args()
    libs = args.lib or [BUILD / "lib" / "libpodprof.so"]
    for lib in libs:
        if not lib.exists():
            sys.exit(f"sampler_thread_cpu: {lib} missing (run make)")
    pys = pythons()
    results = {}
    for rep in range(args.reps):
        for _, py in pys:
            for lib in libs:
                for budget in (100, 1):
                    r = run(py, lib, budget, args.rounds, args.chunk)
                    results.setdefault((py, lib, budget), []).append(r)
        print(f"round {rep + 1}/{args.reps} done", file=sys.stderr)
    print(f"sampler thread CPU, {THREADS} threads x {DEPTH} frames, {RATE_HZ} Hz "
          f"(median of {args.reps}, % of one core)")
    print("| CPython | library | steady CPU at 100 Hz | whole run, start-up included "
          "| rate with the default 1 % budget |")
    print("|---|---|---|---|---|")
    for version, py in pys:
        for lib in libs:
            full = statistics.median(r["cpu_pct"] for r in results[(py, lib, 100)])
            total = statistics.median(r["total_pct"] for r in results[(py, lib, 100)])
            rate = statistics.median(r["rate_hz"] for r in results[(py, lib, 1)])
            print(f"| {version} | {lib.name if len(libs) == 1 else lib} | {full:.2f} % | "
                  f"{total:.2f} % | {rate:.0f} Hz |")


if __name__ == "__main__":
    main()
