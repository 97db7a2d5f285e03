"""Uploads of spool pairs to the strict agent double: headers, multipart, event, tags, pprof."""
import subprocess
import time

from agent_double import AgentDouble
from exporter_helpers import spool  # noqa: F401  (fixture)
from exporter_helpers import (PODPROF, STACKS, Exporter, exporter_env, run_once, wait_until,
                              write_pair)
import pprof_proto

GO = "/usr/local/go/bin/go"


def test_once_uploads_pair_exactly_and_deletes_it(spool, tmp_path):
    base, meta = write_pair(spool, pid=4242, seq=7)
    with AgentDouble(expect_entity_id="pod-uid-1234") as agent:
        r = run_once(spool, DD_TRACE_AGENT_URL=agent.url, DD_ENTITY_ID="pod-uid-1234",
                     DD_PROFILING_K8S_POD_NAME="checkout-7d9f-abcde",
                     DD_PROFILING_K8S_NAMESPACE="shop", DD_PROFILING_K8S_NODE="node-1")
        assert r.returncode == 0, r.stderr
        ups = agent.wait_for(1)
    assert len(ups) == 1
    up = ups[0]
    assert up.errors == []
    assert list(spool.iterdir()) == []
    t = up.tags
    assert t["service"] == "checkout" and t["env"] == "prod" and t["version"] == "1.2.3"
    assert t["language"] == "python" and t["runtime"] == "CPython"
    assert t["runtime_version"] == "3.12.1" and t["runtime-id"] == meta["runtime-id"]
    assert t["process_id"] == "4242" and t["kube_container_name"] == "app"
    assert t["profiler_version"] == up.headers["DD-EVP-ORIGIN-VERSION"]
    assert t["kube_namespace"] == "shop" and t["pod_name"] == "checkout-7d9f-abcde"
    assert t["kube_node"] == "node-1"
    assert t["team"] == "payments" and t["owner"] == "alice" and t["track"] == "canary"
    ev = up.event
    assert ev["start"] == meta["start"] and ev["end"] == meta["end"]
    assert ev["internal"]["sampler"] == {"samples": 5800, "read_failures": 3}
    assert ev["internal"]["exporter"]["faults"]["refused"] == 0
    assert ev["internal"]["effective_sampling_rate_hz"] == 97.5
    assert ev["info"]["profiler"]["settings"]["sampling_rate_hz"] == 100.0
    assert ev["info"]["profiler"]["settings"]["effective_sampling_rate_hz"] == 97.5
    prof = up.profile
    names = {prof.string_table[f.name] for f in prof.function}
    assert names == {"compute", "main", "sleep"}
    st = [prof.string_table[v.type] for v in prof.sample_type]
    assert st == ["cpu-time", "cpu-samples", "wall-time", "wall-samples"]
    # the same bytes, read by go tool pprof
    raw = tmp_path / "received.pprof"
    raw.write_bytes(up.pprof_raw)
    out = subprocess.run([GO, "tool", "pprof", "-raw", str(raw)], capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "compute /app/work.py:12" in out.stdout or "compute" in out.stdout
    assert "70000000" in out.stdout


def test_metadata_tags_precedence_and_defaults(spool):
    write_pair(spool, meta={"service": None, "env": None, "version": None,
                            "tags": "service:from-dd-tags,env:staging,team:a,language:ruby",
                            "profiling_tags": "team:b,Bad Key!:Some Value/OK"})
    with AgentDouble() as agent:
        r = run_once(spool, DD_TRACE_AGENT_URL=agent.url)
        assert r.returncode == 0, r.stderr
        up = agent.wait_for(1)[0]
    assert up.errors == []
    t = up.tags
    assert t["service"] == "from-dd-tags"  # DD_TAGS supplies what the process did not set
    assert t["env"] == "staging"
    assert t["team"] == "b"  # DD_PROFILING_TAGS over DD_TAGS
    assert t["language"] == "python"  # reserved over user tags
    assert t["bad_key"] == "some_value/ok"  # normalised
    assert "version" not in t


def test_default_service_when_none_given(spool):
    write_pair(spool, meta={"service": None, "tags": None})
    with AgentDouble() as agent:
        assert run_once(spool, DD_TRACE_AGENT_URL=agent.url).returncode == 0
        up = agent.wait_for(1)[0]
    assert up.tags["service"] == "unnamed-python-service"


def test_host_port_and_url_prefix(spool):
    with AgentDouble() as agent:
        write_pair(spool, seq=1)
        r = run_once(spool, DD_AGENT_HOST="127.0.0.1", DD_TRACE_AGENT_PORT=agent.port)
        assert r.returncode == 0, r.stderr
        write_pair(spool, seq=2)
        r = run_once(spool, DD_TRACE_AGENT_URL=agent.url + "/some/prefix/")
        assert r.returncode == 0, r.stderr
        ups = agent.wait_for(2)
    assert [u.path for u in ups] == ["/profiling/v1/input", "/some/prefix/profiling/v1/input"]
    assert all(u.errors == [] for u in ups)


def test_daemon_picks_up_new_pairs_via_inotify_and_sigterm_exits_zero(spool):
    with AgentDouble() as agent:
        # a long rescan: only inotify can make these uploads prompt
        with Exporter(spool, DD_TRACE_AGENT_URL=agent.url, PODPROF_EXPORT_RESCAN_S=3600) as ex:
            for seq in range(1, 4):
                write_pair(spool, seq=seq)
                assert len(agent.wait_for(seq, timeout=20)) == seq
            assert wait_until(lambda: list(spool.iterdir()) == [])
            assert ex.stop() == 0
    assert "stopping" in ex.stderr


def test_sigterm_uploads_what_is_complete(spool):
    with AgentDouble() as agent:
        agent.script = [{"status": 200, "delay": 1.5}]
        with Exporter(spool, DD_TRACE_AGENT_URL=agent.url, PODPROF_EXPORT_RESCAN_S=3600) as ex:
            write_pair(spool, seq=1)
            assert len(agent.wait_for(1)) == 1  # the exporter is now waiting for the answer
            for seq in (2, 3):
                write_pair(spool, seq=seq)
            assert ex.stop() == 0  # SIGTERM while the first upload is in flight
        assert len(agent.uploads) == 3
    assert list(spool.iterdir()) == []
    assert "stopping" in ex.stderr


def test_sigterm_drain_is_bounded_when_the_agent_hangs(spool):
    with AgentDouble(default={"stall": 30}) as agent:
        with Exporter(spool, DD_TRACE_AGENT_URL=agent.url, DD_PROFILING_API_TIMEOUT_MS=20000,
                      PODPROF_EXPORT_DRAIN_MS=1500) as ex:
            write_pair(spool, seq=1)
            write_pair(spool, seq=2)
            assert wait_until(lambda: agent.server_threads_busy(), 5)
            t0 = time.monotonic()
            assert ex.stop(timeout=15) == 0
            took = time.monotonic() - t0
    print(f"drain with a hanging agent took {took:.2f}s (PODPROF_EXPORT_DRAIN_MS=1500)")
    # nothing was delivered, so nothing may be deleted
    assert len(list(spool.iterdir())) == 4


def test_raw_protobuf_pprof_is_accepted_too(spool):
    write_pair(spool, pprof=pprof_proto.make_profile(STACKS).SerializeToString())
    with AgentDouble() as agent:
        assert run_once(spool, DD_TRACE_AGENT_URL=agent.url).returncode == 0
        assert agent.wait_for(1)[0].errors == []


def test_prefix_filter_leaves_other_files(spool):
    write_pair(spool, prefix="mine", seq=1)
    write_pair(spool, prefix="other", seq=1)
    (spool / "README").write_text("not a profile")
    with AgentDouble() as agent:
        r = subprocess.run([str(PODPROF), "export", "--spool", str(spool), "--once",
                            "--prefix", "mine"],
                           env=exporter_env(DD_TRACE_AGENT_URL=agent.url),
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        assert len(agent.wait_for(1)) == 1
    assert sorted(p.name for p in spool.iterdir()) == ["README", "other.4242.1.json",
                                                       "other.4242.1.pprof"]


def test_keep_pprof_deletes_only_the_marker(spool):
    write_pair(spool, seq=1)
    write_pair(spool, seq=2, pprof=b"\x0a\xff\xff\xff\x0f")
    with AgentDouble() as agent:
        r = subprocess.run([str(PODPROF), "export", "--spool", str(spool), "--once",
                            "--keep-pprof"], env=exporter_env(DD_TRACE_AGENT_URL=agent.url),
                           capture_output=True, text=True, timeout=60)
        assert len(agent.wait_for(1)) == 1
    assert r.returncode == 1  # the corrupt one was not delivered
    assert sorted(p.name for p in spool.iterdir()) == ["profile.4242.1.pprof",
                                                       "profile.4242.2.pprof"]


def proc_rss_kib(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def proc_cpu_ticks(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def test_idle_and_uploading_footprint(spool):
    """Prints the sidecar's RSS idle and after uploads, and its CPU ticks while idle (the targets are
    8 / 24 MiB); it asserts only what must hold: idle means no busy loop."""
    with AgentDouble() as agent:
        with Exporter(spool, DD_TRACE_AGENT_URL=agent.url, PODPROF_EXPORT_RESCAN_S=1) as ex:
            time.sleep(0.5)
            idle_rss, t0 = proc_rss_kib(ex.proc.pid), proc_cpu_ticks(ex.proc.pid)
            time.sleep(3)
            idle_ticks = proc_cpu_ticks(ex.proc.pid) - t0
            for seq in range(1, 6):
                write_pair(spool, seq=seq)
            assert len(agent.wait_for(5)) == 5
            busy_rss = proc_rss_kib(ex.proc.pid)
            assert ex.stop() == 0
    print(f"exporter RSS idle {idle_rss} KiB, after 5 uploads {busy_rss} KiB; "
          f"CPU over 3 s idle (3 rescans): {idle_ticks} ticks")
    assert idle_ticks <= 30  # a busy loop would burn ~300 ticks in 3 s


def test_spool_created_after_start_is_found_by_the_rescan(tmp_path):
    late = tmp_path / "late-spool"
    with AgentDouble() as agent:
        with Exporter(late, DD_TRACE_AGENT_URL=agent.url, PODPROF_EXPORT_RESCAN_S=1) as ex:
            time.sleep(1.5)
            late.mkdir()
            write_pair(late, seq=1)
            assert len(agent.wait_for(1)) == 1
            # now watched: a later pair arrives without waiting for a rescan as well
            write_pair(late, seq=2)
            assert len(agent.wait_for(2)) == 2
            assert ex.stop() == 0
    assert sum("[other]" in line and "late-spool" in line
               for line in ex.stderr.splitlines()) == 1
