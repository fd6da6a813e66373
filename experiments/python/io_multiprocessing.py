#!/usr/bin/python3
"""io_multiprocessing.py - I/O on a pool of processes, in Python.

The model: multiprocessing.Pool (default: one process per CPU) whose
initializer [1] makes each process its own requests.Session (a connection
must not be shared across a fork), the downloads handed out by
imap_unordered [2], as in the Real Python article.

What to watch: the waits overlap as with threads, `seconds` near
ceil(requests / W) x latency, but every worker is a whole interpreter:
compare time(1)'s max RSS with io_threads.py. The default W (the CPUs)
suits CPU work; I/O wants more.

Usage: io_multiprocessing.py [--url URL]... [--requests N] [--workers W] [--timeout-ms MS]
  experiments/python/io_multiprocessing.py --url "$(scripts/labserver url)/delay?s=0.05&bytes=17" --requests 40 --workers 5

Expect: "Downloaded 40 of 40 (680 bytes, 0 errors) in 0.4-0.5 s" and then
  experiment=py_io_multiprocessing requests=40 workers=5 seconds=0.5... bytes=680 errors=0 done=40

See also: io_threads.py, io_sync.py, ../io_multiprocessing.c.
"""
import functools
import multiprocessing
import sys

import requests

import lab

session = None                      # one per worker process


def set_global_session():                                           # [1]
    global session
    lab.ignore_signals()            # the parent ends the workers
    session = requests.Session()


def download_one(o, i):
    return lab.trace.send(lab.fetch(session, o, i))    # its span goes back with it


def download_all(o, tally):
    """The concurrency step. On a signal, leaving the with-block terminates
    the workers (SIGTERM) and joins them."""
    with multiprocessing.Pool(o.workers, initializer=set_global_session) as pool:
        try:
            results = pool.imap_unordered(functools.partial(download_one, o),
                                          range(o.requests))            # [2]
            for result in lab.pool_results(results, o.requests):       # a worker may die
                lab.count_download(tally, lab.trace.receive(result))
        except lab.Interrupted:
            pass


def main():
    o = lab.io_options("io_multiprocessing.py: download the URLs on a pool of "
                       "processes (default: one per CPU).",
                       default_workers=lab.online_cpus(), max_workers=1024)
    lab.reserve_files(o.workers, "workers", o.workers)
    lab.catch_signals()
    tally, seconds = lab.tally_downloads(o, download_all)
    lab.fetch_report("py_io_multiprocessing", o, o.workers, seconds, tally["bytes"],
                     tally["failed"], tally["done"])
    return lab.exit_status(tally["failed"])


if __name__ == "__main__":
    sys.exit(main())
