"""Pod labels follow the Downward API file between uploads; Datadog's own agent double
(ddapm-test-agent) accepts the same uploads."""
import base64
import os
from pathlib import Path

from agent_double import AgentDouble, Upload, validate
from exporter_helpers import spool  # noqa: F401  (fixture)
from exporter_helpers import Exporter, DatadogTestAgent, run_once, write_pair


def publish_labels(podinfo: Path, text: str, generation: int):
    """Writes the labels file the way the kubelet does: a new timestamped directory, then an
    atomic swap of the ..data symlink that `labels` points through."""
    gen = podinfo / f"..2026_11_22_08_00_0{generation}.000000000"
    gen.mkdir()
    (gen / "labels").write_text(text)
    tmp = podinfo / "..data_tmp"
    if tmp.is_symlink():
        tmp.unlink()
    tmp.symlink_to(gen.name)
    os.replace(tmp, podinfo / "..data")
    if not (podinfo / "labels").is_symlink():
        (podinfo / "labels").symlink_to("..data/labels")


def test_labels_file_changes_between_uploads(spool, tmp_path):
    podinfo = tmp_path / "podinfo"
    podinfo.mkdir()
    publish_labels(podinfo, 'app="checkout"\npod-template-hash="7d9f8b"\ntrack="stable"\n'
                            'team="payments"\n', 1)
    no_user_tags = {"tags": None, "profiling_tags": None}
    with AgentDouble() as agent:
        with Exporter(spool, DD_TRACE_AGENT_URL=agent.url,
                      DD_PROFILING_K8S_LABELS_FILE=podinfo / "labels") as ex:
            write_pair(spool, seq=1, meta=no_user_tags)
            first = agent.wait_for(1)[0]
            publish_labels(podinfo, 'app="checkout"\npod-template-hash="7d9f8b"\n'
                                    'track="canary"\nrelease="2026\\"11\\""\n', 2)
            write_pair(spool, seq=2, meta=no_user_tags)
            ups = agent.wait_for(2)
            assert ex.stop() == 0
    assert len(ups) == 2 and all(u.errors == [] for u in ups)
    t1, t2 = ups[0].tags, ups[1].tags
    assert (t1["app"], t1["track"], t1["team"]) == ("checkout", "stable", "payments")
    assert "pod-template-hash" not in t1
    assert t2["track"] == "canary" and "team" not in t2
    assert t2["release"] == "2026_11"  # quotes unescaped, then normalised
    assert first is ups[0]


def test_label_mapping_policy(spool, tmp_path):
    labels = tmp_path / "labels"
    labels.write_text('app.kubernetes.io/name="shop"\nteam="payments"\nsecret-ish="x"\n'
                      'service="from-label"\n')
    write_pair(spool, meta={"tags": "team:from-dd-tags", "profiling_tags": None})
    with AgentDouble() as agent:
        r = run_once(spool, DD_TRACE_AGENT_URL=agent.url, DD_PROFILING_K8S_LABELS_FILE=labels,
                     DD_PROFILING_POD_LABELS_AS_TAGS="app.kubernetes.io/name=app,team,service")
        assert r.returncode == 0, r.stderr
        t = agent.wait_for(1)[0].tags
    assert t["app"] == "shop"
    assert t["team"] == "from-dd-tags"  # DD_TAGS over pod labels
    assert t["service"] == "checkout"  # reserved over pod labels
    assert "secret-ish" not in t and "app.kubernetes.io/name" not in t


def test_ddapm_test_agent_accepts_uploads(spool, tmp_path):
    with DatadogTestAgent(tmp_path / "snapshots") as test_agent:
        for seq in (1, 2):
            write_pair(spool, seq=seq)
        r = run_once(spool, DD_TRACE_AGENT_URL=test_agent.url, DD_ENTITY_ID="uid-42")
        assert r.returncode == 0, r.stderr
        reqs = test_agent.requests()
    profiles = [q for q in reqs if q["url"].endswith("/profiling/v1/input")]
    assert len(profiles) == 2, reqs
    for q in profiles:
        assert q["method"] == "POST"
        # what the test agent stored is the exact request: check it as strictly as our double
        up = Upload("POST", "/profiling/v1/input", q["headers"], base64.b64decode(q["body"]))
        validate(up, expect_entity_id="uid-42")
        assert up.errors == [], up.errors
        assert up.tags["service"] == "checkout"
    assert list(spool.iterdir()) == []
