"""Threads that wait for the whole run beside, when asked, threads that start and end all the
time, so the thread list changes at every pass. Writes what it did to the JSON file named by the
first argument: how long the waiters waited and the churners ran."""
import json
import sys
import threading
import time

WAITERS = 16
RUN_S = 2.5
churn = len(sys.argv) > 2 and sys.argv[2] == "churn"
event = threading.Event()


def wait_for_end():
    event.wait()  # line: waits


def churn_work(seconds):
    end = time.monotonic() + seconds
    while time.monotonic() < end:  # line: churns
        pass


waiters = [threading.Thread(target=wait_for_end, name=f"waiter-{i}") for i in range(WAITERS)]
for t in waiters:
    t.start()
start = time.monotonic()
churned, churn_s = 0, 0.0
while time.monotonic() - start < RUN_S:
    if churn:
        # two short threads at a time, each a few milliseconds: the list changes every pass
        pair = [threading.Thread(target=churn_work, args=(0.004,), name="churner")
                for _ in range(2)]
        t0 = time.monotonic()
        for t in pair:
            t.start()
        for t in pair:
            t.join()
        churned += 2
        churn_s += 2 * (time.monotonic() - t0)
    else:
        time.sleep(0.05)
waited = time.monotonic() - start
event.set()
for t in waiters:
    t.join()
with open(sys.argv[1], "w") as f:
    json.dump({"waited_s": waited, "churned": churned, "churn_s": churn_s}, f)
