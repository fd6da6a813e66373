#!/usr/bin/python3
"""cpu_multiprocessing.py - CPU work on a pool of processes, in Python.

The model: multiprocessing.Pool() (one process per online CPU), the tasks
handed out with imap_unordered [1], each result pickled back [2]. The pool's
initializer [3] leaves SIGINT to the parent, which ends the workers.

What to watch: each process has its own interpreter and its own GIL, so
the tasks run at once, about cpu_sync.py's time / W on W free cores, at the
cost of starting the processes and pickling. A worker killed with kill -9
shows Pool's weak spot: it starts a new one but its task is lost, and the
pool waits for it forever (concurrent.futures.ProcessPoolExecutor raises
BrokenProcessPool instead; the C lesson counts the task failed).

Usage: cpu_multiprocessing.py [--workload sumsq|fib|sha256|prime] [--tasks N] [--size S] [--workers W]
  experiments/python/cpu_multiprocessing.py --workload sumsq --tasks 10 --size 4_500_000 --workers 2

Expect: about half cpu_sync.py's time on 2 free cores, the same result:
  experiment=py_cpu_multiprocessing workload=sumsq tasks=10 size=4500000 workers=2 seconds=1.1... result=303750810001087500540 done=10 failed=0

See also: cpu_threads.py, cpu_sync.py, ../cpu_multiprocessing.c.
"""
import functools
import multiprocessing
import sys

import lab
import workloads


def run_task(o, i):
    """One task in a worker process; its span goes back with its part."""
    start = lab.trace.clock()
    part = workloads.run_task(o.workload, o.size, i)
    lab.trace.span("task", start, i, task=i, workload=o.workload)
    return lab.trace.send(part)


def run_all(o):
    """The concurrency step. On a signal the with-block's exit terminates the
    workers (SIGTERM) and joins them: nothing is left running."""
    parts = []
    progress = lab.Progress(o.tasks, o.progress)
    task = functools.partial(run_task, o)
    with multiprocessing.Pool(o.workers, initializer=lab.ignore_signals) as pool:  # [3]
        try:
            results = pool.imap_unordered(task, range(o.tasks))      # [1] [2]
            for result in lab.pool_results(results, o.tasks):       # a worker may die
                parts.append(lab.trace.receive(result))             # its span with it
                progress.update(len(parts))
        except lab.Interrupted:
            pass
    progress.end()
    return parts


def main():
    o = lab.cpu_options("cpu_multiprocessing.py: run the tasks on a pool of "
                        "processes (one per CPU).")
    lab.catch_signals()
    parts, seconds = lab.timed(run_all, o)
    failed = parts.count(None)      # the tasks of workers that died
    parts = [part for part in parts if part is not None]
    workloads.report("py_cpu_multiprocessing", o, parts, seconds, o.workers, on="processes",
                     failed=failed)
    return lab.exit_status(failed)


if __name__ == "__main__":
    sys.exit(main())
