"""What the library must never do to the process it lives in, one test per promise: no descriptor
the application can close and reuse, the application's SIGTERM handler and exit status untouched,
no profile from a process that had nothing to sample, and one profiler per process next to
Datadog's ddtrace (the real package from PyPI). The SIGTERM races themselves are unit-tested in
tests/unit/test_sigterm_default.c, where they can be made to happen."""
import http.server
import json
import os
import signal
import subprocess
import threading

import pytest

import entry_deps
from podprof_testenv import SANITIZED
from pprof_decode import decode
from test_sampler import PYTHONS, WORKLOADS, all_samples, names, preload_env, profiles, run


def fd_reuse(python, tmp_path, mode, seconds=1.5, **extra):
    scratch = tmp_path / "scratch"
    scratch.mkdir(exist_ok=True)
    r = run(python, [WORKLOADS / "fd_reuse.py", seconds, mode, scratch], tmp_path, **extra)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout.splitlines()[-1])


@pytest.mark.parametrize("reads", ["process_vm_readv", "proc_mem"])
def test_app_closing_and_reusing_descriptors_loses_nothing(reads, tmp_path):
    """os.closerange(3, ...) then new sockets, pipes and files, for 1.5 s while sampled: with
    process_vm_readv the library holds no descriptor at any time; with the /proc/self/mem fallback
    only during a pass, and a number the application took over is never read, written or
    closed by it."""
    extra = {"PODPROF_TEST_FORCE_PROC_MEM_READS": 1} if reads == "proc_mem" else {}
    mode = "strict" if reads == "process_vm_readv" else "lenient"
    result = fd_reuse(PYTHONS["3.12.1"], tmp_path, mode, **extra)
    assert result["rounds"] >= 10, result
    assert (result["lost"], result["corrupt"], result["extra"]) == (0, 0, 0), result
    assert result["foreign"] == [], result
    assert any("stress_fd_round_trips" in names(s) for s in all_samples(tmp_path))


@pytest.mark.parametrize("version", ["3.8.18", "3.12.1"])
def test_sampler_thread_writes_to_the_apps_current_stderr_and_holds_no_other(version, tmp_path):
    """The sampler thread keeps its own descriptors out of the application's reach (a table of its
    own, for the pipe it reads memory through). Its lines must still go to the application's
    stderr as it is now, and it must not keep the old one open: an application that points its
    stderr at a file (daemonising) ends the pipe its parent reads at once, and the profile write
    that then fails is reported in the file. Certain, not timed: the old stderr's end is awaited
    for 20 s, and without the release it only comes when the process exits, after that."""
    profile_dir, new_stderr, marker = tmp_path / "out", tmp_path / "stderr.txt", tmp_path / "eof"
    profile_dir.mkdir()
    env = preload_env(tmp_path, DD_PROFILING_OUTPUT_PPROF=profile_dir / "prof",
                      DD_PROFILING_UPLOAD_INTERVAL="0.2")
    p = subprocess.Popen([str(PYTHONS[version]), str(WORKLOADS / "stderr_swap.py"), profile_dir,
                          new_stderr, marker], env=env, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)

    def await_end():
        p.stderr.read()
        marker.touch()

    reader = threading.Thread(target=await_end)
    reader.start()
    out = p.stdout.read()
    p.wait(timeout=60)
    reader.join()
    assert p.returncode == 0, new_stderr.read_text()
    got = json.loads(out.splitlines()[-1])
    # (a sanitizer build keeps the stderr of the sampler's start, for its own reports)
    assert got == {"line": True, "released": not SANITIZED}, new_stderr.read_text()
    assert "cannot write" in new_stderr.read_text()


def test_sigterm_during_the_exit_flush_keeps_the_exit_status(tmp_path):
    """sys.exit(7), and a SIGTERM while the library writes the last profile: status 7."""
    r = run(PYTHONS["3.12.1"], [WORKLOADS / "exit_during_flush.py"], tmp_path)
    assert "sent-during-flush" in r.stdout, (r.stdout, r.stderr)
    assert r.returncode == 7, r.stderr


@pytest.mark.parametrize("version", ["3.8.18", "3.12.1", "debian"])
def test_nothing_sampled_writes_nothing(version, tmp_path):
    """`python -c pass` ends long before the first pass (1 s at 1 Hz): no file, nothing to
    upload."""
    r = run(PYTHONS[version], ["-c", "pass"], tmp_path, DD_PROFILING_SAMPLE_RATE=1)
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == []


ATEXIT_LATE = """
import sys, time
sys.path.insert(0, %r)
import hooks_ready
hooks_ready.wait_for_hooks(required=True)  # the installers' first try has run
if sys.modules.get("atexit", 0) is None:
    del sys.modules["atexit"]
import atexit
end = time.monotonic() + 30
while atexit._ncallbacks() == 0 and time.monotonic() < end:
    pass  # bytecode: the pending call that tries again runs between two instructions
print(atexit._ncallbacks())
"""


@pytest.mark.parametrize("version", ["3.8.18", "3.13.0"])
def test_exit_drain_registered_when_atexit_came_late(version, tmp_path):
    """A sitecustomize makes `import atexit` fail (None in sys.modules) until the program puts it
    back, once the installers' first try has run. That try (after sitecustomize but for a
    start-up race, when atexit was not imported yet) cannot register the library's atexit
    callback, says why and is tried again 0.1 s, 1 s and 10 s later: the callback ends up
    registered, and nothing else registers one in this program."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(
        "import sys\nif 'atexit' not in sys.modules:\n    sys.modules['atexit'] = None\n")
    out = tmp_path / "prof"
    out.mkdir()
    code = ATEXIT_LATE % str(WORKLOADS.parent.parent)
    r = run(PYTHONS[version], ["-c", code], out, PYTHONPATH=str(site))
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["1"], (r.stdout, r.stderr)


ATEXIT_NEVER_IMPORTED = """
import sys, time
early = "atexit" in sys.modules
# (callbacks registered before this line, by the installer or by start-up code)
before = sys.modules["atexit"]._ncallbacks() if early else 0
end = time.monotonic() + 1.5  # the installers' first try runs within the first passes
while time.monotonic() < end:
    pass
after = sys.modules["atexit"]._ncallbacks() if "atexit" in sys.modules else 0
print(early, before, after)
"""


@pytest.mark.parametrize("version", sorted(PYTHONS))
def test_exit_drain_leaves_the_apps_stderr_alone(version, tmp_path):
    """A program that never imports atexit: the installer imports it (outside any import the
    program makes) and registers the library's callback, and writes nothing on the program's
    stderr. Its check for an import under way once asked `_blocking_on` with PyMapping_HasKey,
    which on 3.13+ (where that is a `_WeakValueDictionary`) printed "Exception ignored in
    PyMapping_HasKey()" and a traceback into every such program's stderr."""
    r = run(PYTHONS[version], ["-c", ATEXIT_NEVER_IMPORTED], tmp_path)
    assert r.returncode == 0, r.stderr
    early, before, after = r.stdout.split()
    # (atexit imported at start-up, as some builds' site does: the callback may predate the
    # program's first line)
    assert int(after) - int(before) == 1 or (early == "True" and after == before != "0"), \
        (r.stdout, r.stderr)
    for junk in ("Exception ignored", "Traceback", "Error"):
        assert junk not in r.stderr, r.stderr


IMPORT_WINDOW = """
import sys, time, _thread
sys.path.insert(0, %r)
import hooks_ready
import _frozen_importlib as bootstrap
early = "atexit" in sys.modules  # the installers' first try ran before this line
marker = object()
# as inside importlib's module-lock acquire, until the first try has run
bootstrap._blocking_on[_thread.get_ident()] = marker
hooks_ready.wait_for_hooks(required=True)
kept = bootstrap._blocking_on.get(_thread.get_ident()) is marker
del bootstrap._blocking_on[_thread.get_ident()]
import atexit
end = time.monotonic() + 30
while atexit._ncallbacks() == 0 and time.monotonic() < end:
    pass
print(early, kept, atexit._ncallbacks())
"""


@pytest.mark.parametrize("version", ["3.8.18", "3.10.13"])
def test_exit_drain_never_imports_inside_an_import(version, tmp_path):
    """Through 3.11 importlib keeps, while a thread acquires a module lock, one entry under its
    ident in `_blocking_on` and deletes it after: an import made there, by a pending call between
    two of its instructions, replaces and deletes that entry, and the application's import fails
    with a KeyError (seen once in a gunicorn test on 3.8). The program plants such an entry until
    the installers' first try has run: the entry must survive, and the atexit callback must be
    registered by a later try. (When the first try ran before the program's first line, as a
    start-up race allows, only the second holds; atexit is not imported at start-up on these
    versions, so `early` tells.)"""
    code = IMPORT_WINDOW % str(WORKLOADS.parent.parent)
    r = run(PYTHONS[version], ["-c", code], tmp_path)
    assert r.returncode == 0, r.stderr
    early, kept, callbacks = r.stdout.split()
    assert callbacks == "1", (r.stdout, r.stderr)
    assert kept == "True" or early == "True", (r.stdout, r.stderr)


def test_app_handlers_run_and_exit_status_is_the_apps(tmp_path):
    """Handlers installed through signal.signal before the sampler starts (sitecustomize runs
    while the interpreter initializes) and after (once a profile was written): each runs for its
    signal, and the process ends with the status the SIGTERM handler chose."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(
        "import signal\n"
        "early = []\n"
        "signal.signal(signal.SIGTERM, lambda s, f: early.append(s))\n")
    (tmp_path / "out").mkdir()
    r = run(PYTHONS["3.12.1"], [WORKLOADS / "app_signals.py"], tmp_path / "out",
            PYTHONPATH=site, DD_PROFILING_UPLOAD_INTERVAL=0.3)
    assert r.returncode == 42, r.stderr
    assert json.loads(r.stdout.splitlines()[-1]) == {
        "early_sigterm": 1, "late_sigterm": 1, "sigint": 2, "sigchld": 3, "libc_sigterm": 1}
    assert any("app_signals_work" in names(s) for s in all_samples(tmp_path / "out"))


def test_inherited_sig_ign_is_kept(tmp_path):
    """SIGTERM ignored by whoever started the process stays ignored; the exit flush still runs."""
    env = preload_env(tmp_path)
    code = ("import os, signal, time\n"
            "def inherited_ign_work():\n"
            "    end = time.thread_time() + 0.3\n"
            "    while time.thread_time() < end: pass\n"
            "inherited_ign_work()\n"
            "os.kill(os.getpid(), signal.SIGTERM)\n"
            "time.sleep(0.2)\n"
            "print(signal.getsignal(signal.SIGTERM) == signal.SIG_IGN)\n")
    r = subprocess.run([str(PYTHONS["3.12.1"]), "-c", code], env=env, capture_output=True,
                       text=True, timeout=60,
                       preexec_fn=lambda: signal.signal(signal.SIGTERM, signal.SIG_IGN))
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["True"]
    assert any("inherited_ign_work" in names(s) for s in all_samples(tmp_path))


# ---- ddtrace ----

DDTRACE_PYTHON = PYTHONS["3.12.1"]  # ddtrace 4.16 ships binary wheels for 3.9-3.14
QUIET_DDTRACE = {"DD_INSTRUMENTATION_TELEMETRY_ENABLED": "false",
                 "DD_REMOTE_CONFIGURATION_ENABLED": "false", "DD_CRASHTRACKING_ENABLED": "false",
                 "DD_TRACE_ENABLED": "false"}
# ddtrace's native profiler and ASan's preloaded runtime are not meant to share a process.
no_asan = pytest.mark.skipif(SANITIZED, reason="ddtrace's native profiler under ASan's preload")


@pytest.fixture(scope="module")
def ddtrace_site():
    return entry_deps.ddtrace(DDTRACE_PYTHON)


class FakeAgent:
    """A loopback HTTP server that records what ddtrace sends to its agent."""

    def __init__(self):
        posts = self.posts = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                self.rfile.read(int(self.headers.get("content-length", 0)))
                posts.append(self.path)
                self.send_response(200)
                self.end_headers()

            do_PUT = do_POST

            def do_GET(self):
                self.send_response(404)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    def profile_uploads(self):
        return [p for p in self.posts if p.startswith("/profiling/")]


@pytest.fixture
def agent():
    a = FakeAgent()
    yield a
    a.close()


def run_ddtrace_app(tmp_path, site, agent, argv, output_prefix):
    env = preload_env(tmp_path, **QUIET_DDTRACE, PYTHONPATH=site, DD_TRACE_AGENT_URL=agent.url,
                      TMPDIR=tmp_path)
    if output_prefix is None:
        del env["DD_PROFILING_OUTPUT_PPROF"]
    else:
        env["DD_PROFILING_OUTPUT_PPROF"] = str(output_prefix)
    r = subprocess.run([str(DDTRACE_PYTHON)] + argv, env=env, capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr
    podprof_lines = [line for line in r.stderr.splitlines() if line.startswith("podprof: ")
                     and "DD_PROFILING_OUTPUT_PPROF is not set" not in line]
    return r.stdout.split(), podprof_lines


def ddtrace_run(script, *args):
    return ["-m", "ddtrace.commands.ddtrace_run", str(DDTRACE_PYTHON), str(script), *args]


@no_asan
def test_ddtrace_profiler_uploading_itself_makes_podprof_stand_down(tmp_path, ddtrace_site,
                                                                    agent):
    """ddtrace-run with DD_PROFILING_ENABLED=true and no DD_PROFILING_OUTPUT_PPROF: ddtrace's
    profiler uploads to its agent; podprof says so once and writes nothing."""
    out, lines = run_ddtrace_app(tmp_path, ddtrace_site, agent,
                                 ddtrace_run(WORKLOADS / "ddtrace_app.py"), None)
    assert out == ["libdd_wrapper=1", "ddtrace_profiler=1"]
    assert len(lines) == 1 and "podprof stands down" in lines[0], lines
    assert agent.profile_uploads(), agent.posts
    assert sorted(tmp_path.glob("podprof*")) == []


@no_asan
def test_ddtrace_profiler_writing_files_leaves_podprof_profiling(tmp_path, ddtrace_site, agent):
    """With DD_PROFILING_OUTPUT_PPROF set (as in every injected pod) ddtrace's profiler writes
    its profiles there and uploads none: podprof's are the only ones delivered, so it keeps
    profiling, and says so once."""
    out, lines = run_ddtrace_app(tmp_path, ddtrace_site, agent,
                                 ddtrace_run(WORKLOADS / "ddtrace_app.py"), tmp_path / "prof")
    assert out == ["libdd_wrapper=1", "ddtrace_profiler=1"]
    assert len(lines) == 1 and "keeps profiling" in lines[0], lines
    assert agent.profile_uploads() == [], agent.posts
    assert sorted(tmp_path.glob("prof.*.info.json")), "ddtrace wrote no profile"
    ours = [p for p in tmp_path.glob("prof.*.json")
            if json.loads(p.read_text()).get("profiler") == "podprof"]
    samples = [s for p in ours for s in decode(p.with_suffix(".pprof"))["samples"]]
    assert any("ddtrace_app_work" in names(s) for s in samples)


@no_asan
def test_ddtrace_loaded_without_its_profiler_is_no_reason_to_stand_down(tmp_path, ddtrace_site,
                                                                        agent):
    """ddtrace's settings load its native profiling library even with no profiler started:
    podprof profiles as usual."""
    out, lines = run_ddtrace_app(tmp_path, ddtrace_site, agent,
                                 [str(WORKLOADS / "ddtrace_app.py"), "settings-only"], None)
    assert out == ["libdd_wrapper=1", "ddtrace_profiler=0"]
    assert lines == []
    assert agent.profile_uploads() == []
    metas = [json.loads(p.read_text()) for p in tmp_path.glob("podprof.*.json")]
    assert metas and sum(m["counters"]["samples"] for m in metas) > 0
