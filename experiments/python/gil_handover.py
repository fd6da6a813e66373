#!/usr/bin/python3
"""gil_handover.py - what one GIL hand-over costs CPython, seen from inside.

Two threads run the same small step of a workload over and over for
--seconds (sumsq: 500 squares summed from a generator; fib: fib(13);
sha256: 25 chained hashes: each 10 to 35 us here, well under the shortest
switch interval tried, 200 us), each stamping the time after every step.
Merged in time order, a change of thread between two stamps is a hand-over
of the GIL, and its gap minus one step is time when neither thread ran:
the hand-over's cost. One thread alone gives the step's own length.

Usage: gil_handover.py [--workload sumsq|fib|sha256] [--seconds S] [--switch-interval-us US]
  taskset -c 0 experiments/python/gil_handover.py --workload sumsq   (both threads on one CPU)

Prints, as its last line:
  experiment=gil_handover workload=sumsq switch_interval_us=5000 seconds=2.0 step_us=...
  handovers=... per_s=... dead_us_median=... dead_us_p90=... lost_pct=...

See also: gil_compare.py, ../gil.c.
"""
import argparse
import hashlib
import statistics
import sys
import threading
import time


def step_sumsq():
    return sum(j * j for j in range(500))


def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)


def step_fib():
    return fib(13)


def step_sha256():
    block = bytes(32)
    for _ in range(25):
        block = hashlib.sha256(block).digest()
    return block


STEPS = {"sumsq": step_sumsq, "fib": step_fib, "sha256": step_sha256}


def stamp(step, until, stamps, start):
    start.wait()
    now = time.perf_counter_ns
    while now() < until[0]:
        step()
        stamps.append(now())


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--workload", choices=sorted(STEPS), default="sumsq")
    p.add_argument("--seconds", type=float, default=2.0)
    p.add_argument("--switch-interval-us", type=int, default=5000)
    o = p.parse_args()
    sys.setswitchinterval(o.switch_interval_us / 1e6)
    step = STEPS[o.workload]

    # The step alone, on one thread: its length without hand-overs.
    alone, until, go = [], [time.perf_counter_ns() + 200_000_000], threading.Event()
    go.set()
    stamp(step, until, alone, go)
    step_ns = statistics.median(b - a for a, b in zip(alone, alone[1:]))

    stamps = [[], []]
    until = [0]
    go = threading.Event()
    threads = [threading.Thread(target=stamp, args=(step, until, stamps[k], go)) for k in (0, 1)]
    for t in threads:
        t.start()
    until[0] = time.perf_counter_ns() + int(o.seconds * 1e9)
    go.set()
    for t in threads:
        t.join()
    merged = sorted([(ns, 0) for ns in stamps[0]] + [(ns, 1) for ns in stamps[1]])
    gaps = [b[0] - a[0] for a, b in zip(merged, merged[1:]) if a[1] != b[1]]
    dead = [max(gap - step_ns, 0) / 1000 for gap in gaps]
    wall = (merged[-1][0] - merged[0][0]) / 1e9
    deciles = statistics.quantiles(dead, n=10) if len(dead) >= 2 else [0] * 9
    print(f"experiment=gil_handover workload={o.workload} "
          f"switch_interval_us={o.switch_interval_us} seconds={wall:.3f} "
          f"step_us={step_ns / 1000:.1f} handovers={len(gaps)} per_s={len(gaps) / wall:.0f} "
          f"dead_us_median={statistics.median(dead) if dead else 0:.1f} "
          f"dead_us_p90={deciles[8]:.1f} lost_pct={sum(dead) / 1e6 / wall * 100:.2f}")


if __name__ == "__main__":
    main()
