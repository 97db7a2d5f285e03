"""Threads that wait without running (their stacks are reused from pass to pass), then wake up
and run something else: the woken threads must never be charged to their old stacks."""
import sys
import threading
import time

WAITERS = 12
event = threading.Event()


def spin(cpu_seconds):
    end = time.thread_time() + cpu_seconds
    while time.thread_time() < end:
        pass


def after_wake():
    spin(0.15)


def wait_here():
    event.wait()
    after_wake()


def phases():
    # one frame throughout: first asleep, then running on another line of the same frame
    time.sleep(0.4)  # line: asleep
    end = time.thread_time() + 0.3
    while time.thread_time() < end:  # line: running
        pass


def busy():
    spin(1.2)


threads = [threading.Thread(target=wait_here, name=f"waiter-{i}") for i in range(WAITERS)]
threads.append(threading.Thread(target=phases, name="phases"))
for t in threads:
    t.start()
busy()
event.set()
for t in threads:
    t.join()
sys.exit(0)
