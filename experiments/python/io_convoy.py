#!/usr/bin/python3
"""io_convoy.py - the convoy effect in CPython: an I/O thread behind a CPU thread.

The model: two threads. The main thread downloads, one request after
another, on one requests.Session; CPython lets go of the GIL while it waits
on the socket and must win it back to handle each answer [1]. The other
thread only computes [2], holding the GIL for the switch interval at a time.

What to watch: per request, alone and then beside the CPU thread. Each
answer that arrives waits for the CPU thread to be asked to let go, which
happens only after a whole switch interval (5 ms): 1 ms requests become
about 8 ms ones, the shape bin/io_convoy --gil emulates (about 6.5 ms there:
requests lets go of the GIL around each of its 5 socket calls per request,
3 poll, a send and a recv, and each is a chance for the CPU thread to take
it; the C lesson lets go once per transfer). Try
--switch-interval-us 500 (sys.setswitchinterval). --gil is accepted for the
C lesson's command lines: CPython always has one.

Usage: io_convoy.py [--url URL]... [--requests N] [--switch-interval-us US]
  experiments/python/io_convoy.py --url "$(scripts/labserver url)/delay?s=0.001&bytes=100" --requests 200

Expect: alone_ms near 2 and beside_cpu_ms near 8.5 (measured: 2.05 and 8.41):
  experiment=py_io_convoy requests=200 workers=1 gil=1 switch_interval_us=5000
  seconds=2.1... bytes=40000 errors=0 done=400 alone_ms=2.05... beside_cpu_ms=8.4...

See also: ../io_convoy.c, ../gil.c, cpu_threads.py.
"""
import sys
import threading
import time

import requests

import lab


def cpu_main(running, stop):
    """The CPU-bound thread: pure computation until told to stop."""       # [2]
    total, i = 0, 0
    start = lab.trace.clock()
    running.set()
    while not stop.is_set():
        total += i * i
        i += 1
    lab.trace.span("compute", start, lane=lab.trace.lane("CPU thread"))  # not a unit: it is stopped


def timed_downloads(o, session, tally):
    """Download the requests one by one; the mean milliseconds per request."""
    start = time.perf_counter()
    n = 0
    try:
        for n in range(1, o.requests + 1):
            nbytes = lab.fetch(session, o, tally["done"])          # [1]
            tally["failed"] += nbytes is None
            tally["bytes"] += nbytes or 0
            tally["done"] += 1
    except lab.Interrupted:
        n -= 1                      # cut short by a signal: not counted
    return (time.perf_counter() - start) * 1000 / n if n > 0 else 0


def main():
    o = lab.io_options("io_convoy.py: per-request time of an I/O thread, alone and "
                       "beside a CPU-bound thread, under CPython's GIL.",
                       default_workers=1, max_workers=1, accept_gil=True)
    gil, interval_us = lab.gil_apply(o)
    lab.catch_signals()
    tally = {"done": 0, "failed": 0, "bytes": 0}
    lab.trace.lane("I/O thread")    # the main thread's lane, as in the C lesson
    running, stop = threading.Event(), threading.Event()
    cpu = threading.Thread(target=cpu_main, args=(running, stop))
    start = time.perf_counter()
    with requests.Session() as session:
        alone_ms = timed_downloads(o, session, tally)
        beside_ms = 0
        if not lab.stop_signal:
            cpu.start()
            running.wait()          # time the second phase once it computes
            beside_ms = timed_downloads(o, session, tally)
            stop.set()
            cpu.join()
    seconds = time.perf_counter() - start
    print(f"Per request: {alone_ms:.3f} ms alone, {beside_ms:.3f} ms beside a CPU-bound "
          f"thread (GIL {'on' if gil else 'off'})")
    lab.record(experiment="py_io_convoy", requests=o.requests, workers=1, gil=gil,
               switch_interval_us=interval_us, seconds=f"{seconds:.6f}", bytes=tally["bytes"],
               errors=tally["failed"], done=tally["done"], alone_ms=f"{alone_ms:.4f}",
               beside_cpu_ms=f"{beside_ms:.4f}")
    return lab.exit_status(tally["failed"])


if __name__ == "__main__":
    sys.exit(main())
