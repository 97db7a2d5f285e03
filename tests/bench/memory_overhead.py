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
import os
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import sampler_overhead as so  # noqa: E402

WORKLOAD = Path(__file__).resolve().parent / "memory_workload.py"
QUIET = {"DD_INSTRUMENTATION_TELEMETRY_ENABLED": "false",
         "DD_REMOTE_CONFIGURATION_ENABLED": "false", "DD_TRACE_ENABLED": "false"}


def configs(lib, rate):
    podprof = {"LD_PRELOAD": str(lib), "DD_PROFILING_ENABLED": "true",
               "DD_PROFILING_SAMPLE_RATE": str(rate)}
    return [
        ("no profiler", [], {}),
        ("podprof CPU+wall", [], dict(podprof, DD_PROFILING_MEMORY_ENABLED="false")),
        ("podprof CPU+wall+memory+heap", [], podprof),
        ("ddtrace memory (+stack)", [str(so.VENV / "bin" / "ddtrace-run")],
         dict(QUIET, DD_PROFILING_ENABLED="true", DD_PROFILING_MEMORY_ENABLED="true",
              DD_PROFILING_LOCK_ENABLED="false")),
    ]


def run(prefix, env_extra, python, args, scratch):
    d = Path(tempfile.mkdtemp(dir=scratch))
    env = {k: v for k, v in os.environ.items() if not k.startswith("DD_") and k != "LD_PRELOAD"}
    env.update(env_extra)
    env["DD_PROFILING_OUTPUT_PPROF"] = str(d / "p")
    env["BENCH_RESULT"] = str(d / "result.json")
    r = subprocess.run(prefix + [str(python), *map(str, args)], env=env, capture_output=True, text=True,
                       timeout=900)
    if r.returncode != 0:
        sys.exit(f"memory_overhead: {prefix} {env_extra} failed: {r.stderr[-2000:]}")
    return d


def callgrind_ir(prefix, env_extra, python, scratch, args=(WORKLOAD, 3, 20000)):
    out = Path(tempfile.mkdtemp(dir=scratch)) / "cg.out"
    cmd = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}"]
    if prefix:  # ddtrace-run execs python: follow it
        cmd.append("--trace-children=yes")
        cmd[2] = f"--callgrind-out-file={out}.%p"
    d = run(cmd + prefix, env_extra, python, list(args), scratch)
    del d
    total = 0
    for f in out.parent.glob(out.name + "*"):
        m = re.search(r"^summary:\s+(\d+)", f.read_text(errors="replace"), re.M)
        total += int(m.group(1)) if m else 0
    return total


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
    cpu = {name: [] for name, _, _ in cfgs}
    for rep in range(args.reps):
        order = cfgs[rep % len(cfgs):] + cfgs[:rep % len(cfgs)]
        for name, prefix, env in order:
            d = run(prefix, env, python, [WORKLOAD, 3, args.iterations], scratch)
            cpu[name].append(json.loads((d / "result.json").read_text())["worker_cpu_s"])
        so.log(f"bench: round {rep + 1}/{args.reps} done")
    base = statistics.median(cpu["no profiler"])
    ir = {}
    if not args.no_callgrind:
        for name, prefix, env in configs(lib, 1):
            ir[name] = callgrind_ir(prefix, env, python, scratch)
    version = subprocess.run([str(python), "-c", "import sys; print(sys.version.split()[0])"],
                             capture_output=True, text=True).stdout.strip()
    print(f"CPython {version}, {args.reps} interleaved rounds, 3 threads x {args.iterations} "
          "iterations\n")
    print("| configuration | worker CPU (median) | vs none | instructions (callgrind) | vs none |")
    print("|---|---|---|---|---|")
    for name, _, _ in cfgs:
        med = statistics.median(cpu[name])
        irs = f"{ir[name] / 1e9:.3f} G | {ir[name] / ir['no profiler']:.3f}" if ir else "- | -"
        print(f"| {name} | {med:.3f} s | {med / base:.3f} | {irs} |")


if __name__ == "__main__":
    main()
