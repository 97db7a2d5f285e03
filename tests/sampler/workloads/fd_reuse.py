"""An application that closes every descriptor above 2 and opens new ones, again and again, while
it is sampled (what daemonising code, python-daemon and `celery --detach` do): every byte it sends
both ways through a socketpair and through a pipe, and writes to a file, must come back exactly as
sent, and nothing else may arrive. With argv[2] == "strict" it also checks after every round that
the process holds no descriptor the application did not open itself. Prints a JSON summary.

    fd_reuse.py SECONDS [strict|lenient] SCRATCH_DIR
"""
import json
import os
import select
import socket
import sys
import time

SECONDS = float(sys.argv[1])
STRICT = sys.argv[2] == "strict"
SCRATCH = sys.argv[3]
TIMEOUT = 2.0


def recv_exact(sock, n):
    got = b""
    while len(got) < n:
        try:
            chunk = sock.recv(n - len(got))
        except socket.timeout:
            return got
        if not chunk:
            return got
        got += chunk
    return got


def read_exact(fd, n):
    got = b""
    while len(got) < n:
        if not select.select([fd], [], [], TIMEOUT)[0]:
            return got
        chunk = os.read(fd, n - len(got))
        if not chunk:
            return got
        got += chunk
    return got


def nothing_more(fd):
    return not select.select([fd], [], [], 0)[0]


def foreign(mine):
    """Descriptors open in this process that the application did not open."""
    listing = os.listdir("/proc/self/fd")
    out = []
    for name in listing:
        fd = int(name)
        if fd <= 2 or fd in mine:
            continue
        try:
            target = os.readlink("/proc/self/fd/%d" % fd)
        except OSError:
            continue  # the listing's own descriptor, closed by now
        if target != "/proc/%d/fd" % os.getpid():
            out.append(target)
    return out


def stress_fd_round_trips():
    stats = {"rounds": 0, "lost": 0, "corrupt": 0, "extra": 0, "foreign": []}
    path = os.path.join(SCRATCH, "fd_reuse.%d.dat" % os.getpid())
    end = time.monotonic() + SECONDS
    while time.monotonic() < end:
        os.closerange(3, 4096)
        a, b = socket.socketpair()
        a.settimeout(TIMEOUT)
        b.settimeout(TIMEOUT)
        r, w = os.pipe()
        f = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
        payload = (b"%08d" % stats["rounds"]) * 64
        checks = []
        for src, dst in ((a, b), (b, a)):
            src.sendall(payload)
            time.sleep(0.0005)  # in flight a while, as real traffic is
            checks.append((recv_exact(dst, len(payload)), nothing_more(dst.fileno())))
        os.write(w, payload)
        time.sleep(0.0005)
        checks.append((read_exact(r, len(payload)), nothing_more(r)))
        os.write(f, payload)
        checks.append((os.pread(f, len(payload) + 1, 0), True))
        if STRICT:
            stats["foreign"] += foreign({a.fileno(), b.fileno(), r, w, f})
        for got, alone in checks:
            if len(got) < len(payload):
                stats["lost"] += 1
            elif got != payload:
                stats["corrupt"] += 1
            elif not alone:
                stats["extra"] += 1
        a.close()
        b.close()
        os.close(r)
        os.close(w)
        os.close(f)
        stats["rounds"] += 1
    os.unlink(path)
    return stats


print(json.dumps(stress_fd_round_trips()), flush=True)
