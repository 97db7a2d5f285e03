"""Faults: the exporter keeps running, logs one clear rate-limited line per kind, counts what
happened (the counters reach the next event.json), retries only what is worth retrying, and
deletes a profile only once delivered or given up."""
import gzip
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from agent_double import AgentDouble, free_port, tls_server_context
from exporter_helpers import spool  # noqa: F401  (fixture)
from exporter_helpers import (PODPROF, SANITIZED, Exporter, exporter_env, run_once, wait_until,
                              write_pair)


def lines_with(text, tag):
    return [l for l in text.splitlines() if f"[{tag}]" in l]


def test_refused_is_retried_then_given_up_and_counted(spool):
    port = free_port()
    with Exporter(spool, DD_TRACE_AGENT_URL=f"http://127.0.0.1:{port}",
                  PODPROF_EXPORT_MAX_ATTEMPTS=3) as ex:
        for seq in (1, 2, 3):
            write_pair(spool, seq=seq)
        # every pair is tried three times, then dropped
        assert wait_until(lambda: list(spool.iterdir()) == [], timeout=30)
        assert ex.alive()
        with AgentDouble(port=port) as agent:
            write_pair(spool, seq=4)
            ups = agent.wait_for(1)
            assert len(ups) == 1 and ups[0].errors == []
        assert ex.stop() == 0
    faults = ups[0].event["internal"]["exporter"]["faults"]
    assert faults["refused"] == 9
    assert faults["gave_up"] == 3
    assert ups[0].event["internal"]["exporter"]["retries"] == 6
    # nine refusals, one line (rate-limited); each give-up is also one kind: one line
    assert len(lines_with(ex.stderr, "refused")) == 1, ex.stderr
    assert "Connection refused" in lines_with(ex.stderr, "refused")[0] or \
        "onnect" in lines_with(ex.stderr, "refused")[0]
    assert len(lines_with(ex.stderr, "gave_up")) == 1


def test_500_then_success_retries(spool):
    write_pair(spool)
    with AgentDouble() as agent:
        agent.script = [{"status": 500}, {"status": 503}]
        r = run_once(spool, DD_TRACE_AGENT_URL=agent.url)
        assert r.returncode == 0, r.stderr
        ups = agent.wait_for(3)
    assert len(ups) == 3 and all(u.errors == [] for u in ups)
    last = ups[-1].event["internal"]["exporter"]
    assert last["faults"]["http_retryable"] == 2 and last["retries"] == 2
    assert list(spool.iterdir()) == []
    assert len(lines_with(r.stderr, "http_retryable")) == 1
    assert "HTTP 500" in r.stderr


def test_413_is_not_retried(spool):
    write_pair(spool)
    with AgentDouble(default={"status": 413}) as agent:
        r = run_once(spool, DD_TRACE_AGENT_URL=agent.url)
        time.sleep(0.3)
        assert len(agent.uploads) == 1
    assert r.returncode == 1  # --once: a profile was dropped
    assert list(spool.iterdir()) == []
    line = lines_with(r.stderr, "http_rejected")
    assert len(line) == 1 and "HTTP 413" in line[0] and "dropped" in line[0]


@pytest.mark.parametrize("behaviour,kind", [({"stall": 8}, "timeout"), ({"drip": 8}, "timeout"),
                                            ({"reset": True}, "connection")])
def test_hanging_dripping_resetting_agent(spool, behaviour, kind):
    write_pair(spool)
    with AgentDouble(default=behaviour) as agent:
        t0 = time.monotonic()
        r = run_once(spool, DD_TRACE_AGENT_URL=agent.url, DD_PROFILING_API_TIMEOUT_MS=700,
                     PODPROF_EXPORT_MAX_ATTEMPTS=2, timeout=60)
        took = time.monotonic() - t0
    print(f"{behaviour}: 2 attempts with a 700 ms timeout took {took:.2f}s")
    assert r.returncode == 1
    assert len(lines_with(r.stderr, kind)) == 1, r.stderr
    assert len(lines_with(r.stderr, "gave_up")) == 1


def test_dns_failure(spool):
    write_pair(spool)
    r = run_once(spool, DD_AGENT_HOST="podprof-no-such-agent.invalid",
                 DD_PROFILING_API_TIMEOUT_MS=1500, PODPROF_EXPORT_MAX_ATTEMPTS=2)
    assert r.returncode == 1
    # an offline resolver may time out instead of answering NXDOMAIN
    assert lines_with(r.stderr, "dns") or lines_with(r.stderr, "timeout"), r.stderr


def test_unix_socket_and_missing_socket(spool, tmp_path):
    sock = tmp_path / "apm.socket"
    write_pair(spool, seq=1)
    with AgentDouble(unix_path=sock) as agent:
        r = run_once(spool, DD_TRACE_AGENT_URL=f"unix://{sock}")
        assert r.returncode == 0, r.stderr
        ups = agent.wait_for(1)
    assert len(ups) == 1 and ups[0].errors == []
    write_pair(spool, seq=2)
    r = run_once(spool, DD_TRACE_AGENT_URL=f"unix://{tmp_path}/missing/apm.socket",
                 PODPROF_EXPORT_MAX_ATTEMPTS=2)
    assert r.returncode == 1
    line = lines_with(r.stderr, "socket_missing")
    assert len(line) == 1 and "missing/apm.socket" in line[0]


def test_corrupt_and_half_written_spool_files(spool):
    write_pair(spool, seq=1)
    whole = (spool / "profile.4242.1.pprof").read_bytes()
    (spool / "profile.4242.1.pprof").write_bytes(whole[: len(whole) // 2])  # half-written gzip
    write_pair(spool, seq=2, pprof=b"\x0a\xff\xff\xff\x0f")  # raw bytes that are no Profile
    write_pair(spool, seq=3, pprof=gzip.compress(b""))
    write_pair(spool, seq=4)
    (spool / "profile.4242.4.json").write_text('{"start": "2026-11-22T08:0')  # truncated json
    write_pair(spool, seq=5)
    (spool / "profile.4242.5.pprof").unlink()  # metadata without its profile
    (spool / "profile.4242.6.pprof").write_bytes(whole)  # profile still waiting for metadata
    write_pair(spool, seq=7)
    with AgentDouble() as agent:
        r = run_once(spool, DD_TRACE_AGENT_URL=agent.url)
        ups = agent.wait_for(1)
    assert r.returncode == 1
    assert len(ups) == 1 and ups[0].errors == []
    assert ups[0].event["internal"]["exporter"]["faults"]["corrupt_spool"] == 5
    assert len(lines_with(r.stderr, "corrupt_spool")) == 1, r.stderr
    # only the pprof still waiting for its metadata is left (it is not old enough to be an orphan)
    assert sorted(p.name for p in spool.iterdir()) == ["profile.4242.6.pprof"]


def test_full_spool_drops_oldest(spool):
    for seq in range(1, 7):
        write_pair(spool, seq=seq)
        t = time.time() - 100 + seq
        os.utime(spool / f"profile.4242.{seq}.json", (t, t))
    with AgentDouble() as agent:
        r = run_once(spool, DD_TRACE_AGENT_URL=agent.url, PODPROF_EXPORT_SPOOL_MAX_PROFILES=3)
        ups = agent.wait_for(3)
    assert r.returncode == 1
    assert len(ups) == 3
    pids = [u.tags["process_id"] for u in ups]
    assert pids == ["4242"] * 3
    got = sorted(u.event["end"] for u in ups)
    assert len(set(got)) == 3
    assert ups[-1].event["internal"]["exporter"]["spool_dropped"] == 3
    assert len(lines_with(r.stderr, "spool_full")) == 1


def test_labels_file_missing_or_malformed(spool, tmp_path):
    write_pair(spool, seq=1)
    write_pair(spool, seq=2)
    with AgentDouble() as agent:
        r = run_once(spool, DD_TRACE_AGENT_URL=agent.url,
                     DD_PROFILING_K8S_LABELS_FILE=tmp_path / "nope")
        ups = agent.wait_for(2)
    assert r.returncode == 0 and len(ups) == 2
    assert len(lines_with(r.stderr, "labels_missing")) == 1
    assert ups[1].event["internal"]["exporter"]["faults"]["labels_missing"] == 2
    labels = tmp_path / "labels"
    labels.write_text('app="shop"\nthis is not a label\nsquad="payments\n')
    write_pair(spool, seq=3)
    with AgentDouble() as agent:
        r = run_once(spool, DD_TRACE_AGENT_URL=agent.url, DD_PROFILING_K8S_LABELS_FILE=labels)
        up = agent.wait_for(1)[0]
    assert up.tags["app"] == "shop" and "squad" not in up.tags
    line = lines_with(r.stderr, "labels_malformed")
    assert len(line) == 1 and "2 malformed line(s)" in line[0] and "line 2" in line[0]


def make_cert(dirpath, name, cn_ip="127.0.0.1"):
    key, crt = dirpath / f"{name}.key", dirpath / f"{name}.crt"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", f"/CN={name}", "-addext", f"subjectAltName=IP:{cn_ip}",
                    "-keyout", str(key), "-out", str(crt)], check=True, capture_output=True)
    return crt, key


def test_agentless_over_tls_with_verification(spool, tmp_path):
    crt, key = make_cert(tmp_path, "intake")
    other, _ = make_cert(tmp_path, "someone-else")
    ctx = tls_server_context(crt, key)
    with AgentDouble(tls_context=ctx, agentless=True, expect_api_key="k-123") as agent:
        url = f"https://127.0.0.1:{agent.port}/api/v2/profile"
        write_pair(spool, seq=1)
        r = run_once(spool, DD_PROFILING_AGENTLESS="true", DD_API_KEY="k-123",
                     PODPROF_EXPORT_INTAKE_URL=url, PODPROF_EXPORT_CA_FILE=crt)
        assert r.returncode == 0, r.stderr
        ups = agent.wait_for(1)
        assert len(ups) == 1 and ups[0].errors == []
        assert "k-123" not in r.stderr
        # a peer whose certificate does not verify: one line, not retried, dropped
        write_pair(spool, seq=2)
        r = run_once(spool, DD_PROFILING_AGENTLESS="true", DD_API_KEY="k-123",
                     PODPROF_EXPORT_INTAKE_URL=url, PODPROF_EXPORT_CA_FILE=other)
        assert r.returncode == 1
        assert len(agent.uploads) == 1
        assert len(lines_with(r.stderr, "tls")) == 1 and "k-123" not in r.stderr
    # a peer that does not speak TLS at all
    with AgentDouble() as plain:
        write_pair(spool, seq=3)
        r = run_once(spool, DD_PROFILING_AGENTLESS="true", DD_API_KEY="k-123",
                     PODPROF_EXPORT_INTAKE_URL=f"https://127.0.0.1:{plain.port}/api/v2/profile",
                     PODPROF_EXPORT_CA_FILE=crt, PODPROF_EXPORT_MAX_ATTEMPTS=2)
        assert r.returncode == 1
        assert len(lines_with(r.stderr, "tls")) == 1, r.stderr


def test_agentless_intake_over_plain_http_is_refused(spool):
    """The API key travels in a header: an http:// intake is refused with one line (the default
    https intake is used instead) and the plain-HTTP peer never sees a request."""
    with AgentDouble() as plain:
        write_pair(spool)
        r = run_once(spool, DD_PROFILING_AGENTLESS="true", DD_API_KEY="k-123",
                     PODPROF_EXPORT_INTAKE_URL=f"http://127.0.0.1:{plain.port}/api/v2/profile",
                     DD_PROFILING_API_TIMEOUT_MS=1000, PODPROF_EXPORT_MAX_ATTEMPTS=1)
        assert plain.uploads == []
    assert sum("PODPROF_EXPORT_INTAKE_URL=http" in line for line in r.stderr.splitlines()) == 1, \
        r.stderr
    assert "https://intake.profile.datadoghq.com/api/v2/profile" in r.stderr
    assert "k-123" not in r.stderr


def test_agentless_default_url_and_missing_key(spool):
    write_pair(spool)
    r = run_once(spool, DD_PROFILING_AGENTLESS="true", DD_API_KEY="k", DD_SITE="datadoghq.eu",
                 DD_PROFILING_API_TIMEOUT_MS=1000, PODPROF_EXPORT_MAX_ATTEMPTS=1)
    assert "agentless intake https://intake.profile.datadoghq.eu/api/v2/profile" in r.stderr
    write_pair(spool)
    with AgentDouble() as agent:
        r = run_once(spool, DD_PROFILING_AGENTLESS="true", DD_TRACE_AGENT_URL=agent.url)
        assert r.returncode == 0
        assert len(agent.wait_for(1)) == 1
    assert "DD_API_KEY is not set" in r.stderr


def rss_kib(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def test_memory_stays_bounded_under_repeated_failures(spool):
    port = free_port()
    with Exporter(spool, DD_TRACE_AGENT_URL=f"http://127.0.0.1:{port}",
                  PODPROF_EXPORT_MAX_ATTEMPTS=2, PODPROF_EXPORT_RETRY_BASE_MS=1) as ex:
        def cycle(first, n):
            for seq in range(first, first + n):
                write_pair(spool, seq=seq)
            assert wait_until(lambda: list(spool.iterdir()) == [], timeout=60)
        cycle(1, 10)
        early = rss_kib(ex.proc.pid)
        cycle(11, 40)
        late = rss_kib(ex.proc.pid)
        assert ex.stop() == 0
    print(f"exporter RSS after 10 failed profiles {early} KiB, after 50 {late} KiB")
    if not SANITIZED:
        assert late - early < 2048


def test_undeletable_pair_is_not_sent_twice(tmp_path):
    """A spool the exporter may read but not write (wrong owner, read-only mount): each profile is
    still sent once, then remembered, never re-sent on later scans."""
    import shutil
    import tempfile
    if os.geteuid() != 0 or not shutil.which("setpriv"):
        pytest.skip("needs root and setpriv to run the exporter as another user")
    base = Path(tempfile.mkdtemp(prefix="podprof-ro-"))
    try:
        os.chmod(base, 0o755)
        ro = base / "spool"
        ro.mkdir(mode=0o755)
        for seq in (1, 2):
            write_pair(ro, seq=seq)
        with AgentDouble() as agent:
            env = exporter_env(DD_TRACE_AGENT_URL=agent.url, PODPROF_EXPORT_RESCAN_S=1)
            proc = subprocess.Popen(["setpriv", "--reuid=65534", "--regid=65534",
                                     "--clear-groups", str(PODPROF), "export", "--spool",
                                     str(ro)], env=env, stderr=subprocess.PIPE, text=True)
            try:
                assert len(agent.wait_for(2)) == 2
                time.sleep(3)  # three more rescans
                assert len(agent.uploads) == 2
            finally:
                proc.send_signal(signal.SIGTERM)
                _, err = proc.communicate(timeout=30)
        assert proc.returncode == 0
        assert len(list(ro.glob("*.json"))) == 2
        assert len(lines_with(err, "other")) == 1 and "will not be sent again" in err
    finally:
        shutil.rmtree(base, ignore_errors=True)


def test_default_agent_socket_used_when_nothing_is_configured(spool):
    sock_dir = Path("/var/run/datadog")
    if os.geteuid() != 0 or sock_dir.exists():
        pytest.skip("needs root and no real /var/run/datadog on this machine")
    sock_dir.mkdir(parents=True)
    try:
        with AgentDouble(unix_path=sock_dir / "apm.socket") as agent:
            write_pair(spool)
            r = run_once(spool)
            assert r.returncode == 0, r.stderr
            assert len(agent.wait_for(1)) == 1 and agent.uploads[0].errors == []
            # an explicit host wins over the socket
            write_pair(spool, seq=2)
            r = run_once(spool, DD_AGENT_HOST="127.0.0.1", DD_TRACE_AGENT_PORT=free_port(),
                         PODPROF_EXPORT_MAX_ATTEMPTS=1)
            assert r.returncode == 1 and len(agent.uploads) == 1
        assert "agent at unix:///var/run/datadog/apm.socket" in run_once(spool).stderr
    finally:
        import shutil
        shutil.rmtree(sock_dir, ignore_errors=True)


def test_agent_uploads_ignore_proxy_variables(spool):
    dead_proxy = f"http://127.0.0.1:{free_port()}"
    write_pair(spool)
    with AgentDouble() as agent:
        r = run_once(spool, DD_TRACE_AGENT_URL=agent.url, http_proxy=dead_proxy,
                     HTTP_PROXY=dead_proxy, ALL_PROXY=dead_proxy)
        assert r.returncode == 0, r.stderr
        assert len(agent.wait_for(1)) == 1
