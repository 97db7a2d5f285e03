"""The long-running processes of the e2e cluster (control plane and node daemons): each started in
a session of its own so its whole process group can be signalled, logging to <dir>/<name>.log,
killed with SIGKILL should the test process die first (PR_SET_PDEATHSIG), stopped in reverse
order of start with a bounded grace period."""
import ctypes
import os
import signal
import subprocess
from pathlib import Path

_libc = ctypes.CDLL(None, use_errno=True)
PR_SET_PDEATHSIG = 1


def die_with_parent():
    """preexec_fn: the child gets SIGKILL when the thread that started it exits."""
    _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


class Daemons:
    def __init__(self, log_dir):
        self.dir = Path(log_dir)
        self.procs = {}
        self.logs = {}

    def spawn(self, name, argv):
        log = open(self.dir / f"{name}.log", "w")
        self.logs[name] = log
        self.procs[name] = subprocess.Popen([str(a) for a in argv], stdout=log,
                                            stderr=subprocess.STDOUT, start_new_session=True,
                                            preexec_fn=die_with_parent)
        return self.procs[name]

    def pid(self, name):
        return self.procs[name].pid

    def alive(self, name):
        """True, or an error carrying the end of the daemon's log if it exited."""
        p = self.procs[name]
        if p.poll() is not None:
            raise RuntimeError(f"{name} exited with {p.returncode}:\n{self.log_tail(name)}")
        return True

    def log_tail(self, name, n=30):
        path = self.dir / f"{name}.log"
        if not path.exists():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-n:])

    def stop(self, name, grace_s=15):
        p = self.procs.pop(name, None)
        if p is not None and p.poll() is None:
            try:
                os.killpg(p.pid, signal.SIGTERM)
                p.wait(grace_s)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait(5)
            except ProcessLookupError:
                pass
        log = self.logs.pop(name, None)
        if log:
            log.close()

    def stop_all(self):
        for name in list(self.procs)[::-1]:
            self.stop(name)
