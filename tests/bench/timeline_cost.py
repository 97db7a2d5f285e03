"""What the timeline (DD_PROFILING_TIMELINE_ENABLED) costs: the upload's size and the sampler
thread's CPU with the timeline on and off, for 8 threads with 50-deep stacks at 100 Hz over one
60 s upload interval (the issue's targets: sampler CPU <= 1 % of one core, the compressed upload
<= 4x the aggregated one).

Each run starts a CPython with libpodprof.so preloaded running 8 CPU-bound threads for 63 s, once
with the budget lifted to 100 % (so the rate stays at 100 Hz and the cost shows in full) and once
with the default 1 % budget (the CPU and rate the adaptive interval settles at); the profile the
library writes at the 60 s mark is the one measured: its pprof (raw protobuf), the gzip file in the spool,
and the zstd level-1 frame the exporter uploads (the same library and level). The sampler's CPU is
that of every thread that is not the workload's, read in the process from the kernel's per-thread
CPU clocks between 0.5 s after the start and the end, so the 60 s flush is inside it. On and off
runs are interleaved; medians are printed, with their ratio.

    .venv/bin/python tests/bench/timeline_cost.py [--reps 3] [--python PATH] [--seconds 63]

(about 4.5 minutes a repetition per interpreter, and 2 for the Flask shop of the code-provenance
tests, whose upload sizes are printed last)
"""
import argparse
import gzip
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BUILD = Path(os.environ.get("PODPROF_BUILD", ROOT / "build")).resolve()
THREADS, DEPTH, RATE_HZ, INTERVAL_S = 8, 50, 100, 60
STEADY_AFTER_S = 0.5


# ---- the workload (this file run with --child) ----

def _leaf(n):
    x = 0
    for i in range(n):
        x += i * i % 7
        x ^= i
    return x


def _chain():
    src = []
    for i in range(DEPTH - 2):
        call = f"level_{i + 1}(n, leaf)" if i + 1 < DEPTH - 2 else "leaf(n)"
        src.append(f"def level_{i}(n, leaf):\n    return {call} + 1\n")
    ns = {}
    exec(compile("\n".join(src), __file__ + ":chain", "exec"), ns)
    return ns["level_0"]


def _thread_cpu(tid):
    try:
        return time.clock_gettime(((~tid) << 3) | 6)
    except OSError:
        return 0.0


def _others_cpu(mine):
    return sum(_thread_cpu(int(t)) for t in os.listdir("/proc/self/task") if int(t) not in mine)


def child(seconds, result_path):
    top = _chain()
    stop = threading.Event()
    ids = []

    def worker():
        ids.append(threading.get_native_id())
        while not stop.is_set():
            top(2000, _leaf)

    threads = [threading.Thread(target=worker, name=f"worker-{i}") for i in range(THREADS)]
    for t in threads:
        t.start()
    time.sleep(STEADY_AFTER_S)
    mine = set(ids) | {threading.get_native_id()}
    t0, cpu0 = time.monotonic(), _others_cpu(mine)
    time.sleep(seconds - STEADY_AFTER_S)
    t1, cpu1 = time.monotonic(), _others_cpu(mine)
    alive = all(t.is_alive() for t in threads)
    stop.set()
    for t in threads:
        t.join()
    if not alive:
        sys.exit("timeline_cost: a worker thread died")
    with open("/proc/self/status") as f:
        hwm = next(int(line.split()[1]) for line in f if line.startswith("VmHWM:"))
    Path(result_path).write_text(json.dumps({"sampler_cpu_pct": 100 * (cpu1 - cpu0) / (t1 - t0),
                                             "vmhwm_kb": hwm}))


# ---- the driver ----

def run(python, lib, timeline, seconds, budget_pct):
    import zstandard  # the driver's (.venv); the child runs under the interpreter being measured
    with tempfile.TemporaryDirectory() as d:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("DD_") and k != "LD_PRELOAD"}
        env.update({"LD_PRELOAD": str(lib), "DD_PROFILING_ENABLED": "true",
                    "DD_PROFILING_SAMPLE_RATE": str(RATE_HZ),
                    "DD_PROFILING_UPLOAD_INTERVAL": str(INTERVAL_S),
                    "DD_PROFILING_MAX_TIME_USAGE_PCT": str(budget_pct),
                    "DD_PROFILING_TIMELINE_ENABLED": "true" if timeline else "false",
                    "DD_PROFILING_OUTPUT_PPROF": f"{d}/p"})
        result = Path(d, "result.json")
        r = subprocess.run([str(python), __file__, "--child", str(seconds), str(result)], env=env,
                           capture_output=True, text=True)
        if r.returncode != 0:
            sys.exit(f"timeline_cost: {python} failed: {r.stderr[-2000:]}")
        out = json.loads(result.read_text())
        # the profile of the first full interval: sequence number 1
        first = sorted(Path(d).glob("p.*.1.pprof"))
        if not first:
            sys.exit("timeline_cost: no profile written at the 60 s mark")
        meta = json.loads(first[0].with_suffix(".json").read_text())
        gz = first[0].read_bytes()
        raw = gzip.decompress(gz)
        out.update({"raw": len(raw), "gzip": len(gz),
                    "zstd": len(zstandard.ZstdCompressor(level=1).compress(raw)),
                    "samples": meta["counters"]["samples"],
                    "rate_hz": meta["effective_sampling_rate_hz"],
                    "timeline_full": meta["counters"].get("timeline_full", 0),
                    "seconds": (meta_time(meta["end"]) - meta_time(meta["start"]))})
        return out


def run_shop(lib, timeline, seconds):
    """The upload sizes of the Flask shop the code-provenance tests profile (one worker thread
    serving requests through Flask, Werkzeug and Jinja2, the main thread waiting) over one
    interval, at the default budget."""
    sys.path.insert(0, str(ROOT / "tests" / "exporter"))
    import provenance_deps
    import zstandard
    root = Path(subprocess.run(["pyenv", "root"], capture_output=True, text=True,
                               check=True).stdout.strip())
    python = provenance_deps.virtualenv(sorted((root / "versions").glob("3.12.*/bin/python3"))[0])
    with tempfile.TemporaryDirectory() as d:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("DD_") and k != "LD_PRELOAD"}
        env.update({"LD_PRELOAD": str(lib), "DD_PROFILING_ENABLED": "true",
                    "DD_PROFILING_UPLOAD_INTERVAL": str(INTERVAL_S),
                    "DD_PROFILING_TIMELINE_ENABLED": "true" if timeline else "false",
                    "DD_PROFILING_OUTPUT_PPROF": f"{d}/p"})
        r = subprocess.run([str(python), "-m", "shopapp", str(seconds)], env=env,
                           cwd=ROOT / "tests" / "exporter" / "provenance_app",
                           capture_output=True, text=True)
        if r.returncode != 0:
            sys.exit(f"timeline_cost: the shop failed: {r.stderr[-2000:]}")
        first = sorted(Path(d).glob("p.*.1.pprof"))
        raw = gzip.decompress(first[0].read_bytes())
        return {"samples": json.loads(first[0].with_suffix(".json").read_text())["counters"]
                ["samples"], "zstd": len(zstandard.ZstdCompressor(level=1).compress(raw))}


def meta_time(s):
    secs = time.mktime(time.strptime(s[:19], "%Y-%m-%dT%H:%M:%S"))
    return secs + float("0." + s[20:-1])


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(float(sys.argv[2]), sys.argv[3])
        return
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--python", type=Path, action="append")
    ap.add_argument("--seconds", type=float, default=INTERVAL_S + 3)
    ap.add_argument("--lib", type=Path, default=BUILD / "lib" / "libpodprof.so")
    args = ap.parse_args()
    if not args.lib.exists():
        sys.exit(f"timeline_cost: {args.lib} missing (run make)")
    root = Path(subprocess.run(["pyenv", "root"], capture_output=True, text=True,
                               check=True).stdout.strip())
    pys = args.python or sorted((root / "versions").glob("3.12.*/bin/python3"))[:1]
    results = {}
    for rep in range(args.reps):
        for py in pys:
            for budget in (100, 1):
                for timeline in (False, True):
                    results.setdefault((py, timeline, budget), []).append(
                        run(py, args.lib, timeline, args.seconds, budget))
        for timeline in (False, True):
            results.setdefault(("shop", timeline), []).append(
                run_shop(args.lib, timeline, args.seconds))
        print(f"round {rep + 1}/{args.reps} done", file=sys.stderr)
    print(f"timeline cost, {THREADS} threads x {DEPTH} frames, {RATE_HZ} Hz, one {INTERVAL_S} s "
          f"profile (median of {args.reps})")
    print("| CPython | timeline | samples | pprof raw | spool gzip | upload (zstd 1) "
          "| sampler CPU | peak RSS |")
    print("|---|---|---|---|---|---|---|---|")
    for py in pys:
        med = {}
        for timeline in (False, True):
            rs = results[(py, timeline, 100)]
            m = {k: statistics.median(r[k] for r in rs)
                 for k in ("samples", "raw", "gzip", "zstd", "sampler_cpu_pct", "vmhwm_kb",
                           "timeline_full")}
            med[timeline] = m
            print(f"| {py.parent.parent.name} | {'on' if timeline else 'off'} | {m['samples']:.0f} "
                  f"| {m['raw'] / 1024:.0f} KiB | {m['gzip'] / 1024:.0f} KiB "
                  f"| {m['zstd'] / 1024:.0f} KiB | {m['sampler_cpu_pct']:.2f} % "
                  f"| {m['vmhwm_kb'] / 1024:.1f} MiB |")
        on, off = med[True], med[False]
        print(f"| {py.parent.parent.name} | on/off | | {on['raw'] / off['raw']:.1f}x "
              f"| {on['gzip'] / off['gzip']:.1f}x | {on['zstd'] / off['zstd']:.1f}x "
              f"| +{on['sampler_cpu_pct'] - off['sampler_cpu_pct']:.2f} points "
              f"| +{(on['vmhwm_kb'] - off['vmhwm_kb']) / 1024:.1f} MiB |")
        if on["timeline_full"]:
            print(f"(timeline full: {on['timeline_full']:.0f} observations summed instead)")
        for timeline in (False, True):
            rs = results[(py, timeline, 1)]
            cpu = statistics.median(r["sampler_cpu_pct"] for r in rs)
            rate = statistics.median(r["rate_hz"] for r in rs)
            print(f"with the default 1 % budget, timeline {'on' if timeline else 'off'}: "
                  f"sampler CPU {cpu:.2f} %, rate {rate:.0f} Hz")
    shop = {t: {k: statistics.median(r[k] for r in results[("shop", t)])
                for k in ("samples", "zstd")} for t in (False, True)}
    print(f"Flask shop (tests/exporter/provenance_app, CPython 3.12, default budget): upload "
          f"{shop[False]['zstd'] / 1024:.0f} KiB aggregated ({shop[False]['samples']:.0f} samples),"
          f" {shop[True]['zstd'] / 1024:.0f} KiB with the timeline "
          f"({shop[True]['zstd'] / shop[False]['zstd']:.1f}x)")


if __name__ == "__main__":
    main()
