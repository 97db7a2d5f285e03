"""An application that replaces its stderr while it is sampled, as daemonising code does: it points
descriptor 2 at a file, then removes the profile directory so that the sampler's next profile
write fails and the sampler thread has a line to say. That line must reach the file (the
application's stderr as it is now), and the old stderr, a pipe the parent reads, must reach its
end now, not when this process exits: nothing in the process may still hold it. The parent
creates MARKER once it has seen that end. Prints a JSON summary.

    stderr_swap.py PROFILE_DIR NEW_STDERR MARKER
"""
import json
import os
import shutil
import sys
import time

PROFILE_DIR, NEW_STDERR, MARKER = sys.argv[1:4]
WAIT_S = 20.0


def stress_stderr_swap():
    end = time.monotonic() + 0.5
    while time.monotonic() < end:  # sampled a while first
        sum(i * i for i in range(1000))
    fd = os.open(NEW_STDERR, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.dup2(fd, 2)
    os.close(fd)
    shutil.rmtree(PROFILE_DIR)
    got = {"line": False, "released": False}
    end = time.monotonic() + WAIT_S
    while time.monotonic() < end and not all(got.values()):
        sum(i * i for i in range(1000))
        with open(NEW_STDERR) as f:
            got["line"] = "podprof: " in f.read()
        got["released"] = os.path.exists(MARKER)
    return got


print(json.dumps(stress_stderr_swap()), flush=True)
