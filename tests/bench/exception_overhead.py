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
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import hook_bench as hb  # noqa: E402
import sampler_overhead as so  # noqa: E402

WORKLOAD = Path(__file__).resolve().parent / "exception_workload.py"


def configs(lib, rate):
    podprof = {"LD_PRELOAD": str(lib), "DD_PROFILING_ENABLED": "true",
               "DD_PROFILING_SAMPLE_RATE": str(rate), "DD_PROFILING_MEMORY_ENABLED": "false"}
    ddtrace = dict(hb.QUIET, DD_PROFILING_ENABLED="true", DD_PROFILING_MEMORY_ENABLED="false",
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
    cpu = hb.interleaved(cfgs, args.reps, lambda name, prefix, env: json.loads(
        (hb.run(prefix, env, python, [WORKLOAD, args.iterations], scratch) / "result.json")
        .read_text())["worker_cpu_s"])
    ir = {}
    if not args.no_callgrind:
        for name, prefix, env in configs(lib, 1):
            ir[name] = hb.callgrind_ir(prefix, env, python, scratch, (WORKLOAD, 100000))
    print(f"CPython {hb.python_version(python)}, {args.reps} interleaved rounds, "
          f"{args.iterations} raises\n")
    print(hb.overhead_table(cfgs, cpu, ir))

if __name__ == "__main__":
    main()
