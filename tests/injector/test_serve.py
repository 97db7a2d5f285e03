"""The server under bad input, slow and idle clients, TLS garbage, certificate rotation and
SIGTERM: each gets a clear error or is closed, and everyone else keeps being served."""
import json
import os
import shutil
import signal
import socket
import ssl
import threading
import time
import warnings

import pytest

from injector_harness import (ENABLED, SERVER_NAME, Server, admission_review, cert_dir,  # noqa: F401
                              decode_patch, make_certs, make_pod, server, validate_pod)


def still_serving(server):
    resp = server.review(admission_review(make_pod(annotations=dict(ENABLED))))
    assert decode_patch(resp), "server stopped mutating"


def test_validator_rejects_unknown_fields():
    pod = make_pod()
    pod["spec"]["containers"][0]["notAField"] = 1
    with pytest.raises(AssertionError):
        validate_pod(pod)


def test_health_ready_metrics(server):
    assert server.request("GET", "/healthz")[:2] == (200, b"ok\n")
    assert server.request("GET", "/readyz")[:2] == (200, b"ok\n")
    still_serving(server)
    m = server.metrics()
    assert m['podprof_injector_admission_requests_total{result="injected"}'] >= 1
    assert m['podprof_injector_admission_duration_seconds_bucket{le="+Inf"}'] >= 1
    assert m["podprof_injector_certificate_expiry_timestamp_seconds"] > time.time() + 20 * 86400
    assert 'podprof_injector_patches_skipped_total{reason="ld_preload_value_from"}' in m
    assert "podprof_injector_tls_handshake_errors_total" in m


def test_keep_alive_reuses_one_connection(server):
    conn = server.connection()
    for _ in range(20):
        resp = server.review(admission_review(make_pod(annotations=dict(ENABLED))), conn=conn)
        assert decode_patch(resp)
    conn.close()


@pytest.mark.parametrize("body,needle", [
    (b"not json", "invalid JSON"),
    (b'{"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {"uid": "x"',
     "truncated"),
    (b"[" * 200000, "nested"),
    (json.dumps({"apiVersion": "v1", "kind": "Pod"}).encode(), "not an AdmissionReview"),
    (json.dumps({"apiVersion": "admission.k8s.io/v2", "kind": "AdmissionReview"}).encode(),
     "not an AdmissionReview"),
    (json.dumps({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview"}).encode(),
     "no request"),
    (json.dumps({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
                 "request": {"kind": {"kind": "Pod"}}}).encode(), "no uid"),
    (b"", "invalid JSON"),
], ids=["not-json", "truncated", "deeply-nested", "pod-not-review", "v2-review", "no-request",
        "no-uid", "empty"])  # an id holding the body would not fit in PYTEST_CURRENT_TEST
def test_bad_bodies_get_400(server, body, needle):
    status, text, resp = server.request("POST", "/mutate", body)
    assert status == 400
    assert needle in text.decode() and text.decode().count("\n") == 1
    still_serving(server)


def test_huge_body_gets_413(server):
    body = b'{"a":"' + b"x" * (3 * 1024 * 1024 + 10) + b'"}'
    status, _, _ = server.request("POST", "/mutate", body)
    assert status == 413
    still_serving(server)


def test_wrong_method_and_path(server):
    assert server.request("GET", "/mutate")[0] == 405
    assert server.request("PUT", "/mutate/all", b"{}")[0] == 405
    assert server.request("POST", "/healthz", b"{}")[0] == 405
    assert server.request("POST", "/mutate/sometimes", b"{}")[0] == 404
    assert server.request("GET", "/")[0] == 404
    still_serving(server)


def raw_tls(server, timeout=10):
    ctx = server.context()
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=timeout)
    return ctx.wrap_socket(sock, server_hostname=SERVER_NAME)


def test_tls_garbage_and_plain_http(server):
    before = server.metrics()["podprof_injector_tls_handshake_errors_total"]
    for payload in (os.urandom(2000), b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
                    b"\x16\x03\x01\x00\x05hello"):
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as s:
            s.sendall(payload)
            s.settimeout(5)
            try:
                while s.recv(4096):
                    pass
            except (ConnectionResetError, socket.timeout):
                pass
    still_serving(server)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        if server.metrics()["podprof_injector_tls_handshake_errors_total"] >= before + 3:
            break
        time.sleep(0.05)
    assert server.metrics()["podprof_injector_tls_handshake_errors_total"] >= before + 3
    # TLS 1.1 is refused.
    warnings.simplefilter("ignore", DeprecationWarning)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.minimum_version = ssl.TLSVersion.TLSv1
    ctx.maximum_version = ssl.TLSVersion.TLSv1_1
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as s:
        with pytest.raises(ssl.SSLError):
            ctx.wrap_socket(s)
    still_serving(server)


def test_many_idle_connections(server):
    socks = [raw_tls(server) for _ in range(300)]
    try:
        still_serving(server)
        assert server.metrics()["podprof_injector_connections_open"] >= 300
    finally:
        for s in socks:
            s.close()


@pytest.fixture(scope="module")
def strict_server(tmp_path_factory):
    srv = Server(make_certs(tmp_path_factory.mktemp("strict")), "--request-timeout", "2",
                 "--idle-timeout", "2")
    yield srv
    assert srv.stop() == 0


def test_slow_headers_are_cut_off(strict_server):
    s = raw_tls(strict_server)
    start = time.monotonic()
    closed = False
    for ch in b"POST /mutate HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\nX-Slow: " + b"a" * 40:
        try:
            s.sendall(bytes([ch]))
        except OSError:
            closed = True
            break
        if time.monotonic() - start > 8:
            break
        time.sleep(0.1)
    if not closed:
        s.settimeout(3)
        try:
            closed = s.recv(100) == b""
        except (ConnectionResetError, ssl.SSLError, socket.timeout):
            closed = True
    assert closed and time.monotonic() - start < 7
    s.close()
    still_serving(strict_server)


def test_slow_body_is_cut_off(strict_server):
    s = raw_tls(strict_server)
    s.sendall(b"POST /mutate HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{")
    start = time.monotonic()
    s.settimeout(6)
    try:
        data = s.recv(1000)
    except (ConnectionResetError, ssl.SSLError):
        data = b""
    assert time.monotonic() - start < 5.5
    assert data == b"" or data.startswith(b"HTTP/1.1 4")
    still_serving(strict_server)


def test_idle_keep_alive_closed(strict_server):
    s = raw_tls(strict_server)
    s.settimeout(6)
    start = time.monotonic()
    try:
        assert s.recv(100) == b""
    except (ConnectionResetError, ssl.SSLError):
        pass
    assert 1 <= time.monotonic() - start < 5


def test_certificate_reload_without_dropping_connections(tmp_path):
    live = make_certs(tmp_path / "live")
    srv = Server(live)
    try:
        old_conn = srv.connection()
        srv.review(admission_review(make_pod(annotations=dict(ENABLED))), conn=old_conn)
        old_expiry = srv.metrics()["podprof_injector_certificate_expiry_timestamp_seconds"]
        # A new CA and key pair, swapped in the way a Secret volume update lands: by rename.
        fresh = make_certs(tmp_path / "fresh", days=90)
        for name in ("tls.key", "tls.crt"):
            shutil.copy(fresh / name, live / (name + ".new"))
            os.rename(live / (name + ".new"), live / name)
        shutil.copy(fresh / "ca.crt", live / "ca.crt")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                ctx = ssl.create_default_context(cafile=str(fresh / "ca.crt"))
                with socket.create_connection(("127.0.0.1", srv.port), timeout=5) as s:
                    with ctx.wrap_socket(s, server_hostname=SERVER_NAME):
                        break
            except ssl.SSLError:
                time.sleep(0.2)
        else:
            raise AssertionError("new certificate never served")
        m = srv.metrics()
        assert m['podprof_injector_certificate_reloads_total{result="success"}'] >= 1
        assert m["podprof_injector_certificate_expiry_timestamp_seconds"] > old_expiry
        # The connection opened before the rotation still works.
        resp = srv.review(admission_review(make_pod(annotations=dict(ENABLED))), conn=old_conn)
        assert decode_patch(resp)
        old_conn.close()
        # A broken key file is refused; the server keeps the working certificate.
        (live / "tls.key").write_text("garbage")
        time.sleep(2.5)
        m = srv.metrics()
        assert m['podprof_injector_certificate_reloads_total{result="failure"}'] >= 1
        still_serving(srv)
    finally:
        assert srv.stop() == 0


def test_sigterm_finishes_in_flight_request(tmp_path):
    srv = Server(make_certs(tmp_path / "c"))
    idle = raw_tls(srv)  # an idle keep-alive connection must not hold shutdown up
    body = json.dumps(admission_review(make_pod(annotations=dict(ENABLED)))).encode()
    s = raw_tls(srv)
    s.sendall(b"POST /mutate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
              b"Content-Length: %d\r\n\r\n" % len(body) + body[:100])
    time.sleep(0.3)
    srv.proc.send_signal(signal.SIGTERM)
    time.sleep(0.5)
    assert srv.proc.poll() is None, "exited with a request in flight"
    with pytest.raises(ConnectionRefusedError):  # no longer accepting
        socket.create_connection(("127.0.0.1", srv.port), timeout=2)
    s.sendall(body[100:])
    s.settimeout(10)
    data = b""
    while b"\r\n\r\n" not in data or not data.rstrip().endswith(b"}"):
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    assert data.startswith(b"HTTP/1.1 200"), data[:200]
    assert b"Connection: close" in data
    assert json.loads(data.split(b"\r\n\r\n", 1)[1])["response"]["allowed"] is True
    assert srv.proc.wait(timeout=10) == 0
    idle.close()
    s.close()
    assert srv.stop() == 0
    assert any(e.get("msg") == "stopped" for e in srv.logs())


def test_skip_metrics_and_json_logs(server):
    before = server.metrics()
    pod = make_pod(annotations=dict(ENABLED),
                   containers=[{"name": "app", "env": [{"name": "LD_PRELOAD", "valueFrom": {
                       "secretKeyRef": {"name": "s", "key": "k"}}}]}])
    review = admission_review(pod, uid="skip-me-1")
    resp = server.review(review)
    assert decode_patch(resp)[0]["path"].endswith("profiling.datadoghq.com~1skipped")
    after = server.metrics()
    key = 'podprof_injector_patches_skipped_total{reason="ld_preload_value_from"}'
    assert after[key] == before[key] + 1
    assert (after['podprof_injector_admission_requests_total{result="skipped"}']
            == before['podprof_injector_admission_requests_total{result="skipped"}'] + 1)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        logs = server.logs()
        line = [e for e in logs if e.get("uid") == "skip-me-1"]
        if line:
            break
        time.sleep(0.05)
    assert line and line[0]["result"] == "skipped" and line[0]["namespace"] == "apps"
    assert line[0]["level"] == "info" and "valueFrom" in line[0]["detail"]
    for entry in logs:
        assert "raw" not in entry and {"ts", "level", "msg"} <= set(entry), entry


def cpu_seconds(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_out_of_file_descriptors_pauses_accepting(tmp_path):
    """With its file table full the server must not spin on the readable listening socket, and
    must accept again once connections close."""
    srv = Server(make_certs(tmp_path / "c"), workers=1, max_files=64)
    socks = []
    try:
        for _ in range(120):
            s = socket.create_connection(("127.0.0.1", srv.port), timeout=5)
            socks.append(s)  # the kernel completes handshakes into the backlog regardless
        time.sleep(0.5)
        cpu0 = cpu_seconds(srv.proc.pid)
        time.sleep(2)
        spent = cpu_seconds(srv.proc.pid) - cpu0
        assert spent < 0.5, f"server used {spent:.2f} s of CPU in 2 s while out of descriptors"
        for s in socks:
            s.close()
        socks = []
        deadline = time.monotonic() + 15
        while True:
            try:
                still_serving(srv)
                break
            except (OSError, AssertionError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        assert srv.metrics()["podprof_injector_accept_errors_total"] >= 1
    finally:
        for s in socks:
            s.close()
        assert srv.stop() == 0


def test_internal_error_admits_unchanged(tmp_path, monkeypatch):
    """Fail-open in code, end to end: a review whose answer fails (the test hook makes every one
    fail as running out of memory would) is answered 200, allowed, without a patch, with a
    warning, and counted in podprof_injector_internal_errors_total; never a 500 or a refusal."""
    monkeypatch.setenv("PODPROF_TEST_INJECTOR_FAIL_ANSWERS", "1")
    srv = Server(make_certs(tmp_path))
    try:
        before = srv.metrics()["podprof_injector_internal_errors_total"]
        uid = "5d1c9a2e-0000-4000-8000-00000000000a"
        status, text, _ = srv.request(
            "POST", "/mutate/annotated",
            json.dumps(admission_review(make_pod(annotations=dict(ENABLED)), uid=uid)))
        assert status == 200, text
        resp = json.loads(text)["response"]
        assert resp["allowed"] is True and resp["uid"] == uid
        assert "patch" not in resp
        assert any("internal error" in w for w in resp["warnings"]), resp
        assert srv.metrics()["podprof_injector_internal_errors_total"] == before + 1
        # a body that is not a review is still a 400: there is no uid to answer for
        assert srv.request("POST", "/mutate/annotated", b"not json")[0] == 400
    finally:
        assert srv.stop() == 0
