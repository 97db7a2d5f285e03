"""`podprof run`: the environment CMD gets, exit status and signals passed through, and the summary
of exactly the profiles this run wrote."""
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from podprof_pprof import flush_line, run_fixture, stack_line
from podprof_testenv import BUILD, ROOT, SANITIZED, asan_runtime_preload

PODPROF = BUILD / "bin" / "podprof"
LIBRARY = (BUILD / "lib" / "libpodprof.so").resolve()
FIXTURE = BUILD / "tests" / "output" / "pprof_fixture"
S = 1_000_000_000
PYENV_VERSIONS = Path(subprocess.run(["sh", "-c", "pyenv root 2>/dev/null || echo ~/.pyenv"],
                                     capture_output=True, text=True).stdout.strip()) / "versions"


def base_env(**extra):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("DD_") and k != "LD_PRELOAD"}
    if SANITIZED:
        # The ASan-built library needs the ASan runtime in the process; podprof prepends itself,
        # so the runtime cannot be first in LD_PRELOAD.
        env["LD_PRELOAD"] = ":".join(asan_runtime_preload())
        env["ASAN_OPTIONS"] = "verify_asan_link_order=0:detect_leaks=0"
    env.update(extra)
    return env


def run(*args, env=None, **kw):
    return subprocess.run([str(PODPROF), "run", *map(str, args)], capture_output=True, text=True,
                          timeout=60, env=env or base_env(), **kw)


def test_environment_and_exit_status(tmp_path):
    prefix = tmp_path / "out" / "prof"
    r = run("--output", prefix, "--rate", "50", "--", "sh", "-c",
            'printf "%s|%s|%s|%s" "$LD_PRELOAD" "$DD_PROFILING_ENABLED" '
            '"$DD_PROFILING_OUTPUT_PPROF" "$DD_PROFILING_SAMPLE_RATE"; exit 3')
    assert r.returncode == 3
    preload, enabled, output, rate = r.stdout.split("|")
    assert preload.split(":")[0] == str(LIBRARY)
    assert enabled == "true" and output == str(prefix) and rate == "50"
    assert (tmp_path / "out").is_dir()  # created for the run
    assert r.stderr == (f"podprof run: no profile was written under {prefix} (is CMD a CPython "
                        "3.8-3.13 program, and did it run long enough to be sampled?)\n")


def test_prepends_to_existing_preload_and_keeps_rate(tmp_path):
    env = base_env(DD_PROFILING_SAMPLE_RATE="33")
    existing = env.get("LD_PRELOAD")
    env["LD_PRELOAD"] = ":".join(filter(None, [existing, "libm.so.6"]))
    r = run("--output", tmp_path / "p", "sh", "-c", 'printf "%s|%s" "$LD_PRELOAD" '
            '"$DD_PROFILING_SAMPLE_RATE"', env=env)
    assert r.returncode == 0, r.stderr
    assert r.stdout == f"{LIBRARY}:{env['LD_PRELOAD']}|33"


def test_default_output_is_a_fresh_directory(tmp_path):
    r = run("sh", "-c", 'printf %s "$DD_PROFILING_OUTPUT_PPROF"', env=base_env(TMPDIR=str(tmp_path)))
    assert r.returncode == 0
    out = r.stdout
    assert out.startswith(f"{tmp_path}/podprof-run-") and out.endswith("/profile")
    assert os.path.isdir(os.path.dirname(out))


def test_cannot_start_command(tmp_path):
    r = run("--output", tmp_path / "p", "--", "/no/such/program")
    assert r.returncode == 127
    assert r.stderr == "podprof run: cannot run '/no/such/program': No such file or directory\n"


def test_usage_errors():
    for args in (["--rate", "fast", "--", "true"], ["--rate", "0", "true"], ["--what", "true"],
                 []):
        r = run(*args)
        assert r.returncode == 2, args
        assert r.stderr.count("\n") == 1 and r.stderr.startswith("podprof run: ")


def test_forwards_signals_and_returns_child_status(tmp_path):
    ready = tmp_path / "ready"
    proc = subprocess.Popen(
        [str(PODPROF), "run", "--output", str(tmp_path / "p"), "--", "sh", "-c",
         f'trap "exit 7" TERM; trap "exit 9" USR1; touch {ready}; '
         'while :; do sleep 0.05; done'],
        env=base_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 30
    while not ready.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert ready.exists()
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 7


def test_dies_by_the_signal_that_killed_the_child(tmp_path):
    r = run("--output", tmp_path / "p", "--", "sh", "-c", "kill -TERM $$")
    assert r.returncode == -signal.SIGTERM


def test_summary_covers_only_this_runs_profiles(tmp_path):
    prefix = tmp_path / "prof"
    # A profile left by an earlier run under the same prefix must not be summarised.
    run_fixture(BUILD, stack_line(1, 1, "t", 5 * S, 5 * S, 1, [("earlier", "/e.py", 1)])
                + flush_line(0, S), "--prefix", prefix)
    script = tmp_path / "script"
    script.write_text(stack_line(1, 1, "MainThread", 3 * S, 3 * S, 1,
                                 [("hot", "/app/hot.py", 3), ("main", "/app/m.py", 1)])
                      + stack_line(1, 1, "MainThread", S, S, 1,
                                   [("warm", "/app/hot.py", 9), ("main", "/app/m.py", 1)])
                      + flush_line(0, 4 * S)
                      + stack_line(2, 2, "idle", 0, 4 * S, 1, [("wait", "/app/w.py", 2)])
                      + flush_line(4 * S, 8 * S))
    r = run("--output", prefix, "--", "sh", "-c",
            f'{FIXTURE} --prefix "$DD_PROFILING_OUTPUT_PPROF" < {script}; exit 4')
    assert r.returncode == 4
    err = r.stderr
    assert f"podprof run: profiles in {prefix}.*" in err
    assert "2 profiles over 8.00s: CPU 4.00s in 3 samples, wall 8.00s in 3 samples" in err
    assert "earlier" not in err
    cpu, wall = err.split("Top functions by CPU time")[1].split("Top functions by wall time")
    assert cpu.index("hot (/app/hot.py)") < cpu.index("warm (/app/hot.py)")
    assert "75.0%" in cpu and "wait" not in cpu
    assert "wait (/app/w.py)" in wall and "50.0%" in wall
    assert r.stdout == "flush rc=0 generation=0 dropped=0\n" * 2


def test_help_lists_the_options():
    r = run("--help")
    assert r.returncode == 0
    for opt in ("--output PREFIX", "--rate HZ", "--limit N"):
        assert opt in r.stdout



SAMPLER_BUILT = (ROOT / "sampler" / "lib" / "sampler.c").exists()
APP = """
import threading, time
def hot(n):
    x = 0
    for i in range(n):
        x += i * i % 7
    return x
def sleeper():
    time.sleep(1.2)
t = threading.Thread(target=sleeper, name="sleepy-\\u00e9")
t.start()
end = time.time() + 1.2
while time.time() < end:
    hot(20000)
t.join()
"""


def pick_python():
    for v in ("3.12", "3.11", "3.13", "3.10", "3.9", "3.8"):
        found = sorted(PYENV_VERSIONS.glob(f"{v}.*/bin/python3"))
        if found:
            return str(found[-1])
    return "/usr/bin/python3"


@pytest.mark.skipif(not SAMPLER_BUILT, reason="the sampler (sampler-core) is not in this tree")
def test_profiles_a_real_python_program(tmp_path):
    app = tmp_path / "app.py"
    app.write_text(APP)
    prefix = tmp_path / "prof"
    r = run("--output", prefix, "--", pick_python(), app, env=base_env(PYTHONDONTWRITEBYTECODE="1"))
    assert r.returncode == 0, r.stderr
    err = r.stderr
    assert f"podprof run: profiles in {prefix}.*" in err, err
    cpu, wall = err.split("Top functions by CPU time")[1].split("Top functions by wall time")
    first_cpu = cpu.splitlines()[2]
    assert first_cpu.endswith(f"hot ({app})"), cpu
    assert float(first_cpu.split()[1].rstrip("%")) > 80
    assert f"sleeper ({app})" in wall
    # podprof top on the same files prints the same tables.
    files = sorted(str(p) for p in tmp_path.glob("prof.*.pprof"))
    top = subprocess.run([str(PODPROF), "top", *files], capture_output=True, text=True)
    assert top.returncode == 0
    assert top.stdout.split("Top functions")[1:] == err.split("Top functions")[1:]
