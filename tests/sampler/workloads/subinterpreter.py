"""CPU work inside a sub-interpreter (compiled as file "<sub>") while the main interpreter works
too: both must appear in the profile."""
import threading
import time

try:
    import _xxsubinterpreters as interpreters
except ImportError:
    import _interpreters as interpreters

SOURCE = ("import time\ndef sub_work():\n    end = time.thread_time() + 0.3\n"
          "    while time.thread_time() < end:\n        pass\n")


def in_sub():
    interp = interpreters.create()
    code = "exec(compile(%r + 'sub_work()\\n', '<sub>', 'exec'))" % SOURCE
    if hasattr(interpreters, "run_string"):
        interpreters.run_string(interp, code)
    else:
        interpreters.exec(interp, code)
    interpreters.destroy(interp)


def main_work():
    end = time.thread_time() + 0.2
    while time.thread_time() < end:
        pass


t = threading.Thread(target=in_sub)
t.start()
main_work()
t.join()
