"""Sampler overhead, side by side in one run: the same CPU-bound workload (4 threads,
40-deep stacks, fixed work) with no profiler, with libpodprof.so at 100 Hz, with ddtrace's profiler
(`DD_PROFILING_ENABLED=true ddtrace-run`), with `py-spy record --rate 100` and with austin at
100 Hz. Repetitions are interleaved (the order rotates each round) and every figure is a median,
reported as a ratio to the unprofiled run, because this machine is shared and noisy.

The third-party profilers are installed, pinned, into their own venv under build/ the first time
(never into the test environment), for one pyenv CPython that all of them support.

    .venv/bin/python tests/bench/sampler_overhead.py [--reps 5] [--startup-reps 15]
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BUILD = Path(os.environ.get("PODPROF_BUILD", ROOT / "build")).resolve()
WORKLOAD = Path(__file__).resolve().parent / "sampler_workload.py"
VENV = ROOT / "build" / "bench-venv"
TOOLS = ["ddtrace==4.16.0", "py-spy==0.4.3", "austin-dist==3.7.0"]
PYTHONS = ["3.12", "3.11", "3.10", "3.13", "3.9"]  # first one found is used
RATE_HZ = 100


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def pick_python():
    root = subprocess.run(["pyenv", "root"], capture_output=True, text=True).stdout.strip()
    versions = Path(root or os.path.expanduser("~/.pyenv")) / "versions"
    for want in PYTHONS:
        found = sorted(versions.glob(f"{want}.*/bin/python3"))
        if found:
            return found[-1]
    sys.exit("sampler_overhead: no pyenv CPython 3.9-3.13 found")


def ensure_venv():
    stamp = VENV / ".tools-stamp"
    if stamp.exists() and stamp.read_text() == "\n".join(TOOLS):
        return VENV / "bin" / "python"
    python = pick_python()
    log(f"bench: creating {VENV} with {python} and installing {', '.join(TOOLS)}")
    shutil.rmtree(VENV, ignore_errors=True)
    subprocess.run([str(python), "-m", "venv", str(VENV)], check=True)
    subprocess.run([str(VENV / "bin" / "pip"), "install", "-q", "--disable-pip-version-check",
                    *TOOLS], check=True)
    stamp.write_text("\n".join(TOOLS))
    return VENV / "bin" / "python"


class Config:
    def __init__(self, name, wrap, env=None, in_process=True, check=None):
        self.name, self.wrap, self.env, self.in_process, self.check = (
            name, wrap, env or {}, in_process, check)


def configs(python, lib, work):
    bin_ = VENV / "bin"
    quiet = {"DD_INSTRUMENTATION_TELEMETRY_ENABLED": "false",
             "DD_REMOTE_CONFIGURATION_ENABLED": "false", "DD_TRACE_ENABLED": "false"}

    def prefix_has_profile(d):
        return any(d.glob("p.*"))

    def podprof_profile(d):
        metas = [json.loads(p.read_text()) for p in d.glob("p.*.json")]
        return sum(m["counters"].get("samples", 0) for m in metas) > 0

    def file_written(d):
        return (d / "out").exists() and (d / "out").stat().st_size > 0

    return [
        Config("no profiler", lambda d, cmd: cmd, check=lambda d: True),
        Config(f"libpodprof.so {RATE_HZ} Hz", lambda d, cmd: cmd,
               env=lambda d: {"LD_PRELOAD": str(lib), "DD_PROFILING_ENABLED": "true",
                              "DD_PROFILING_SAMPLE_RATE": str(RATE_HZ),
                              "DD_PROFILING_OUTPUT_PPROF": str(d / "p")},
               check=podprof_profile),
        Config("ddtrace profiler", lambda d, cmd: [str(bin_ / "ddtrace-run"), *cmd],
               env=lambda d: {"DD_PROFILING_ENABLED": "true",
                              "DD_PROFILING_OUTPUT_PPROF": str(d / "p"), **quiet},
               check=prefix_has_profile),
        Config(f"py-spy record --rate {RATE_HZ}",
               lambda d, cmd: [str(bin_ / "py-spy"), "record", "--rate", str(RATE_HZ),
                               "--format", "raw", "-o", str(d / "out"), "--", *cmd],
               in_process=False, check=file_written),
        Config(f"austin -i {1_000_000 // RATE_HZ}us",
               lambda d, cmd: [str(bin_ / "austin"), "-i", str(1_000_000 // RATE_HZ), "-o",
                               str(d / "out"), *cmd],
               in_process=False, check=file_written),
    ]


def run_once(cfg, python, args, scratch, result_file, allow_fail=False):
    d = Path(tempfile.mkdtemp(dir=scratch))
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("DD_") and k != "LD_PRELOAD"}
    env.update(cfg.env(d) if callable(cfg.env) else cfg.env)
    if result_file:
        env["BENCH_RESULT"] = str(result_file)
    cmd = cfg.wrap(d, [str(python), *args])
    t0 = time.perf_counter()
    err_file = d / "stderr"
    with open(err_file, "wb") as err_out:
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=err_out)
    # The profiler process's own peak RSS (wait4's ru_maxrss would be the app's, the larger one
    # of the tree): its VmHWM, read until it exits.
    # Start-up runs (no result file) wait without polling, so their timing stays exact.
    tool_hwm_kb = 0
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG if result_file else 0)
        if pid:
            break
        tool_hwm_kb = max(tool_hwm_kb, status_kb(proc.pid, "VmHWM"))
        time.sleep(0.05)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = err_file.read_text(errors="replace")
    if proc.returncode != 0 and not allow_fail:
        sys.exit(f"sampler_overhead: {cfg.name} failed ({proc.returncode}): {err[-2000:]}")
    return d, wall, usage, tool_hwm_kb


def status_kb(pid, field):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def measure(args):
    python = ensure_venv()
    lib = BUILD / "lib" / "libpodprof.so"
    if not lib.exists():
        sys.exit(f"sampler_overhead: {lib} not built (run make)")
    version = subprocess.run([str(python), "-c", "import platform;print(platform.python_version())"],
                             capture_output=True, text=True, check=True).stdout.strip()
    cfgs = configs(python, lib, WORKLOAD)
    scratch = Path(tempfile.mkdtemp(prefix="podprof-bench-"))
    results = {c.name: [] for c in cfgs}
    startup = {c.name: [] for c in cfgs}
    written = {c.name: True for c in cfgs}
    work = [str(WORKLOAD), str(args.rounds), str(args.chunk)]
    try:
        for rep in range(args.reps):
            order = cfgs[rep % len(cfgs):] + cfgs[:rep % len(cfgs)]
            for cfg in order:
                rf = scratch / "result.json"
                # An out-of-process profiler may lose the race to attach at start-up (austin:
                # "not a Python process"); that run is repeated once, a second failure is fatal.
                d, wall, usage, tool_hwm = run_once(cfg, python, work, scratch, rf,
                                                    allow_fail=not cfg.in_process)
                if not cfg.in_process and (not rf.exists() or not cfg.check(d)):
                    log(f"bench: {cfg.name} did not profile this run; repeating it once")
                    shutil.rmtree(d, ignore_errors=True)
                    d, wall, usage, tool_hwm = run_once(cfg, python, work, scratch, rf)
                r = json.loads(rf.read_text())
                rf.unlink()
                tool_cpu = usage.ru_utime + usage.ru_stime - r["process_cpu_s"]
                r["profiler_cpu_s"] = (r["other_threads_cpu_s"] if cfg.in_process
                                       else max(tool_cpu, 0.0))
                r["worker_cpu_s"] = r["process_cpu_s"] - r["other_threads_cpu_s"]
                r["tool_maxrss_kb"] = tool_hwm
                results[cfg.name].append(r)
                written[cfg.name] &= bool(cfg.check(d))
                shutil.rmtree(d, ignore_errors=True)
                log(f"bench: rep {rep + 1}/{args.reps} {cfg.name}: {r['elapsed_s']:.3f} s")
        for rep in range(args.startup_reps):
            for cfg in cfgs:
                # py-spy may fail to attach to a process this short-lived: its time still counts.
                d, wall, _, _ = run_once(cfg, python, ["-c", "pass"], scratch, None,
                                      allow_fail=not cfg.in_process)
                startup[cfg.name].append(wall)
                shutil.rmtree(d, ignore_errors=True)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return version, cfgs, results, startup, written


def median(rs, key):
    return statistics.median(r[key] for r in rs)


def table(version, cfgs, results, startup, written, args):
    base = results[cfgs[0].name]
    base_elapsed, base_worker = median(base, "elapsed_s"), median(base, "worker_cpu_s")
    best_elapsed = min(r["elapsed_s"] for r in base)
    best_worker = min(r["worker_cpu_s"] for r in base)
    base_rss, base_start = median(base, "vmhwm_kb"), statistics.median(startup[cfgs[0].name])
    lines = [
        f"CPython {version}, {os.cpu_count()} cores (shared), 4 threads x 40-deep stacks, "
        f"{args.reps} interleaved repetitions (medians), start-up: median of {args.startup_reps} "
        "`python -c pass`.",
        "",
        "| profiler | elapsed, median | slowdown: median (best run) | app threads' CPU: median "
        "(best run) | profiler CPU (% of one core) | app peak RSS added | profiler process RSS | "
        "start-up added | profile written |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    overhead = {}
    for cfg in cfgs:
        rs = results[cfg.name]
        el = median(rs, "elapsed_s")
        ratio = el / base_elapsed
        overhead[cfg.name] = ratio - 1
        cpu_ratio = median(rs, "worker_cpu_s") / base_worker
        best_ratio = min(r["elapsed_s"] for r in rs) / best_elapsed
        best_cpu_ratio = min(r["worker_cpu_s"] for r in rs) / best_worker
        prof_pct = 100 * statistics.median(r["profiler_cpu_s"] / r["elapsed_s"] for r in rs)
        rss_added = (median(rs, "vmhwm_kb") - base_rss) / 1024
        tool_rss = (f"{median(rs, 'tool_maxrss_kb') / 1024:.1f} MiB" if not cfg.in_process
                    else "(in the app)")
        start = (statistics.median(startup[cfg.name]) - base_start) * 1000
        lines.append(
            f"| {cfg.name} | {el:.3f} s | {ratio:.3f}x ({best_ratio:.3f}x) | {cpu_ratio:.3f}x "
            f"({best_cpu_ratio:.3f}x) | {prof_pct:.2f} % | "
            f"{rss_added:+.1f} MiB | {tool_rss} | {start:+.1f} ms | "
            f"{'yes' if written[cfg.name] else 'NO'} |")
    pod, dd = overhead[cfgs[1].name], overhead[cfgs[2].name]
    lines += ["", f"Target: libpodprof.so slowdown <= 1 % and <= half of ddtrace's. "
              f"Measured (medians of elapsed): {100 * pod:+.2f} % vs ddtrace {100 * dd:+.2f} %.",
              "Every run's elapsed time, in seconds:"]
    for cfg in cfgs:
        lines.append(f"- {cfg.name}: " + " ".join(f"{r['elapsed_s']:.2f}"
                                                   for r in results[cfg.name]))
    if not written[cfgs[1].name]:
        lines.append("libpodprof.so wrote no samples in this build: its row measures an idle "
                     "library, not the sampler.")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--startup-reps", type=int, default=15)
    ap.add_argument("--rounds", type=int, default=150, help="workload rounds per thread")
    ap.add_argument("--chunk", type=int, default=40000, help="leaf loop iterations per round")
    args = ap.parse_args()
    out = table(*measure(args), args)
    print(out)
    dest = BUILD / "bench" / "sampler_overhead.md"
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(out + "\n")
    log(f"bench: table written to {dest}")


if __name__ == "__main__":
    main()
