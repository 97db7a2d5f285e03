"""What the hook benchmarks (memory_overhead.py, exception_overhead.py, gil_overhead.py) share:
running one configuration of a workload, interleaving repetitions of every configuration so that
the machine's drift falls on all of them alike, and counting instructions under callgrind, which
(unlike time on a shared machine) gives the same answer on every run."""
import os
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import sampler_overhead as so  # noqa: E402

QUIET = {"DD_INSTRUMENTATION_TELEMETRY_ENABLED": "false",
         "DD_REMOTE_CONFIGURATION_ENABLED": "false", "DD_TRACE_ENABLED": "false"}


def run(prefix, env_extra, python, args, scratch):
    """Runs prefix + python args with env_extra (and no inherited DD_ or LD_PRELOAD) in a fresh
    directory under scratch, which it returns: the workload writes result.json there."""
    d = Path(tempfile.mkdtemp(dir=scratch))
    env = {k: v for k, v in os.environ.items() if not k.startswith("DD_") and k != "LD_PRELOAD"}
    env.update(env_extra)
    env["DD_PROFILING_OUTPUT_PPROF"] = str(d / "p")
    env["BENCH_RESULT"] = str(d / "result.json")
    r = subprocess.run(prefix + [str(python), *map(str, args)], env=env, capture_output=True,
                       text=True, timeout=900)
    if r.returncode != 0:
        sys.exit(f"{Path(sys.argv[0]).name}: {prefix} {env_extra} failed: {r.stderr[-2000:]}")
    return d


def interleaved(cfgs, reps, measure):
    """{name: [measure(name, prefix, env) for each round]} over cfgs [(name, prefix, env)],
    the order rotating each round."""
    results = {name: [] for name, _, _ in cfgs}
    for rep in range(reps):
        for name, prefix, env in cfgs[rep % len(cfgs):] + cfgs[:rep % len(cfgs)]:
            results[name].append(measure(name, prefix, env))
        so.log(f"bench: round {rep + 1}/{reps} done")
    return results


def callgrind_ir(prefix, env_extra, python, scratch, args):
    """Instructions of the whole run (every process, when prefix execs python) under callgrind."""
    out = Path(tempfile.mkdtemp(dir=scratch)) / "cg.out"
    cmd = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}"]
    if prefix:  # ddtrace-run execs python: follow it
        cmd.append("--trace-children=yes")
        cmd[2] = f"--callgrind-out-file={out}.%p"
    run(cmd + prefix, env_extra, python, list(args), scratch)
    total = 0
    for f in out.parent.glob(out.name + "*"):
        m = re.search(r"^summary:\s+(\d+)", f.read_text(errors="replace"), re.M)
        total += int(m.group(1)) if m else 0
    return total


def python_version(python):
    return subprocess.run([str(python), "-c", "import sys; print(sys.version.split()[0])"],
                          capture_output=True, text=True).stdout.strip()


def overhead_table(cfgs, cpu, ir):
    """The markdown table of worker CPU medians and instruction counts, each against the first
    configuration (no profiler)."""
    base_name = cfgs[0][0]
    base = statistics.median(cpu[base_name])
    lines = ["| configuration | worker CPU (median) | vs none | instructions (callgrind) | vs none |",
             "|---|---|---|---|---|"]
    for name, _, _ in cfgs:
        med = statistics.median(cpu[name])
        irs = f"{ir[name] / 1e9:.3f} G | {ir[name] / ir[base_name]:.3f}" if ir else "- | -"
        lines.append(f"| {name} | {med:.3f} s | {med / base:.3f} | {irs} |")
    return "\n".join(lines)
