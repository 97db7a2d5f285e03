"""GIL-wait-profile overhead, side by side in one run, on a GIL-switch-heavy workload
(gil_workload.py: four threads each handing the GIL over on every round with time.sleep(0)): no
profiler, libpodprof.so with CPU+wall only (GIL waits off), and with CPU+wall+GIL waits. Memory
and exception profiles are off in every configuration; no other profiler has a GIL wait profile.

(a) the workers' summed CPU time for the fixed work, repetitions interleaved (the order rotates
each round), medians, as ratios to the unprofiled run, with the wall time of the threaded part
for reference; (b) the instruction count of the whole process under `valgrind --tool=callgrind`
with the sampler thread idle (1 Hz), deterministic.

    .venv/bin/python tests/bench/gil_overhead.py [--python PATH] [--reps 7] [--no-callgrind]
"""
import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import memory_overhead as mo  # noqa: E402
import sampler_overhead as so  # noqa: E402

WORKLOAD = Path(__file__).resolve().parent / "gil_workload.py"


def default_python():
    root = subprocess.run(["pyenv", "root"], capture_output=True, text=True).stdout.strip()
    return str(Path(root or Path.home() / ".pyenv") / "versions" / "3.12.1" / "bin" / "python3")


def configs(lib, rate):
    podprof = {"LD_PRELOAD": str(lib), "DD_PROFILING_ENABLED": "true",
               "DD_PROFILING_SAMPLE_RATE": str(rate), "DD_PROFILING_MEMORY_ENABLED": "false",
               "DD_PROFILING_EXCEPTION_ENABLED": "false"}
    return [
        ("no profiler", [], {}),
        ("podprof CPU+wall", [], dict(podprof, DD_PROFILING_GIL_ENABLED="false")),
        ("podprof CPU+wall+GIL", [], dict(podprof, DD_PROFILING_GIL_ENABLED="true")),
    ]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--python", default=default_python())
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--iterations", type=int, default=30000)
    ap.add_argument("--no-callgrind", action="store_true")
    args = ap.parse_args()
    lib = so.BUILD / "lib" / "libpodprof.so"
    cfgs = configs(lib, 100)
    scratch = tempfile.mkdtemp(prefix="podprof-gilbench-")
    cpu = {name: [] for name, _, _ in cfgs}
    wall = {name: [] for name, _, _ in cfgs}
    for rep in range(args.reps):
        order = cfgs[rep % len(cfgs):] + cfgs[:rep % len(cfgs)]
        for name, prefix, env in order:
            d = mo.run(prefix, env, args.python, [WORKLOAD, args.iterations], scratch)
            result = json.loads((d / "result.json").read_text())
            cpu[name].append(result["worker_cpu_s"])
            wall[name].append(result["wall_s"])
        so.log(f"bench: round {rep + 1}/{args.reps} done")
    base = statistics.median(cpu["no profiler"])
    ir = {}
    if not args.no_callgrind:
        for name, prefix, env in configs(lib, 1):
            ir[name] = mo.callgrind_ir(prefix, env, args.python, scratch,
                                       (WORKLOAD, args.iterations // 20))
    version = subprocess.run([args.python, "-c", "import sys; print(sys.version.split()[0])"],
                             capture_output=True, text=True).stdout.strip()
    print(f"CPython {version}, {args.reps} interleaved rounds, 4 threads x {args.iterations} "
          "GIL hand-overs\n")
    print("| configuration | workers' CPU (median) | vs none | wall (median) | "
          "instructions (callgrind) | vs none |")
    print("|---|---|---|---|---|---|")
    for name, _, _ in cfgs:
        med = statistics.median(cpu[name])
        irs = f"{ir[name] / 1e9:.3f} G | {ir[name] / ir['no profiler']:.3f}" if ir else "- | -"
        print(f"| {name} | {med:.3f} s | {med / base:.3f} | {statistics.median(wall[name]):.2f} s "
              f"| {irs} |")


if __name__ == "__main__":
    main()
