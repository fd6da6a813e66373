"""python_manager.py - the Python reference for sum_chunks_manager --ops.

What it shows: how many sets per second K processes get through a dict
that a multiprocessing.Manager process owns (every set is a round trip to
the manager over a socket, pickled both ways), all children together. make
bench sets sum_chunks_manager's ops_per_s against this number, measured on
the same machine in the same run.

Usage: python3 bench/python_manager.py [K [N]]     (default 2 processes, 20000 sets each)

Expect, as the last line (the lab's record line):
  experiment=python_manager chunks=2 ops=20000 seconds=1.4... ops_per_s=2xxxx

See also: experiments/sum_chunks_manager.c (the same pattern in C).
"""
import multiprocessing
import sys
import time


def store(shared, child, sets):
    """One child: set its own key `sets` times, like the C lesson's --ops."""
    key = "part-%d" % child
    for value in range(sets):
        shared[key] = value


def main():
    try:
        children = int(sys.argv[1]) if len(sys.argv) > 1 else 2
        sets = int(sys.argv[2]) if len(sys.argv) > 2 else 20000
        if children < 1 or sets < 1 or len(sys.argv) > 3:
            raise ValueError
    except ValueError:
        print("usage: python_manager.py [K [N]]  (K, N whole numbers from 1)", file=sys.stderr)
        return 2
    with multiprocessing.Manager() as manager:
        shared = manager.dict()
        workers = [multiprocessing.Process(target=store, args=(shared, child, sets))
                   for child in range(children)]
        start = time.perf_counter()
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        seconds = time.perf_counter() - start
        failed = sum(worker.exitcode != 0 for worker in workers)
    print("experiment=python_manager chunks=%d ops=%d seconds=%.6f ops_per_s=%.0f failed=%d"
          % (children, sets, seconds, children * sets / seconds, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
