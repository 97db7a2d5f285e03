"""Sample service for `make demo`: two CPU-bound functions with a known 3:1 split, plus a thread
that mostly sleeps, so the profile summary has something to show for CPU and for wall time."""
import threading
import time


def parse_request(n):
    total = 0
    for i in range(n):
        total += i * i % 7
    return total


def render_response(n):
    return "".join(str(i % 10) for i in range(n))


def handle(rounds):
    for _ in range(rounds):
        parse_request(120_000)     # about three quarters of the CPU
        render_response(20_000)    # about one quarter


def poll_backend(stop):
    while not stop.is_set():
        time.sleep(0.05)


def main():
    stop = threading.Event()
    poller = threading.Thread(target=poll_backend, args=(stop,), name="backend-poller")
    poller.start()
    deadline = time.monotonic() + 3.0
    while time.monotonic() < deadline:
        handle(5)
    stop.set()
    poller.join()


if __name__ == "__main__":
    main()
