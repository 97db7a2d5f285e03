"""The sampler thread's own CPU (target: ≤ 1 % of one core at 100 Hz with 8 threads × 50
frames), per CPython, measured inside the profiled process from the kernel's per-thread CPU clock:
in the steady state (from 0.5 s after the workload starts) and over the whole run.

For every pyenv CPython 3.8–3.13 the same workload (tests/bench/sampler_workload.py with 8 threads
and 50-deep stacks) runs with libpodprof.so at 100 Hz twice: with the budget lifted to 100 % (the
cost of a full-rate pass) and with the default 1 % budget (the rate the adaptive interval settles
at). Runs are interleaved across interpreters and libraries and medians are printed. `--lib` may
be given more than once to compare two builds of the library side by side in one run; by default
the library of this checkout is compared with the one built from `--before` (a git revision,
default main, built from `git archive` into a temporary directory).

A second table gives what one thread sample costs, at 8 and 64 threads (`--threads`) x 50 frames
at 100 Hz with the budget lifted, over the whole run: the sampler's CPU (every thread that is not
the workload's) per sample, and the system calls and bytes the sampler thread spent reading the
process per sample, from the library's own counters (`read_calls`, `read_bytes`: a library without
them shows –), and how many samples the hooks recorded (allocations, GIL waits, exceptions) per
thread sample: the sampler thread names and aggregates each of them too. Samples include the idle
main thread's, which costs almost nothing (its stack is reused without a walk), so the figures
are what a sample of every Python thread costs on average.

Under it, the floor (timer_wake.c, compiled with $CC or cc): the CPU a thread spends only waking
at 100 Hz, beside 0, 1 and 2 spinning threads. The sampler thread sleeps between passes and on a
virtual machine the switch back in is charged to it, more when the core it wakes on was idle (a
GIL-bound workload keeps about one core busy, whatever its thread count): no pass costs less.

A third table (`--deterministic`; `--deterministic-only` prints it alone) counts instead of timing,
each library once per interpreter and thread count, on a short run of the same workload:
- user-space instructions of the sampler thread under `valgrind --tool=callgrind`, collected only
  inside the library's pass, drain and adapt functions: per thread sample (the pass over the
  threads, `pp_for_each_thread` inclusive: reading each thread state, its clock, its walk and the
  sample's aggregation), per record the hooks recorded (allocation, GIL wait and exception
  samples, named and aggregated by the drains), and per pass for everything else (the runtime
  read, thread names, ...). Valgrind runs the workload ~50x slower, so records per
  thread sample there are far fewer than in a real run: they are reported per record, and the
  timed table's run gives how many records a real thread sample brings.
- system calls of the sampler thread per thread sample, under `strace -f` (the sampler thread is
  the one that reads the process most): every kind, and the reads of the process alone
  (process_vm_readv; a writev into the sampler thread's private pipe, whose readv back is counted
  among every kind; or pread64 of /proc/self/mem where the library had to fall back to it).
The interpreters of the Debian sid chroot (3.14, 3.15) run through a launcher that valgrind and
strace cannot follow into the chroot: their rows show –.

    .venv/bin/python tests/bench/sampler_thread_cpu.py [--reps 3] [--lib A.so --lib B.so]
        [--before REV] [--threads 8 --threads 64] [--deterministic | --deterministic-only]
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

ROOT = Path(__file__).resolve().parents[2]
BUILD = Path(os.environ.get("PODPROF_BUILD", ROOT / "build")).resolve()
WORKLOAD = Path(__file__).resolve().parent / "sampler_workload.py"
TIMER_WAKE = Path(__file__).resolve().parent / "timer_wake.c"
FLOOR_WAKES = 300
# spinning threads beside the waking one: none, one core busy (what a GIL-bound process keeps
# busy, whatever its thread count), both cores of the benchmark machine
FLOOR_BUSY = {0: "none", 1: "one (a GIL-bound process)", 2: "two"}
THREADS, DEPTH, RATE_HZ = 8, 50, 100
# the hooks' samples the sampler thread names and aggregates (allocations, GIL waits, exceptions)
RECORDS = ("alloc_samples", "gil_wait_samples", "exception_samples")
STEADY_AFTER_S = 0.5  # start-up and the first look at each code object are not the steady cost
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "tests" / "sampler")]
from interpreters import all_pythons  # noqa: E402


def pythons():
    """[(name, executable)] in version order."""
    def order(name):  # 3.11.7 < debian (3.11) < 3.12.1 < 3.13.0 < 3.13t < 3.14
        if name == "debian":
            return [3, 11, 99]
        return [int(d) for d in name.rstrip("t").split(".")] + [int(name.endswith("t"))]
    return sorted(all_pythons().items(), key=lambda kv: order(kv[0]))


def build_before(rev, into):
    """libpodprof.so built from revision rev of this repository, in directory into."""
    src = Path(into) / "src"
    src.mkdir()
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", rev], capture_output=True,
                             check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(src)], input=archive, check=True)
    r = subprocess.run(["nice", "-n", "10", "make", "-s", "-C", str(src), "BUILD=build",
                        "build/lib/libpodprof.so"], capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"sampler_thread_cpu: building {rev} failed: {r.stderr[-2000:]}")
    return src / "build" / "lib" / "libpodprof.so"


def run(python, lib, budget_pct, rounds, chunk, threads=THREADS, tries=3):
    """One run's figures; a run that had no steady phase (the machine was too busy to start the
    workers in time, or the interpreter is fast) is run again, at most `tries` times."""
    for _ in range(tries):
        result = run_once(python, lib, budget_pct, rounds, chunk, threads)
        if result:
            return result
    sys.exit(f"sampler_thread_cpu: {python}: the workload ended before the steady phase")


def run_once(python, lib, budget_pct, rounds, chunk, threads):
    with tempfile.TemporaryDirectory() as d:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("DD_") and k != "LD_PRELOAD"}
        env.update({"LD_PRELOAD": str(lib), "DD_PROFILING_ENABLED": "true",
                    "DD_PROFILING_SAMPLE_RATE": str(RATE_HZ),
                    "DD_PROFILING_MAX_TIME_USAGE_PCT": str(budget_pct),
                    "DD_PROFILING_OUTPUT_PPROF": f"{d}/p", "BENCH_RESULT": f"{d}/result.json",
                    "BENCH_THREADS": str(threads), "BENCH_DEPTH": str(DEPTH),
                    "BENCH_STEADY_AFTER_S": str(STEADY_AFTER_S)})
        r = subprocess.run([str(python), str(WORKLOAD), str(rounds), str(chunk)], env=env,
                           capture_output=True, text=True)
        if r.returncode != 0:
            sys.exit(f"sampler_thread_cpu: {python} failed: {r.stderr[-2000:]}")
        result = json.loads(Path(d, "result.json").read_text())
        # counters are cumulative per process: the last profile's are the whole run's
        metas = [json.loads(p.read_text()) for p in Path(d).glob("p.*.json")]
        counters = max((m["counters"] for m in metas), key=lambda c: c.get("passes", 0),
                       default={})
        if result["steady_elapsed_s"] is None and threads == THREADS:
            return None  # the per-sample figures of other thread counts use the whole run only
        steady = result["steady_elapsed_s"] or None
        samples = counters.get("samples", 0) or None
        per_sample = (lambda v: None if v is None or samples is None else v / samples)
        return {"cpu_pct": steady and 100 * result["steady_other_threads_cpu_s"] / steady,
                "total_pct": 100 * result["other_threads_cpu_s"] / result["elapsed_s"],
                "rate_hz": counters.get("passes", 0) / result["elapsed_s"],
                "us_per_sample": per_sample(1e6 * result["other_threads_cpu_s"]),
                "reads_per_sample": per_sample(counters.get("read_calls")),
                "bytes_per_sample": per_sample(counters.get("read_bytes")),
                "records_per_sample": per_sample(sum(counters.get(k, 0) for k in RECORDS))}


def median(values, fmt):
    values = [v for v in values if v is not None]
    return fmt.format(statistics.median(values)) if values else "–"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--lib", action="append", type=Path)
    ap.add_argument("--before", default="main",
                    help="git revision whose library is compared (when no --lib is given)")
    ap.add_argument("--threads", action="append", type=int,
                    help="thread counts of the per-sample table (default 8 and 64)")
    ap.add_argument("--python", action="append",
                    help="only these interpreters (names as printed, e.g. 3.12.1)")
    ap.add_argument("--rounds", type=int, default=30, help="workload rounds per thread")
    ap.add_argument("--chunk", type=int, default=150000, help="leaf iterations per round")
    ap.add_argument("--deterministic", action="store_true",
                    help="also count instructions (callgrind) and system calls (strace)")
    ap.add_argument("--deterministic-only", action="store_true",
                    help="only the instruction and system call counts")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        libs = args.lib or [build_before(args.before, scratch), BUILD / "lib" / "libpodprof.so"]
        names = {lib: (args.before if not args.lib and i == 0 else
                       "this checkout" if not args.lib else str(lib))
                 for i, lib in enumerate(libs)}
        for lib in libs:
            if not lib.exists():
                sys.exit(f"sampler_thread_cpu: {lib} missing (run make)")
        thread_counts = args.threads or [THREADS, 64]
        if not args.deterministic_only:
            measure(args, libs, names, thread_counts)
        if args.deterministic or args.deterministic_only:
            count(args, libs, names, thread_counts)


def build_timer_wake(into):
    """The floor program (timer_wake.c) compiled into directory into; None without a compiler."""
    exe = Path(into) / "timer_wake"
    r = subprocess.run([os.environ.get("CC", "cc"), "-O2", "-pthread", "-o", str(exe),
                        str(TIMER_WAKE)], capture_output=True, text=True)
    if r.returncode != 0:
        print(f"sampler_thread_cpu: no floor: {r.stderr[-500:]}", file=sys.stderr)
        return None
    return exe


def timer_wake(exe, busy):
    """CPU µs one wake at 100 Hz costs a thread that does nothing else, beside busy spinners."""
    r = subprocess.run([str(exe), str(busy), str(FLOOR_WAKES)], capture_output=True, text=True)
    return float(r.stdout) if r.returncode == 0 else None


def measure(args, libs, names, thread_counts):
    pys = [(v, py) for v, py in pythons() if not args.python or v in args.python]
    results = {}
    floors = {}
    floor_dir = tempfile.TemporaryDirectory()
    wake_exe = build_timer_wake(floor_dir.name)
    for rep in range(args.reps):
        if wake_exe:
            for busy in FLOOR_BUSY:
                floors.setdefault(busy, []).append(timer_wake(wake_exe, busy))
        for _, py in pys:
            for lib in libs:
                for threads in thread_counts:
                    # the same work in all: fewer rounds per thread when there are more threads
                    rounds = max(2, args.rounds * THREADS // threads)
                    for budget in ((100, 1) if threads == THREADS else (100,)):
                        r = run(py, lib, budget, rounds, args.chunk, threads)
                        results.setdefault((py, lib, budget, threads), []).append(r)
        print(f"round {rep + 1}/{args.reps} done", file=sys.stderr)
    if THREADS in thread_counts:
        print(f"sampler thread CPU, {THREADS} threads x {DEPTH} frames, {RATE_HZ} Hz "
              f"(median of {args.reps}, % of one core)")
        print("| CPython | library | steady CPU at 100 Hz | whole run, start-up included "
              "| rate with the default 1 % budget |")
        print("|---|---|---|---|---|")
        for version, py in pys:
            for lib in libs:
                full = results[(py, lib, 100, THREADS)]
                print(f"| {version} | {names[lib]} | {median([r['cpu_pct'] for r in full], '{:.2f}')} %"
                      f" | {median([r['total_pct'] for r in full], '{:.2f}')} % | "
                      f"{median([r['rate_hz'] for r in results[(py, lib, 1, THREADS)]], '{:.0f}')}"
                      " Hz |")
        print()
    print(f"one thread sample, {DEPTH} frames, {RATE_HZ} Hz, budget lifted, whole run "
          f"(median of {args.reps})")
    print("| CPython | threads | library | sampler CPU per sample | reads per sample "
          "| bytes copied per sample | hook records per sample |")
    print("|---|---|---|---|---|---|---|")
    for version, py in pys:
        for threads in thread_counts:
            for lib in libs:
                rs = results[(py, lib, 100, threads)]
                print(f"| {version} | {threads} | {names[lib]} | "
                      f"{median([r['us_per_sample'] for r in rs], '{:.1f}')} µs | "
                      f"{median([r['reads_per_sample'] for r in rs], '{:.2f}')} | "
                      f"{median([r['bytes_per_sample'] for r in rs], '{:.0f}')} | "
                      f"{median([r['records_per_sample'] for r in rs], '{:.2f}')} |")
    if floors:
        print(f"\nfloor: CPU a thread that only wakes at {RATE_HZ} Hz spends per wake "
              f"(timer_wake.c, median of {args.reps}), beside spinning threads")
        print("| cores kept busy | CPU per wake | share of each of 9 thread samples |")
        print("|---|---|---|")
        for busy, label in FLOOR_BUSY.items():
            wake = [f for f in floors[busy] if f is not None]
            if wake:
                w = statistics.median(wake)
                print(f"| {label} | {w:.1f} µs | {w / (THREADS + 1):.1f} µs |")
    floor_dir.cleanup()


# The library's functions that run on the sampler thread per pass; callgrind collects inside them
# only (so the start-up and the profile's encoding at flush are not counted).
COLLECT = ("pp_sampler_pass", "pp_sampler_drain", "pp_sampler_adapt")
DRAINS = ("pp_memory_drain", "pp_exception_drain", "pp_gil_drain")
CG_ROUNDS, CG_CHUNK = 4, 20000  # valgrind runs the workload ~50x slower
ST_ROUNDS, ST_CHUNK = 10, 150000  # strace much less
TOOL_TIMEOUT_S = 900


def workload_env(lib, threads, d):
    env = {k: v for k, v in os.environ.items() if not k.startswith("DD_") and k != "LD_PRELOAD"}
    env.update({"LD_PRELOAD": str(lib), "DD_PROFILING_ENABLED": "true",
                "DD_PROFILING_SAMPLE_RATE": str(RATE_HZ),
                "DD_PROFILING_MAX_TIME_USAGE_PCT": "100",
                "DD_PROFILING_OUTPUT_PPROF": f"{d}/p", "BENCH_RESULT": f"{d}/result.json",
                "BENCH_THREADS": str(threads), "BENCH_DEPTH": str(DEPTH)})
    return env


def run_under(tool_args, python, lib, threads, rounds, chunk):
    """Runs the short workload under a tool; (the library's counters or None when the tool
    failed, the scratch directory)."""
    d = tempfile.mkdtemp()
    rounds = max(2, rounds * THREADS // threads)
    cmd = ["timeout", str(TOOL_TIMEOUT_S), *[a.format(d=d) for a in tool_args], str(python),
           str(WORKLOAD), str(rounds), str(chunk)]
    r = subprocess.run(cmd, env=workload_env(lib, threads, d), capture_output=True, text=True)
    metas = [json.loads(p.read_text()) for p in Path(d).glob("p.*.json")]
    if r.returncode != 0 or not metas:
        print(f"sampler_thread_cpu: {' '.join(cmd[:4])} ... failed: {r.stderr[-500:]}",
              file=sys.stderr)
        return None, d
    return max((m["counters"] for m in metas), key=lambda c: c.get("passes", 0)), d


def inclusive_ir(annotated, functions):
    """Sum of the inclusive instruction counts callgrind_annotate gives for these functions (it
    may list a function more than once, by source path and by object)."""
    seen = {}
    for line in annotated.splitlines():
        m = re.match(r"\s*([\d,]+) \([^)]*\)\s+\S*:(\w+)(?:\.\w+)*( |$)", line)
        if m and m.group(2) in functions:
            seen[m.group(2)] = max(seen.get(m.group(2), 0), int(m.group(1).replace(",", "")))
    return sum(seen.values())


def callgrind_counts(python, lib, threads):
    collect = [f"--toggle-collect={f}" for f in COLLECT]
    counters, d = run_under(["valgrind", "--tool=callgrind", *collect,
                             "--callgrind-out-file={d}/cg.out"], python, lib, threads,
                             CG_ROUNDS, CG_CHUNK)
    try:
        if not counters or not counters.get("samples"):
            return None
        annotated = subprocess.run(["callgrind_annotate", "--inclusive=yes", "--threshold=100",
                                    "--auto=no", f"{d}/cg.out"], capture_output=True,
                                   text=True).stdout
        total = int(re.search(r"([\d,]+) \(100.0%\)\s+PROGRAM TOTALS", annotated)
                    .group(1).replace(",", ""))
        walks = inclusive_ir(annotated, {"pp_for_each_thread"})
        drains = inclusive_ir(annotated, set(DRAINS))
        records = sum(counters.get(k, 0) for k in RECORDS)
        return {"ir_per_sample": walks / counters["samples"],
                "ir_per_record": drains / records if records else None,
                "ir_per_pass": (total - walks - drains) / counters["passes"],
                "records_per_sample": records / counters["samples"]}
    finally:
        subprocess.run(["rm", "-rf", d])


def strace_counts(python, lib, threads):
    counters, d = run_under(["strace", "-f", "-qq", "-o", "{d}/trace"], python, lib, threads,
                             ST_ROUNDS, ST_CHUNK)
    try:
        if not counters or not counters.get("samples"):
            return None
        calls = {}  # tid -> [system calls, reads of the process]
        for line in Path(d, "trace").read_text(errors="replace").splitlines():
            tid, _, rest = line.partition(" ")
            rest = rest.lstrip()  # strace pads the pid column
            if rest.startswith("<...") or rest.startswith("+++") or rest.startswith("---"):
                continue  # the end of a call already counted, an exit or a signal
            c = calls.setdefault(tid, [0, 0])
            c[0] += 1
            # (the library falls back to pread64 of /proc/self/mem where process_vm_readv fails;
            # through the sampler thread's private pipe a copy is a writev from the process's
            # memory, then a readv back)
            c[1] += rest.startswith(("process_vm_readv(", "pread64(", "writev("))
        sampler = max(calls.values(), key=lambda c: c[1])
        return {"syscalls_per_sample": sampler[0] / counters["samples"],
                "vm_reads_per_sample": sampler[1] / counters["samples"]}
    finally:
        subprocess.run(["rm", "-rf", d])


def count(args, libs, names, thread_counts):
    chroot = {"3.14", "3.15"}
    pys = [(v, py) for v, py in pythons() if not args.python or v in args.python]
    print(f"deterministic counts, {DEPTH} frames, {RATE_HZ} Hz, budget lifted, short run "
          f"({CG_ROUNDS} x {CG_CHUNK} per thread at {THREADS} threads)")
    print("| CPython | threads | library | instructions per thread sample | per record drained "
          "| other, per pass | system calls per sample | of which reads of the process |")
    print("|---|---|---|---|---|---|---|---|")
    for version, py in pys:
        for threads in thread_counts:
            for lib in libs:
                cg = None if version in chroot else callgrind_counts(py, lib, threads)
                st = None if version in chroot else strace_counts(py, lib, threads)
                f = (lambda r, k, fmt: "–" if not r or r.get(k) is None else fmt.format(r[k]))
                print(f"| {version} | {threads} | {names[lib]} | "
                      f"{f(cg, 'ir_per_sample', '{:,.0f}')} | "
                      f"{f(cg, 'ir_per_record', '{:,.0f}')} | "
                      f"{f(cg, 'ir_per_pass', '{:,.0f}')} | "
                      f"{f(st, 'syscalls_per_sample', '{:.2f}')} | "
                      f"{f(st, 'vm_reads_per_sample', '{:.2f}')} |", flush=True)


if __name__ == "__main__":
    main()
