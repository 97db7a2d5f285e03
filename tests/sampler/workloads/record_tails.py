"""Allocations recorded by two threads from stacks that share everything but one middle frame
with the thread's previous record: the same leaf at the same line, the same 20 frames of
recursion below, and between them a frame that is `mid` called from one line, `mid` called from
another, `mid_other`, or one more frame of recursion. The sampler thread names a thread's records
against what it resolved for the thread last, so a record that differs from the previous one only
in the middle must still be named after its own middle.

Usage: record_tails.py EXPECT_JSON. Each thread makes ROUNDS allocations of SIZE bytes per shape,
the shapes in turn, and writes {"shapes": {shape: allocations}, "leaf_line", "mid_lines",
"depth"} to EXPECT_JSON."""
import json
import sys
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
import hooks_ready  # noqa: E402

ROUNDS, SIZE, DEPTH, THREADS = 150, 1 << 20, 20, 2
SHAPES = ("mid_first", "mid_second", "mid_other", "deeper")


def leaf(size):
    return bytes(size)  # the line's only allocation


LEAF_LINE = leaf.__code__.co_firstlineno + 1


def below(size):
    return leaf(size)


def mid(size, second):
    if second:
        return below(size)
    return below(size)


MID_LINES = {"mid_second": mid.__code__.co_firstlineno + 2,
             "mid_first": mid.__code__.co_firstlineno + 3}


def mid_other(size):
    return below(size)


def top(size, shape, depth):
    if depth:
        return top(size, shape, depth - 1)
    if shape == "mid_other":
        return mid_other(size)
    return mid(size, shape == "mid_second")


def worker(start):
    start.wait()
    for _ in range(ROUNDS):
        for shape in SHAPES:
            top(SIZE, shape, DEPTH + (shape == "deeper"))


hooks_ready.wait_for_hooks(required=True)  # every allocation below is seen
start = threading.Barrier(THREADS)
threads = [threading.Thread(target=worker, args=(start,)) for _ in range(THREADS)]
for t in threads:
    t.start()
for t in threads:
    t.join()
Path(sys.argv[1]).write_text(json.dumps({
    "shapes": {s: ROUNDS * THREADS for s in SHAPES}, "leaf_line": LEAF_LINE,
    "mid_lines": MID_LINES, "depth": DEPTH}))
