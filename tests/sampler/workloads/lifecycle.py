"""Ends in the way argv[1] names, after some CPU work in a function named like that way."""
import os
import signal
import sys
import time


def spin_until(cpu_seconds):
    end = time.thread_time() + cpu_seconds
    while time.thread_time() < end:
        pass


def work_exit():
    spin_until(0.3)
    sys.exit(3)


def work_raise():
    spin_until(0.3)
    raise RuntimeError("unhandled on purpose")


def work_sigterm():
    spin_until(0.3)
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(10)  # the default disposition ends the process before this returns


def work_fork():
    pid = os.fork()
    if pid == 0:
        child_work()
        sys.exit(0)
    spin_until(0.2)
    _, status = os.waitpid(pid, 0)
    sys.exit(os.waitstatus_to_exitcode(status) if hasattr(os, "waitstatus_to_exitcode") else 0)


def child_work():
    spin_until(0.3)


def square(x):
    spin_until(0.05)
    return x * x


def work_mpfork():
    import multiprocessing
    with multiprocessing.get_context("fork").Pool(2) as pool:
        assert pool.map(square, range(8)) == [x * x for x in range(8)]
    spin_until(0.2)


{"exit": work_exit, "raise": work_raise, "sigterm": work_sigterm, "fork": work_fork,
 "mpfork": work_mpfork}[sys.argv[1]]()
