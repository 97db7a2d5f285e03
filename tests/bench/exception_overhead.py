"""Exception-profile overhead, side by side in one run, on an exception-heavy workload
(exception_workload.py: one thread raising and catching ValueError two calls down): no profiler,
libpodprof.so with CPU+wall only, libpodprof.so with CPU+wall+exceptions (default interval 100),
ddtrace's stack profiler, and ddtrace's stack+exception profilers (DD_PROFILING_EXCEPTION_ENABLED).
Memory and lock profiles are off in every configuration.

(a) the worker thread's CPU time for the fixed work, repetitions interleaved (the order rotates
each round), medians, as ratios to the unprofiled run; (b) the instruction count of the whole
process under `valgrind --tool=callgrind` with the sampler thread idle (1 Hz), deterministic (for
ddtrace dominated by its own import). ddtrace comes from the bench venv that sampler_overhead.py
builds (CPython 3.12 or later: exception profiles need sys.monitoring).

    .venv/bin/python tests/bench/exception_overhead.py [--reps 7] [--no-callgrind]
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

WORKLOAD = Path(__file__).resolve().parent / "exception_workload.py"


def configs(lib, rate):
    podprof = {"LD_PRELOAD": str(lib), "DD_PROFILING_ENABLED": "true",
               "DD_PROFILING_SAMPLE_RATE": str(rate), "DD_PROFILING_MEMORY_ENABLED": "false"}
    ddtrace = dict(mo.QUIET, DD_PROFILING_ENABLED="true", DD_PROFILING_MEMORY_ENABLED="false",
                   DD_PROFILING_LOCK_ENABLED="false")
    run = [str(so.VENV / "bin" / "ddtrace-run")]
    return [
        ("no profiler", [], {}),
        ("podprof CPU+wall", [], dict(podprof, DD_PROFILING_EXCEPTION_ENABLED="false")),
        ("podprof CPU+wall+exceptions", [], podprof),
        ("ddtrace stack", run, dict(ddtrace, DD_PROFILING_EXCEPTION_ENABLED="false")),
        ("ddtrace stack+exceptions", run, dict(ddtrace, DD_PROFILING_EXCEPTION_ENABLED="true")),
    ]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--iterations", type=int, default=1000000)
    ap.add_argument("--no-callgrind", action="store_true")
    args = ap.parse_args()
    python = so.ensure_venv()
    lib = so.BUILD / "lib" / "libpodprof.so"
    cfgs = configs(lib, 100)
    scratch = tempfile.mkdtemp(prefix="podprof-excbench-")
    cpu = {name: [] for name, _, _ in cfgs}
    for rep in range(args.reps):
        order = cfgs[rep % len(cfgs):] + cfgs[:rep % len(cfgs)]
        for name, prefix, env in order:
            d = mo.run(prefix, env, python, [WORKLOAD, args.iterations], scratch)
            cpu[name].append(json.loads((d / "result.json").read_text())["worker_cpu_s"])
        so.log(f"bench: round {rep + 1}/{args.reps} done")
    base = statistics.median(cpu["no profiler"])
    ir = {}
    if not args.no_callgrind:
        for name, prefix, env in configs(lib, 1):
            ir[name] = mo.callgrind_ir(prefix, env, python, scratch, (WORKLOAD, 100000))
    version = subprocess.run([str(python), "-c", "import sys; print(sys.version.split()[0])"],
                             capture_output=True, text=True).stdout.strip()
    print(f"CPython {version}, {args.reps} interleaved rounds, {args.iterations} raises\n")
    print("| configuration | worker CPU (median) | vs none | instructions (callgrind) | vs none |")
    print("|---|---|---|---|---|")
    for name, _, _ in cfgs:
        med = statistics.median(cpu[name])
        irs = f"{ir[name] / 1e9:.3f} G | {ir[name] / ir['no profiler']:.3f}" if ir else "- | -"
        print(f"| {name} | {med:.3f} s | {med / base:.3f} | {irs} |")


if __name__ == "__main__":
    main()
