"""multiprocessing with the start method argv[1] (spawn or forkserver): a Pool of 2 workers (ended
by Pool.__exit__, which terminates them with SIGTERM) and, with spawn, one plain Process (ends
normally). Prints the pids that did the work, one per line."""
import multiprocessing
import os
import sys
import time


def entry_burn(cpu_seconds):
    end = time.thread_time() + cpu_seconds
    while time.thread_time() < end:
        pass


def entry_pool_task(i):
    entry_burn(0.1)
    return os.getpid()


def entry_process_task(queue):
    entry_burn(0.3)
    queue.put(os.getpid())


def main(method):
    ctx = multiprocessing.get_context(method)
    with ctx.Pool(2) as pool:
        pids = set(pool.map(entry_pool_task, range(12), chunksize=1))
    if method == "spawn":
        queue = ctx.Queue()
        proc = ctx.Process(target=entry_process_task, args=(queue,))
        proc.start()
        pids.add(queue.get(timeout=60))
        proc.join(60)
        assert proc.exitcode == 0, proc.exitcode
    for pid in sorted(pids):
        print(pid)


if __name__ == "__main__":
    main(sys.argv[1])
