"""Raises a known mix of exceptions: VALUE ValueErrors from raise_value, KEY KeyErrors from
raise_key (3:1, interleaved), and one __main__.Outer.Inner from raise_inner, each caught by the
caller (so every exception also unwinds through a second frame, which must not count twice).

argv: expect.json, then "wait" (wait until the library's sys.monitoring tool is registered, so
every raise is observed) or "nowait". Writes {"raised": {...}, "tools": {id: name}} at the end."""
import json
import os
import sys
import time

VALUE, KEY = 120000, 40000
BATCH, PAUSE = 100, 0.002  # a few samples per pass at most: the hand-over ring never fills


class Outer:
    class Inner(Exception):
        pass


def raise_value():
    raise ValueError("v")


def raise_key():
    raise KeyError("k")


def raise_inner():
    raise Outer.Inner()


def tools():
    mon = getattr(sys, "monitoring", None)
    if mon is None:
        return {}
    return {i: mon.get_tool(i) for i in range(6) if mon.get_tool(i) is not None}


def wait_for_a_flush(after_ns):
    prefix = os.environ["DD_PROFILING_OUTPUT_PPROF"]
    folder, base = os.path.split(prefix)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        for name in os.listdir(folder or "."):
            path = os.path.join(folder, name)
            if name.startswith(base + ".") and name.endswith(".pprof") and \
                    os.stat(path).st_mtime_ns > after_ns:
                return
        time.sleep(0.05)
    sys.exit("no profile was flushed after the raise")


def main():
    if sys.argv[2] == "wait":
        deadline = time.monotonic() + 60
        while "podprof" not in tools().values():
            if time.monotonic() > deadline:
                sys.exit("the podprof sys.monitoring tool never appeared")
            time.sleep(0.01)
    order = (raise_value, raise_value, raise_value, raise_key)
    for i in range(VALUE + KEY):
        try:
            order[i % 4]()
        except (ValueError, KeyError):
            pass
        if i % BATCH == 0:
            time.sleep(PAUSE)
    time.sleep(0.2)  # the ring is drained before the one raise the interval-1 test counts
    try:
        raise_inner()
    except Outer.Inner:
        pass
    # A record is named on the sampler thread, after the raise; at exit main's code may be freed
    # before that happens. With a short upload interval, wait for a profile flushed after the
    # raise: a flush names every record first, so the raise is in it with main alive.
    if float(os.environ.get("DD_PROFILING_UPLOAD_INTERVAL", "60")) <= 1:
        wait_for_a_flush(time.time_ns())
    with open(sys.argv[1], "w") as f:
        json.dump({"raised": {"ValueError": VALUE, "KeyError": KEY, "Inner": 1},
                   "tools": tools()}, f)


main()
