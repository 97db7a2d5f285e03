"""Threads that stay in one wait for the GIL for a second, then run on another line of the same
frame: their stacks are reused while they wait (their CPU clocks move at every timed wake-up of
the wait), and what they run afterwards must be charged to the new line, never to the old one.

Each waiter sleeps in C with the GIL released (a ctypes.CDLL call) on its "waits" line. Once every
waiter is on that line, the main thread holds the GIL for HOLD_S seconds (a ctypes.PyDLL call
keeps it), so the waiters wake up into take_gil and wait there, on the same line, until the hold
ends. Then each burns RUN_CPU_S seconds of CPU on its "runs" line, the three contending for the
GIL among themselves."""
import ctypes
import sys
import threading
import time

WAITERS = 3
SLEEP_US = 300000
HOLD_S = 1.2
RUN_CPU_S = 0.3

releasing = ctypes.CDLL(None)  # calls release the GIL
holding = ctypes.PyDLL(None)  # calls keep it


def wait_then_run():
    releasing.usleep(SLEEP_US)  # line: waits
    end = time.thread_time() + RUN_CPU_S
    while time.thread_time() < end:  # line: runs
        pass


WAIT_LINE = wait_then_run.__code__.co_firstlineno + 1
threads = [threading.Thread(target=wait_then_run, name=f"waiter-{i}") for i in range(WAITERS)]
for t in threads:
    t.start()
# every waiter on its waits line: asleep there, or about to sleep (it then waits for the GIL there)
while True:
    frames = sys._current_frames()
    if all(frames.get(t.ident) is not None and frames[t.ident].f_lineno == WAIT_LINE
           for t in threads):
        break
    time.sleep(0.001)
holding.usleep(int(HOLD_S * 1e6))
for t in threads:
    t.join()
sys.exit(0)
