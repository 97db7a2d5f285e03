"""GIL-wait-profile overhead, side by side in one run, on a GIL-switch-heavy workload
(gil_workload.py: four threads each handing the GIL over on every round with time.sleep(0)): no
profiler, libpodprof.so with CPU+wall only (GIL waits off), and with CPU+wall+GIL waits. Memory
and exception profiles are off in every configuration; no other profiler has a GIL wait profile.

(a) the workers' summed CPU time for the fixed work, repetitions interleaved (the order rotates
each round), medians, as ratios to the unprofiled run, with the wall time of the threaded part
for reference; (b) the hook's own instructions under `valgrind --tool=callgrind` (sampler thread
at 1 Hz): per call of the interposed pthread_cond_timedwait and pthread_cond_wait and per GIL
wait, libc's wait itself excluded, per recorded sample, and per span stack copy (span_stacks.h: a
thread's copy of its own stack when it begins to wait). A whole-process instruction count
is no measure here: how often the threads hand the GIL over under valgrind (which runs one thread
at a time) changes from run to run.

    .venv/bin/python tests/bench/gil_overhead.py [--python PATH] [--reps 7] [--no-callgrind]
"""
import argparse
import json
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import hook_bench as hb  # noqa: E402
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


def call_costs(path):
    """{(caller, callee): (calls, inclusive instructions)} of a callgrind output file."""
    names, calls = {}, {}
    fn = cfn = None
    pending = None

    def name(ref):
        m = re.match(r"\((\d+)\)(?: (.*))?", ref)
        if not m:
            return ref
        if m.group(2):
            names[m.group(1)] = m.group(2)
        return names.get(m.group(1), ref)

    for line in Path(path).read_text(errors="replace").splitlines():
        if pending is not None:
            n, ir = calls.get((fn, cfn), (0, 0))
            calls[(fn, cfn)] = (n + pending, ir + (int(line.split()[-1]) if line.split() else 0))
            pending = None
        elif line.startswith("fn="):
            fn = name(line[3:])
        elif line.startswith("cfn="):
            cfn = name(line[4:])
        elif line.startswith("calls="):
            pending = int(line[6:].split()[0])
    return calls


def hook_instructions(lib, python, scratch, iterations):
    """(calls, instructions per call) of the interposer, of its GIL path, and of a sample."""
    name, prefix, env = configs(lib, 1)[2]
    out = Path(tempfile.mkdtemp(dir=scratch)) / "cg.out"
    hb.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}"] + prefix, env, python,
           [WORKLOAD, iterations], scratch)
    calls = call_costs(out)

    def into(callees, callers=None):
        n = ir = 0
        for (caller, target), (k, c) in calls.items():
            if target in callees and (callers is None or caller in callers):
                n, ir = n + k, ir + c
        return n, ir

    ours = ("pthread_cond_timedwait", "pthread_cond_wait", "gil_wait", "gil_switch_wait")
    libc_names = ("pthread_cond_timedwait@@GLIBC_2.3.2", "pthread_cond_wait@@GLIBC_2.3.2")
    libc = into(libc_names, ours)[1]
    libc_gil = into(libc_names, ours[2:])[1]
    n_all, ir_all = into(ours[:2])
    n_gil, ir_gil = into(ours[2:])
    n_rec, ir_rec = into(("crossed",))
    n_copy, ir_copy = into(("pp_span_stack_capture",))
    return {"pthread_cond_timedwait/wait, every call (samples included)":
            (n_all, (ir_all - libc) / max(n_all, 1)),
            "GIL waits (sampling, no sample; stack copies included)":
            (n_gil, (ir_gil - libc_gil - ir_rec) / max(n_gil, 1)),
            "samples (stack read, ring)": (n_rec, ir_rec / max(n_rec, 1)),
            "span stack copies (every span opened, at most one a millisecond a thread)":
            (n_copy, ir_copy / max(n_copy, 1))}


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
    results = hb.interleaved(cfgs, args.reps, lambda name, prefix, env: json.loads(
        (hb.run(prefix, env, args.python, [WORKLOAD, args.iterations], scratch) / "result.json")
        .read_text()))
    cpu = {name: [r["worker_cpu_s"] for r in rs] for name, rs in results.items()}
    wall = {name: [r["wall_s"] for r in rs] for name, rs in results.items()}
    base = statistics.median(cpu["no profiler"])
    hooks = {} if args.no_callgrind else hook_instructions(lib, args.python, scratch,
                                                          args.iterations // 10)
    print(f"CPython {hb.python_version(args.python)}, {args.reps} interleaved rounds, 4 threads x {args.iterations} "
          "GIL hand-overs\n")
    print("| configuration | workers' CPU (median) | vs none | wall (median) |")
    print("|---|---|---|---|")
    for name, _, _ in cfgs:
        med = statistics.median(cpu[name])
        print(f"| {name} | {med:.3f} s | {med / base:.3f} | "
              f"{statistics.median(wall[name]):.2f} s |")
    if hooks:
        print("\n| hook path (callgrind, libc's wait excluded) | calls | instructions each |")
        print("|---|---|---|")
        for what, (n, each) in hooks.items():
            print(f"| {what} | {n} | {each:.0f} |")


if __name__ == "__main__":
    main()
