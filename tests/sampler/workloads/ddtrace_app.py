"""CPU work for the coexistence tests with Datadog's ddtrace, run under `ddtrace-run` or not.
With argv[1] == "settings-only" it imports ddtrace's profiling settings (which load ddtrace's
native profiling libraries) without starting ddtrace's profiler. Prints whether ddtrace's
libdd_wrapper is loaded, and whether ddtrace's profiler is running, as far as ddtrace says."""
import sys
import time

if sys.argv[1:] == ["settings-only"]:
    import ddtrace.internal.settings.profiling  # noqa: F401


def ddtrace_app_work(cpu_seconds):
    end = time.thread_time() + cpu_seconds
    while time.thread_time() < end:
        pass


ddtrace_app_work(1.5)
with open("/proc/self/maps") as maps:
    wrapper = any("libdd_wrapper" in line for line in maps)
bootstrap = sys.modules.get("ddtrace.profiling.bootstrap")
print("libdd_wrapper=%d ddtrace_profiler=%d" % (wrapper, hasattr(bootstrap, "profiler")),
      flush=True)
