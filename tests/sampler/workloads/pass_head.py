"""Threads that wait for the whole run beside, when asked, threads that start and end all the
time, so the thread list changes at every pass. Writes what it did to the JSON file named by the
first argument: how long the waiters waited and the churners spent in churn_work."""
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


in_work = []


def churn_work(seconds):
    start = time.monotonic()
    end = start + seconds
    while time.monotonic() < end:  # line: churns
        pass
    in_work.append(time.monotonic() - start)


waiters = [threading.Thread(target=wait_for_end, name=f"waiter-{i}") for i in range(WAITERS)]
for t in waiters:
    t.start()
start = time.monotonic()
churned = 0
while time.monotonic() - start < RUN_S:
    if churn:
        # two short threads at a time, each a few milliseconds: the list changes every pass
        pair = [threading.Thread(target=churn_work, args=(0.004,), name="churner")
                for _ in range(2)]
        for t in pair:
            t.start()
        for t in pair:
            t.join()
        churned += 2
    else:
        time.sleep(0.05)
waited = time.monotonic() - start
event.set()
for t in waiters:
    t.join()
with open(sys.argv[1], "w") as f:
    json.dump({"waited_s": waited, "churned": churned, "churn_s": sum(in_work)}, f)
