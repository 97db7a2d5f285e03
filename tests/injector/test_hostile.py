"""The server's memory under hostile clients, against the limit it is given (the chart's 64 MiB):
concurrent maximum-size bodies that would each parse into far more than the limit, a crowd of
trickling bodies, with valid reviews sent in between (their latency is measured and reported)."""
import http.client
import socket
import threading
import time

import pytest

from injector_harness import (ENABLED, SERVER_NAME, Server, admission_review, decode_patch,
                              make_certs, make_pod)
from podprof_testenv import SANITIZED

LIMIT = 64 << 20

# ASan's shadow memory and quarantine are not the program's: the bound is checked on the plain
# build, the behaviour on both.
check_rss = not SANITIZED


def peak_rss(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM")


def started(srv):
    return next(e for e in srv.logs() if e.get("msg") == "listening")


def valid_reviews_meanwhile(srv, busy):
    """Sends valid reviews one after another while busy() holds; returns the latencies of those
    answered and the number that were not. Every connection of a worker shares its read rate, so
    under a crowd a valid review may be cut off too: that is measured and reported, and what the
    tests require is the bound on memory and a server that answers once the crowd is gone."""
    latencies, lost = [], 0
    while busy():
        t0 = time.monotonic()
        try:
            resp = srv.review(admission_review(make_pod(annotations=dict(ENABLED))))
            assert decode_patch(resp), "a valid review was not mutated"
            latencies.append(time.monotonic() - t0)
        except (OSError, http.client.HTTPException):
            lost += 1
        time.sleep(0.05)
    return latencies, lost


def serves_afterwards(srv):
    """A valid review once the attackers have gone. What they sent may still sit unread in the
    server's socket buffers; it is read at the worker's rate until their requests reach the
    request timeout (10 s) and are cut off, so the answer may take that long."""
    conn = srv.connection(timeout=60)
    try:
        resp = srv.review(admission_review(make_pod(annotations=dict(ENABLED))), conn=conn)
    finally:
        conn.close()
    assert decode_patch(resp), "the server stopped mutating"


def slowest(latencies):
    return f"{max(latencies) * 1000:.0f} ms" if latencies else "none answered"


@pytest.fixture
def limited(tmp_path):
    srv = Server(make_certs(tmp_path), "--memory-limit", str(LIMIT))
    yield srv
    assert srv.stop() in (0, None)


def test_concurrent_maximum_bodies(limited):
    """Maximum-size bodies of [0,0,...], one and then six at once: each would parse into ~32
    times its size (one 3 MiB body took the server to 96 MiB, six to 280 MiB). They get a clear
    400 or are cut off at the request timeout, and the server stays under its limit."""
    info = started(limited)
    body_max = int(info["max_body"])
    body = b"[" + b"0," * (body_max // 2 - 2) + b"0]"
    assert len(body) <= body_max
    # a third of it alone (32 MiB of JSON nodes) arrives well within the request timeout and is
    # refused with one line
    third = b"[" + b"0," * (body_max // 6) + b"0]"
    status, text, _ = limited.request("POST", "/mutate/annotated", third)
    assert status == 400 and b"too large" in text, (status, text)
    outcomes = []

    def attack():
        try:
            status, _, _ = limited.request("POST", "/mutate/annotated", body)
            outcomes.append(status)
        except (OSError, http.client.HTTPException) as e:
            outcomes.append(type(e).__name__)

    attackers = [threading.Thread(target=attack) for _ in range(6)]
    for t in attackers:
        t.start()
    latencies, lost = valid_reviews_meanwhile(limited,
                                              lambda: any(t.is_alive() for t in attackers))
    for t in attackers:
        t.join()
    serves_afterwards(limited)
    # each refused with a line, or cut off at the request timeout: which depends on how the
    # six shared the read rate
    assert len(outcomes) == 6 and all(o == 400 or isinstance(o, str) for o in outcomes), outcomes
    rss = peak_rss(limited.proc.pid)
    print(f"\nconcurrent maximum bodies: peak RSS {rss / 2**20:.1f} MiB of {LIMIT / 2**20:.0f} MiB; "
          f"valid reviews answered {len(latencies)} (slowest {slowest(latencies)}), cut off {lost}; "
          f"{outcomes}")
    if check_rss:
        assert rss < LIMIT, rss


def test_crowd_of_trickling_bodies(limited):
    """200 connections each announcing a maximum-size body and sending it slowly: what arrives is
    held to the worker's read rate and cut off at the request timeout."""
    info = started(limited)
    body_max = int(info["max_body"])
    ctx = limited.context()
    socks = []
    for _ in range(200):
        s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", limited.port), timeout=10),
                            server_hostname=SERVER_NAME)
        s.sendall(b"POST /mutate/annotated HTTP/1.1\r\nHost: x\r\nContent-Type: application/json"
                  b"\r\nContent-Length: %d\r\n\r\n[" % body_max)
        socks.append(s)
    stop = time.monotonic() + 3
    chunk = b"0," * 8192
    try:
        def feed():
            while time.monotonic() < stop:
                for s in socks:
                    try:
                        s.settimeout(0.001)
                        s.send(chunk)
                    except (OSError, ValueError):
                        pass
        feeder = threading.Thread(target=feed)
        feeder.start()
        latencies, lost = valid_reviews_meanwhile(limited, feeder.is_alive)
        feeder.join()
    finally:
        for s in socks:
            s.close()
    serves_afterwards(limited)
    rss = peak_rss(limited.proc.pid)
    print(f"\ntrickling bodies: peak RSS {rss / 2**20:.1f} MiB of {LIMIT / 2**20:.0f} MiB; "
          f"valid reviews answered {len(latencies)} (slowest {slowest(latencies)}), cut off {lost}")
    if check_rss:
        assert rss < LIMIT, rss
