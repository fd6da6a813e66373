#!/usr/bin/python3
"""sum_chunks_manager.py - children fill a dict that a manager process owns.

The model: multiprocessing.Manager().dict() [1], as in the DEV article. K
child processes each sum one chunk of 1..N and store it under "part-<i>"
[2]: every store is a request to the manager process over a socket (pickled
both ways) and a wait for its answer. The parent reads the parts back in
order, prints them and the total. --shared-memory keeps the parts in a
multiprocessing.Array under its lock instead [3].

What to watch: ops_per_s with --ops N (each child stores its part N more
times): one manager round trip per store, against a lock and a store in
shared memory. --spin is accepted for the C lesson's command lines; a
Manager connection always sleeps at once (spin_us=0, as --spin 0 in C).

Usage: sum_chunks_manager.py [--numbers N] [--chunks K] [--ops N] [--shared-memory]
  experiments/python/sum_chunks_manager.py
  experiments/python/sum_chunks_manager.py --chunks 2 --ops 20_000

Expect: part-0 325, part-1 950, part-2 1575, part-3 2200, total 5050, then
  experiment=py_sum_chunks_manager numbers=100 chunks=4 mode=manager ops=0 spin_us=0 seconds=0.0... total=5050 ops_per_s=0 failed=0

See also: ../sum_chunks_manager.c, ../../bench/python_manager.py.
"""
import ctypes
import multiprocessing
import sys
import time

import lab

MASK = (1 << 64) - 1


class SharedParts:
    """The parts in shared memory, a 128-bit value as two 64-bit halves."""      # [3]

    def __init__(self, chunks):
        self.array = multiprocessing.Array(ctypes.c_uint64, 2 * chunks)
        self.stored = multiprocessing.Array(ctypes.c_bool, chunks)

    def __setitem__(self, key, value):
        i = int(key.removeprefix("part-"))
        with self.array.get_lock():
            self.array[2 * i], self.array[2 * i + 1] = value & MASK, value >> 64
            self.stored[i] = True

    def get(self, key):
        i = int(key.removeprefix("part-"))
        with self.array.get_lock():
            if not self.stored[i]:
                return None
            return self.array[2 * i] | self.array[2 * i + 1] << 64


def child_main(shared, sets_done, i, o):
    """Sum chunk i (a closed form: the lesson times the talking) and store it."""
    lab.ignore_signals(exit_on_term=True)      # ended by the parent, spans kept
    lab.trace.process(f"child {i}")
    first, last = i * o.numbers // o.chunks + 1, (i + 1) * o.numbers // o.chunks
    part = (first + last) * (last - first + 1) // 2
    for op in range(o.ops + 1):
        start = lab.trace.clock()
        shared[f"part-{i}"] = part                                  # [2]
        lab.trace.span("set", start, op, child=i, op=op)
        sets_done[i] = op + 1       # for the progress bar


def run(o, shared):
    """The concurrency step: K children, joined; then the parts, in order."""
    sets_done = multiprocessing.Array(ctypes.c_longlong, o.chunks, lock=False)
    children = [multiprocessing.Process(target=child_main, args=(shared, sets_done, i, o))
                for i in range(o.chunks)]
    progress = lab.Progress(o.chunks * (o.ops + 1), o.progress)
    failed, total = 0, 0
    try:
        for child in children:
            child.start()
        for i, child in enumerate(children):
            lab.join(child, lambda: progress.update(sum(sets_done)))
            if child.exitcode != 0:
                print(f"{lab.program()}: the child (pid {child.pid}) failed: exit "
                      f"{child.exitcode}", file=sys.stderr)
                failed += 1
            part = shared.get(f"part-{i}")
            print(f"part-{i} {'missing' if part is None else part}")
            failed += part is None
            total += part or 0
    except lab.Interrupted:
        for child in children:
            if child.is_alive():
                child.terminate()
            if child.pid is not None:
                child.join()
    progress.update(sum(sets_done))     # the last count: all done, or where it stopped
    progress.end()
    return failed, total


def main():
    p = lab.Parser("sum_chunks_manager.py: children sum 1..N into a manager's dict.")
    p.number("numbers", "N", "sum 1..N (default 100, at most 10^12)", 1, 10**12, 100)
    p.number("chunks", "K", "in K chunks, a child process each (default 4)", 1, 1024, 4)
    p.number("ops", "N", "store each part N more times (default 0)", 0, 10**9, 0)
    p.number("spin", "US", "accepted for the C lesson's command lines (Python "
             "sleeps at once)", 0, 1_000_000, 50)
    p.add_argument("--shared-memory", action="store_true",
                   help="keep the parts in shared memory, not in a manager")
    o = p.parse_args()
    if o.chunks > o.numbers:
        lab.usage_error(f"--chunks {o.chunks}: more than the {o.numbers} numbers")
    lab.reserve_files(2 * o.chunks + 2, "chunks", o.chunks)
    lab.catch_signals()
    start = time.perf_counter()
    if o.shared_memory:
        failed, total = run(o, SharedParts(o.chunks))
    else:
        with multiprocessing.Manager() as manager:                  # [1]
            failed, total = run(o, manager.dict())
    seconds = time.perf_counter() - start
    print(f"total {total}")
    lab.record(experiment="py_sum_chunks_manager", numbers=o.numbers, chunks=o.chunks,
               mode="shared-memory" if o.shared_memory else "manager", ops=o.ops,
               spin_us=0, seconds=f"{seconds:.6f}", total=total,
               ops_per_s=0 if failed else f"{o.chunks * o.ops / seconds:.0f}", failed=failed)
    return lab.exit_status(failed)


if __name__ == "__main__":
    sys.exit(main())
