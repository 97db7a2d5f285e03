"""podprof's sampler beside ddtrace's profiler at their defaults, on the workload of the sampler
benchmarks at 8 threads x 50 frames (tests/bench/sampler_workload.py), side by side in one run,
interleaved, medians: what each one's 1 % CPU budget buys.

Both run on the same CPython (the pyenv 3.12 of the benchmark venv, where ddtrace is installed by
tests/bench/sampler_overhead.py, never into the test environment), with every setting at its
default but the output: podprof writes its profiles to files, ddtrace too
(DD_PROFILING_OUTPUT_PPROF, which also writes its stack sampler's own metadata). Per run, over the
whole run (start-up and the last flush included):
- sampler CPU: the CPU of every thread that is not the workload's, in % of one core (podprof's
  sampler thread; ddtrace's sampler, uploader and other threads);
- effective rate: passes over the threads per second (podprof: its `passes` counter; ddtrace: its
  `sampling_event_count`);
- thread samples per second (podprof: `samples`; ddtrace: `sample_count`);
- CPU per thread sample: the sampler CPU over the thread samples, and for ddtrace also what its
  sampler says its captures cost (`sample_capture_cpu_time_us`).

    .venv/bin/python tests/bench/sampler_vs_ddtrace.py [--reps 3] [--lib libpodprof.so]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from sampler_overhead import BUILD, ensure_venv  # noqa: E402
from sampler_thread_cpu import median  # noqa: E402

WORKLOAD = HERE / "sampler_workload.py"
THREADS, DEPTH = 8, 50
ROUNDS, CHUNK = 60, 150000


def base_env(out_dir):
    env = {k: v for k, v in os.environ.items() if not k.startswith("DD_") and k != "LD_PRELOAD"}
    env.update({"DD_PROFILING_ENABLED": "true", "DD_PROFILING_OUTPUT_PPROF": f"{out_dir}/prof",
                "BENCH_RESULT": f"{out_dir}/result.json", "BENCH_THREADS": str(THREADS),
                "BENCH_DEPTH": str(DEPTH), "BENCH_STEADY_AFTER_S": "0.5"})
    return env


def run_workload(cmd, env, out_dir):
    r = subprocess.run(cmd + [str(WORKLOAD), str(ROUNDS), str(CHUNK)], env=env,
                       capture_output=True, text=True, timeout=600)
    if r.returncode != 0:
        sys.exit(f"sampler_vs_ddtrace: {cmd[0]} failed: {r.stderr[-2000:]}")
    return json.loads(Path(out_dir, "result.json").read_text())


def podprof(python, lib):
    with tempfile.TemporaryDirectory() as d:
        env = base_env(d)
        env["LD_PRELOAD"] = str(lib)
        result = run_workload([str(python)], env, d)
        # counters are cumulative per process: the last profile's are the whole run's
        metas = [json.loads(p.read_text()) for p in Path(d).glob("prof.*.json")]
        counters = max((m["counters"] for m in metas), key=lambda c: c.get("passes", 0))
        return figures(result, counters["passes"], counters["samples"], None)


def ddtrace(python):
    with tempfile.TemporaryDirectory() as d:
        env = base_env(d)
        env.update({"DD_TRACE_ENABLED": "false", "DD_INSTRUMENTATION_TELEMETRY_ENABLED": "false"})
        ddtrace_run = Path(python).parent / "ddtrace-run"
        result = run_workload([str(ddtrace_run), str(python)], env, d)
        metas = [json.loads(p.read_text()) for p in Path(d).glob("*.internal_metadata.json")]
        if not metas:
            sys.exit("sampler_vs_ddtrace: ddtrace wrote no profile")
        passes = sum(m["sampling_event_count"] for m in metas)
        samples = sum(m["sample_count"] for m in metas)
        capture_us = sum(m["sample_capture_cpu_time_us"] for m in metas)
        return figures(result, passes, samples, capture_us / samples if samples else None)


def figures(result, passes, samples, own_us_per_sample):
    elapsed = result["elapsed_s"]
    cpu = result["other_threads_cpu_s"]
    return {"cpu_pct": 100 * cpu / elapsed, "rate_hz": passes / elapsed,
            "samples_per_s": samples / elapsed,
            "us_per_sample": 1e6 * cpu / samples if samples else None,
            "own_us_per_sample": own_us_per_sample}


def median_of(runs, key, fmt):
    return median([r[key] for r in runs], fmt)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--lib", type=Path, default=BUILD / "lib" / "libpodprof.so")
    args = ap.parse_args()
    if not args.lib.exists():
        sys.exit(f"sampler_vs_ddtrace: {args.lib} missing (run make)")
    python = ensure_venv()
    version = subprocess.run(
        [str(python), "-c", "import platform; print(platform.python_version())"],
        capture_output=True, text=True, check=True).stdout.strip()
    runs = {"podprof": [], "ddtrace 4.16": []}
    for rep in range(args.reps):
        # the order alternates, so neither always runs on a machine the other just warmed
        order = ["podprof", "ddtrace 4.16"] if rep % 2 == 0 else ["ddtrace 4.16", "podprof"]
        for name in order:
            runs[name].append(podprof(python, args.lib) if name == "podprof" else ddtrace(python))
        print(f"round {rep + 1}/{args.reps} done", file=sys.stderr)
    print(f"CPython {version}, {THREADS} threads x {DEPTH} frames, default settings, whole run "
          f"(median of {args.reps})")
    print("| | sampler CPU, % of one core | effective rate | thread samples per second "
          "| CPU per thread sample | (its own count) |")
    print("|---|---|---|---|---|---|")
    columns = [("cpu_pct", "{:.2f} %"), ("rate_hz", "{:.0f} Hz"), ("samples_per_s", "{:.0f}"),
               ("us_per_sample", "{:.1f} µs"), ("own_us_per_sample", "{:.1f} µs")]
    for name, rs in runs.items():
        print(f"| {name} | " + " | ".join(median_of(rs, k, f) for k, f in columns) + " |")


if __name__ == "__main__":
    main()
