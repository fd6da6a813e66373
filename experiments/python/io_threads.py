#!/usr/bin/python3
"""io_threads.py - I/O on a pool of threads, in Python: the waits overlap.

The model: concurrent.futures.ThreadPoolExecutor(max_workers=5) mapping one
download function over the requests [1], each thread keeping its own
requests.Session in a threading.local [2] (a Session must not be used by two
threads at once), as in the Real Python article.

What to watch: `seconds` near ceil(requests / W) x latency. The GIL hardly
matters: a thread lets go of it while it waits on its socket, so the waits
overlap as C's do (compare bin/io_threads --gil). --gil and
--switch-interval-us are accepted for the C lesson's command lines.

Usage: io_threads.py [--url URL]... [--requests N] [--workers W] [--timeout-ms MS]
  experiments/python/io_threads.py --url "$(scripts/labserver url)/delay?s=0.05&bytes=17" --requests 40

Expect: "Downloaded 40 of 40 (680 bytes, 0 errors) in 0.4x s" and then
  experiment=py_io_threads requests=40 workers=5 seconds=0.4... bytes=680 errors=0 done=40 gil=1

See also: io_sync.py, io_multiprocessing.py, io_async.py, ../io_threads.c.
"""
import concurrent.futures
import sys
import threading

import requests

import lab

thread_local = threading.local()


def get_session():
    if not hasattr(thread_local, "session"):                       # [2]
        thread_local.session = requests.Session()
    return thread_local.session


def download_one(o, i):
    if lab.stop_signal:
        return "stopped"            # queued before the signal: not started
    return lab.trace.send(lab.fetch(get_session(), o, i))          # its span goes along


def download_all(o, tally):
    """The concurrency step. On a signal, the queued requests are cancelled
    and those in flight finish before the pool's threads are joined."""
    executor = concurrent.futures.ThreadPoolExecutor(max_workers=o.workers)
    try:
        for result in executor.map(lambda i: download_one(o, i), range(o.requests)):  # [1]
            if result == "stopped":
                break
            lab.count_download(tally, lab.trace.receive(result))    # counted: traced
    finally:
        executor.shutdown(wait=True, cancel_futures=True)


def main():
    o = lab.io_options("io_threads.py: download the URLs on a pool of threads "
                       "(default 5), a requests.Session each.", default_workers=5,
                       max_workers=4096, accept_gil=True)
    gil, _ = lab.gil_apply(o)
    lab.reserve_files(o.workers, "workers", o.workers)
    lab.catch_signals()
    tally, seconds = lab.tally_downloads(o, download_all)
    lab.fetch_report("py_io_threads", o, o.workers, seconds, tally["bytes"], tally["failed"],
                     tally["done"], gil=gil)
    return lab.exit_status(tally["failed"])


if __name__ == "__main__":
    sys.exit(main())
