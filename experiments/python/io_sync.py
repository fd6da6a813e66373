#!/usr/bin/python3
"""io_sync.py - I/O one request after another, in Python: the baseline.

The model: one requests.Session [1] reused for every download in a plain
loop, as in the Real Python article: its connection stays open, and each
download waits for the one before it.

What to watch: `seconds` close to requests x latency, almost no CPU time.
Against bin/io_sync the waits are the same; what Python adds per request
(building and parsing the HTTP messages) shows only when latency is short.

Usage: io_sync.py [--url URL]... [--requests N] [--timeout-ms MS] [--retries N]
  experiments/python/io_sync.py --url "$(scripts/labserver url)/delay?s=0.05&bytes=17" --requests 40

Expect: "Downloaded 40 of 40 (680 bytes, 0 errors) in 2.1 s or so" and then
  experiment=py_io_sync requests=40 workers=1 seconds=2.1... bytes=680 errors=0 done=40

See also: io_threads.py, io_multiprocessing.py, io_async.py, ../io_sync.c.
"""
import sys

import requests

import lab


def download_all(o, tally):
    """The whole lesson: a plain loop, one Session."""
    with requests.Session() as session:                             # [1]
        for i in range(o.requests):
            nbytes = lab.fetch(session, o, i)
            lab.count_download(tally, nbytes)


def main():
    o = lab.io_options("io_sync.py: download the URLs one after another, on one "
                       "requests.Session.", default_workers=1, max_workers=1)
    lab.catch_signals()
    tally, seconds = lab.tally_downloads(o, download_all)
    lab.fetch_report("py_io_sync", o, 1, seconds, tally["bytes"], tally["failed"],
                     tally["done"])
    return lab.exit_status(tally["failed"])


if __name__ == "__main__":
    sys.exit(main())
