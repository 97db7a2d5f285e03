"""Exits with status 7, and a SIGTERM arrives while the library writes its last profile.

The library writes <dir>/.<base>.<pid>.1.pprof.tmp first; this process makes that name a FIFO, so
the exit flush blocks in open(2) until a reader comes. A helper process waits until the sampler
thread is blocked there, sends SIGTERM, checks the process is still flushing, and only then opens
the FIFO. The process must still end with status 7. The helper prints "sent-during-flush" when it
delivered the signal in that window."""
import os
import subprocess
import sys
import time

HELPER = r'''
import os, signal, sys, time
fifo, pid = sys.argv[1], int(sys.argv[2])
OPENAT = {"x86_64": 257, "aarch64": 56}[os.uname().machine]

def blocked_in_open():
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/syscall" % (pid, tid)) as f:
                fields = f.read().split()
        except OSError:
            continue
        if fields and fields[0] == str(OPENAT):
            return True
    return False

deadline = time.monotonic() + 30
while not blocked_in_open():
    if time.monotonic() > deadline:
        sys.exit("the exit flush never blocked on the FIFO")
    time.sleep(0.002)
os.kill(pid, signal.SIGTERM)
time.sleep(0.2)  # delivered and handled by now
if blocked_in_open():
    print("sent-during-flush", flush=True)
fd = os.open(fifo, os.O_RDONLY)
while os.read(fd, 65536):
    pass
'''


def exit_flush_work(cpu_seconds):
    end = time.thread_time() + cpu_seconds
    while time.thread_time() < end:
        pass


prefix = os.environ["DD_PROFILING_OUTPUT_PPROF"]
directory, base = os.path.split(prefix)
fifo = os.path.join(directory, ".%s.%d.1.pprof.tmp" % (base, os.getpid()))
os.mkfifo(fifo)
exit_flush_work(0.3)
helper_env = {k: v for k, v in os.environ.items() if k not in ("LD_PRELOAD", "DD_PROFILING_ENABLED")}
subprocess.Popen([sys.executable, "-c", HELPER, fifo, str(os.getpid())], env=helper_env)
sys.exit(7)
