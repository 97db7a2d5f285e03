"""What uvicorn does at SIGTERM, without uvicorn: save the disposition CPython reports (SIG_DFL),
handle the signal, restore what was saved, and re-raise it once the work is done. Prints the
handler libc reports for SIGTERM after the restore (0 = SIG_DFL)."""
import ctypes
import signal
import sys
import time

caught = []


def entry_sigterm_work(cpu_seconds):
    end = time.thread_time() + cpu_seconds
    while time.thread_time() < end:
        pass


def libc_sigterm_handler():
    action = ctypes.create_string_buffer(256)  # struct sigaction, sa_handler first
    assert ctypes.CDLL(None, use_errno=True).sigaction(signal.SIGTERM, None, action) == 0
    return int.from_bytes(action.raw[:8], sys.byteorder)


saved = signal.signal(signal.SIGTERM, lambda sig, frame: caught.append(sig))
assert saved == signal.SIG_DFL, saved
entry_sigterm_work(0.3)
signal.raise_signal(signal.SIGTERM)
assert caught == [signal.SIGTERM]
signal.signal(signal.SIGTERM, saved)
print(libc_sigterm_handler(), flush=True)
signal.raise_signal(signal.SIGTERM)
time.sleep(10)  # the process dies by the re-raised signal before this returns
sys.exit(5)
