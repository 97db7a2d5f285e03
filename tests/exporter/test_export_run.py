"""`podprof run` uploads like the sidecar when an agent is configured, and still summarises."""
import subprocess

from agent_double import AgentDouble
from exporter_helpers import PODPROF, SANITIZED, exporter_env
from podprof_testenv import asan_runtime_preload
from test_export_e2e import APP, python_exe, sampler_works  # noqa: F401


def run_env(**extra):
    env = exporter_env(**extra)
    if SANITIZED:
        env["LD_PRELOAD"] = ":".join(asan_runtime_preload())
        env["ASAN_OPTIONS"] = "verify_asan_link_order=0:detect_leaks=0"
    env.update({"DD_PROFILING_UPLOAD_INTERVAL": "1", "DD_SERVICE": "run-svc"})
    return env


def test_podprof_run_uploads_and_still_summarises(tmp_path, sampler_works):  # noqa: F811
    out = tmp_path / "out"
    with AgentDouble() as agent:
        r = subprocess.run([str(PODPROF), "run", "--output", str(out / "profile"), "--",
                            python_exe(), "-c", APP, "600"],
                           env=run_env(DD_TRACE_AGENT_URL=agent.url), capture_output=True,
                           text=True, timeout=180)
        assert r.returncode == 0, r.stderr
        ups = list(agent.uploads)
    assert ups and all(u.errors == [] for u in ups), [u.errors for u in ups]
    assert all(u.tags["service"] == "run-svc" for u in ups)
    funcs = {u.profile.string_table[f.name] for u in ups for f in u.profile.function}
    assert "burn_cpu" in funcs
    assert "burn_cpu" in r.stderr  # the summary read the kept .pprof files
    left = sorted(p.suffix for p in out.iterdir())
    assert left and set(left) == {".pprof"}  # every pair was handled, the profiles kept
    assert len(left) == len(ups)


def test_podprof_run_without_agent_does_not_upload(tmp_path, sampler_works):  # noqa: F811
    out = tmp_path / "out"
    r = subprocess.run([str(PODPROF), "run", "--output", str(out / "profile"), "--",
                        python_exe(), "-c", APP, "200"], env=run_env(), capture_output=True,
                       text=True, timeout=180)
    assert r.returncode == 0, r.stderr
    assert "podprof export" not in r.stderr
    assert list(out.glob("*.json"))  # nobody consumed them


def test_podprof_run_summary_skips_fifo_and_links_named_like_profiles(tmp_path,
                                                                      sampler_works):  # noqa: F811
    """The command run may write anything into the output directory: a FIFO named like a profile
    (an open of which would wait forever for a writer) and a link to /dev/zero are skipped with
    one line each, and the real profiles are still summarised."""
    out = tmp_path / "out"
    plant = (f"import os, sys; os.mkfifo({str(out / 'profile.1.1.pprof')!r}); "
             f"os.symlink('/dev/zero', {str(out / 'profile.1.2.pprof')!r}); "
             f"sys.argv = ['app', '600']; exec({APP!r})")
    r = subprocess.run([str(PODPROF), "run", "--output", str(out / "profile"), "--",
                        python_exe(), "-c", plant], env=run_env(), capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    skipped = [l for l in r.stderr.splitlines() if "skipped" in l]
    assert len(skipped) == 2, r.stderr
    assert any("profile.1.1.pprof: a FIFO" in l for l in skipped)
    assert any("profile.1.2.pprof: a symbolic link" in l for l in skipped)
    assert "burn_cpu" in r.stderr
