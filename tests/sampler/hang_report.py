"""What the processes of a group that did not end in time were doing, for a test's failure message.

A hang seen once in CI is only worth something with the stacks of the process that hung: for each
live process of the group, each thread's kernel state (state, wait channel, system call) and, where
gdb is installed, every thread's backtrace. Read before the test kills the group."""
import os
import shutil
import subprocess
from pathlib import Path

GDB_TIMEOUT = 60


def group_members(pgid):
    """Live pids whose process group is pgid."""
    pids = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            stat = (d / "stat").read_text()
        except OSError:
            continue
        # the command name, in parentheses, may hold anything: fields are counted after it
        fields = stat[stat.rindex(")") + 2:].split()
        if int(fields[2]) == pgid:
            pids.append(int(d.name))
    return sorted(pids)


def read(path):
    try:
        return Path(path).read_text(errors="replace").strip()
    except OSError as e:
        return "(%s)" % e.strerror


def threads_of(pid):
    lines = []
    try:
        tids = sorted(int(t) for t in os.listdir("/proc/%d/task" % pid))
    except OSError:
        return ["  (gone)"]
    for tid in tids:
        base = "/proc/%d/task/%d/" % (pid, tid)
        stat = read(base + "stat")
        state = stat[stat.rindex(")") + 2:].split()[0] if ")" in stat else "?"
        lines.append("  tid %d %s state %s wchan %s syscall %s" % (
            tid, read(base + "comm"), state, read(base + "wchan"),
            read(base + "syscall").split(" ")[0]))
    return lines


def backtraces(pid):
    gdb = shutil.which("gdb")
    if not gdb:
        return "  (no gdb: no backtraces)"
    try:
        r = subprocess.run([gdb, "-p", str(pid), "-batch", "-nx", "-ex", "thread apply all bt"],
                           capture_output=True, text=True, timeout=GDB_TIMEOUT,
                           env=dict(os.environ, DEBUGINFOD_URLS=""))  # no network here
    except subprocess.TimeoutExpired:
        return "  (gdb did not finish in %ds)" % GDB_TIMEOUT
    return "\n".join("  " + line for line in r.stdout.splitlines()
                     if line.startswith(("#", "Thread")))


def report(pgid):
    """Text: every live process of the group, its threads and their backtraces."""
    out = []
    for pid in group_members(pgid):
        out.append("process %d: %s" % (pid, read("/proc/%d/cmdline" % pid).replace("\0", " ")))
        out.extend(threads_of(pid))
        out.append(backtraces(pid))
    return "\n".join(out) if out else "(no process of the group left)"
