"""Memory-profile overhead, side by side in one run, on an allocation-heavy workload
(memory_workload.py: 3 threads building and dropping small dicts, lists, objects and strings):
no profiler, libpodprof.so with CPU+wall only, libpodprof.so with memory+heap (defaults), and
ddtrace's profiler with DD_PROFILING_MEMORY_ENABLED=true.

(a) the workload threads' CPU time for the fixed work, repetitions interleaved (the order rotates
each round), medians, as ratios to the unprofiled run; (b) the instruction count of the whole
process under `valgrind --tool=callgrind` with the sampler thread idle (1 Hz), which is
deterministic. ddtrace comes from the bench venv that sampler_overhead.py builds.

    .venv/bin/python tests/bench/memory_overhead.py [--reps 7] [--no-callgrind]
"""
import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import hook_bench as hb  # noqa: E402
import sampler_overhead as so  # noqa: E402

WORKLOAD = Path(__file__).resolve().parent / "memory_workload.py"


def configs(lib, rate):
    podprof = {"LD_PRELOAD": str(lib), "DD_PROFILING_ENABLED": "true",
               "DD_PROFILING_SAMPLE_RATE": str(rate)}
    return [
        ("no profiler", [], {}),
        ("podprof CPU+wall", [], dict(podprof, DD_PROFILING_MEMORY_ENABLED="false")),
        ("podprof CPU+wall+memory+heap", [], podprof),
        ("ddtrace memory (+stack)", [str(so.VENV / "bin" / "ddtrace-run")],
         dict(hb.QUIET, DD_PROFILING_ENABLED="true", DD_PROFILING_MEMORY_ENABLED="true",
              DD_PROFILING_LOCK_ENABLED="false")),
    ]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--iterations", type=int, default=150000)
    ap.add_argument("--no-callgrind", action="store_true")
    args = ap.parse_args()
    python = so.ensure_venv()
    lib = so.BUILD / "lib" / "libpodprof.so"
    cfgs = configs(lib, 100)
    scratch = tempfile.mkdtemp(prefix="podprof-membench-")
    cpu = hb.interleaved(cfgs, args.reps, lambda name, prefix, env: json.loads(
        (hb.run(prefix, env, python, [WORKLOAD, 3, args.iterations], scratch) / "result.json")
        .read_text())["worker_cpu_s"])
    ir = {}
    if not args.no_callgrind:
        for name, prefix, env in configs(lib, 1):
            ir[name] = hb.callgrind_ir(prefix, env, python, scratch, (WORKLOAD, 3, 20000))
    print(f"CPython {hb.python_version(python)}, {args.reps} interleaved rounds, 3 threads x "
          f"{args.iterations} iterations\n")
    print(hb.overhead_table(cfgs, cpu, ir))

if __name__ == "__main__":
    main()
