"""Imported while the interpreter initializes (PYTHONPATH names this directory): an import hook,
as applications install them (ddtrace wraps the import system), that holds the GIL for 50 ms
whenever `atexit` is imported, and records on which thread that was in sys._pp_atexit_importer
("main" or "other"), then creates the file named by $SLOW_ATEXIT_DONE. The library imports
`atexit` from its installers when no one has yet: run by its helper thread, the hook keeps that
thread in the interpreter long enough for a fork to land there."""
import _thread
import os
import sys
import time

MAIN = _thread.get_ident()


class SlowAtexit:
    def find_spec(self, name, path=None, target=None):
        if name == "atexit":
            sys._pp_atexit_importer = "main" if _thread.get_ident() == MAIN else "other"
            end = time.monotonic() + 0.05
            while time.monotonic() < end:  # busy: time.sleep would let the GIL go
                pass
            if os.environ.get("SLOW_ATEXIT_DONE"):
                open(os.environ["SLOW_ATEXIT_DONE"], "w").close()
        return None


sys.meta_path.insert(0, SlowAtexit())
