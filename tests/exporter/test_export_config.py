"""The exporter's settings table drives parsing, --help and docs/config-exporter.md."""
import re
import subprocess

from agent_double import AgentDouble
from exporter_helpers import spool  # noqa: F401  (fixture)
from exporter_helpers import PODPROF, ROOT, exporter_env, run_once, write_pair


def test_config_doc_matches_table():
    doc = subprocess.run([str(PODPROF), "export", "--config-doc"], capture_output=True,
                         text=True, check=True).stdout
    assert (ROOT / "docs" / "config-exporter.md").read_text() == doc, \
        "docs/config-exporter.md is stale: regenerate with `podprof export --config-doc`"


def test_help_lists_every_documented_variable():
    doc = (ROOT / "docs" / "config-exporter.md").read_text()
    names = re.findall(r"^\| `([A-Z_]+)` \|", doc, re.M)
    assert "DD_TRACE_AGENT_URL" in names and "DD_PROFILING_POD_LABELS_AS_TAGS" in names
    help_text = subprocess.run([str(PODPROF), "export", "--help"], capture_output=True,
                               text=True, check=True).stdout
    for name in names:
        assert name in help_text


def test_bad_usage_is_one_line_exit_2(spool):
    for args in ([], ["--spool"], ["--bogus"], ["--spool", str(spool), "extra"]):
        r = subprocess.run([str(PODPROF), "export", *args], capture_output=True, text=True,
                           env=exporter_env(), timeout=10)
        assert r.returncode == 2
        assert len(r.stderr.strip().splitlines()) == 1


def test_malformed_values_fall_back_to_defaults(spool):
    write_pair(spool)
    with AgentDouble() as agent:
        r = run_once(spool, DD_TRACE_AGENT_URL=agent.url, DD_PROFILING_API_TIMEOUT_MS="soon",
                     DD_PROFILING_AGENTLESS="maybe", PODPROF_EXPORT_MAX_ATTEMPTS="0")
        assert r.returncode == 0, r.stderr
        assert len(agent.wait_for(1)) == 1
    for name in ("DD_PROFILING_API_TIMEOUT_MS=soon", "DD_PROFILING_AGENTLESS=maybe",
                 "PODPROF_EXPORT_MAX_ATTEMPTS=0"):
        assert sum(name in line for line in r.stderr.splitlines()) == 1, r.stderr
    ev = agent.uploads[0].event
    assert ev["info"]["profiler"]["settings"]["api_timeout_ms"] == 10000


def test_control_characters_never_reach_headers(spool):
    write_pair(spool)
    with AgentDouble() as agent:
        r = run_once(spool, DD_TRACE_AGENT_URL=agent.url, DD_ENTITY_ID="uid\r\nX-Evil: 1")
        assert r.returncode == 0, r.stderr
        up = agent.wait_for(1)[0]
    assert "X-Evil" not in up.headers and "Datadog-Entity-ID" not in up.headers
    assert "DD_ENTITY_ID: contains control characters" in r.stderr


def test_bad_agent_url_falls_back_to_host_and_port(spool):
    write_pair(spool)
    with AgentDouble() as agent:
        r = run_once(spool, DD_TRACE_AGENT_URL="ftp://nope", DD_AGENT_HOST="127.0.0.1",
                     DD_TRACE_AGENT_PORT=agent.port)
        assert r.returncode == 0, r.stderr
        assert len(agent.wait_for(1)) == 1
    assert "DD_TRACE_AGENT_URL=ftp://nope" in r.stderr
