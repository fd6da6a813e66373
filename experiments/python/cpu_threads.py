#!/usr/bin/python3
"""cpu_threads.py - CPU work on a pool of threads, in Python: the GIL.

The model: concurrent.futures.ThreadPoolExecutor (default: one thread per
online CPU), every task submitted [1], the results taken as they come [2].

What to watch: the threads take turns holding the GIL, so `seconds` is no
better than cpu_sync.py's, and often worse: every sys.getswitchinterval()
(5 ms) a waiting thread asks the holder to let go, and each hand-over
costs. --switch-interval-us sets that interval, as in the C lesson's --gil
(--gil itself is accepted and changes nothing: CPython always has it).
--trace FILE shows it: the W thread lanes each run a task at once, and
each task takes about W times as long as in cpu_sync.py's trace.

Usage: cpu_threads.py [--workload sumsq|fib|sha256|prime] [--tasks N] [--size S] [--workers W]
                      [--switch-interval-us US]
  experiments/python/cpu_threads.py --workload sumsq --tasks 10 --size 4_500_000 --workers 2

Expect: about cpu_sync.py's time (2 s or so, often a little more), the same result:
  experiment=py_cpu_threads workload=sumsq tasks=10 size=4500000 workers=2 seconds=2.1... result=303750810001087500540 done=10 failed=0 gil=1 switch_interval_us=5000

See also: cpu_sync.py, cpu_multiprocessing.py, ../cpu_threads.c (--gil), ../gil.c.
"""
import concurrent.futures
import sys

import lab
import workloads


def run_task(o, i):
    """One task, on a pool thread's lane."""
    start = lab.trace.clock()
    part = workloads.run_task(o.workload, o.size, i)
    lab.trace.span("task", start, i, task=i, workload=o.workload)
    return part


def run_all(o):
    """The concurrency step: submit every task, collect as they finish. On a
    signal, cancel what has not started; running tasks see lab.stop_signal."""
    parts = []
    progress = lab.Progress(o.tasks, o.progress)
    executor = concurrent.futures.ThreadPoolExecutor(max_workers=o.workers)
    futures = [executor.submit(run_task, o, i) for i in range(o.tasks)]     # [1]
    try:
        for future in concurrent.futures.as_completed(futures):      # [2]
            parts.append(future.result())
            progress.update(len(parts))
    except (workloads.Stopped, lab.Interrupted):
        pass
    executor.shutdown(wait=True, cancel_futures=True)
    progress.end()
    if lab.stop_signal:             # what finished before the signal counts
        parts = [f.result() for f in futures if f.done() and not f.cancelled()
                 and f.exception() is None]
    return parts


def main():
    o = lab.cpu_options("cpu_threads.py: run the tasks on a pool of threads "
                        "(default: one per CPU), under the GIL.", accept_gil=True)
    gil, interval_us = lab.gil_apply(o)
    lab.catch_signals()
    parts, seconds = lab.timed(run_all, o)
    workloads.report("py_cpu_threads", o, parts, seconds, o.workers, on="threads",
                     gil=gil, switch_interval_us=interval_us)
    return lab.exit_status(0)


if __name__ == "__main__":
    sys.exit(main())
