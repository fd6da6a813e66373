#!/usr/bin/python3
"""cpu_sync.py - CPU work one task after another: the baseline, in Python.

The model: the articles' plain loop, `for number in numbers: cpu_bound(number)`.
The work (sumsq, fib, sha256 or prime) is in workloads.py, the same code
every CPU twin runs, giving the same result= as the C lessons.

What to watch: one core busy, `seconds` the sum of the task times. Set it
beside bin/cpu_sync at the same sizes: the difference is the interpreter.

Usage: cpu_sync.py [--workload sumsq|fib|sha256|prime] [--tasks N] [--size S]
  experiments/python/cpu_sync.py --workload sumsq --tasks 10 --size 4_500_000

Expect: "Ran 10 of 10 sumsq tasks (size 4500000) in 2.0 s or so: result 303750810001087500540" and
  experiment=py_cpu_sync workload=sumsq tasks=10 size=4500000 workers=1 seconds=2.0... result=303750810001087500540 done=10 failed=0

See also: cpu_threads.py, cpu_multiprocessing.py, ../cpu_sync.c.
"""
import sys

import lab
import workloads


def run_all(o):
    """The whole lesson: a plain loop. A signal stops the task in hand."""
    parts = []
    progress = lab.Progress(o.tasks, o.progress)
    try:
        for i in range(o.tasks):
            start = lab.trace.clock()
            parts.append(workloads.run_task(o.workload, o.size, i))
            lab.trace.span("task", start, i, task=i, workload=o.workload)
            progress.update(len(parts))
    except (workloads.Stopped, lab.Interrupted):
        pass                        # cut short by a signal: not counted
    progress.end()
    return parts


def main():
    o = lab.cpu_options("cpu_sync.py: run the tasks one after another, on one "
                        "thread (--workers is ignored).")
    lab.catch_signals()
    parts, seconds = lab.timed(run_all, o)
    workloads.report("py_cpu_sync", o, parts, seconds, workers=1)
    return lab.exit_status(0)


if __name__ == "__main__":
    sys.exit(main())
