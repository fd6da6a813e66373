#!/usr/bin/python3
"""io_async.py - I/O on one thread: an asyncio event loop, in Python.

The model: asyncio with aiohttp, as in the Real Python article: one
ClientSession, one coroutine per request, all of them started at once with
asyncio.gather [1]; an asyncio.Semaphore [2] lets at most --workers W of
them download at a time (default: all), and the connector keeps W
connections [3]. Nothing runs at once: the loop switches at each await.

What to watch: `seconds` about ceil(requests / W) x latency, one latency
with all in flight, on one thread with few context switches, until the
loop's one CPU is the limit (Python spends far more of it per request than
libcurl: compare bin/io_async at short latencies).

Usage: io_async.py [--url URL]... [--requests N] [--workers W] [--timeout-ms MS]
  experiments/python/io_async.py --url "$(scripts/labserver url)/delay?s=0.05&bytes=17" --requests 40

Expect: "Downloaded 40 of 40 (680 bytes, 0 errors) in 0.0x s" and then
  experiment=py_io_async requests=40 workers=40 seconds=0.0... bytes=680 errors=0 done=40

See also: io_threads.py, io_sync.py, ../io_async.c.
"""
import asyncio
import signal
import sys

import aiohttp

import lab


async def download_one(session, semaphore, o, i, tally):
    async with semaphore:                                           # [2]
        start = lab.trace.clock()
        for attempt in range(o.retries + 1):
            try:
                async with session.get(lab.url_of(o, i)) as response:
                    body = await response.read()
            except (aiohttp.ClientError, asyncio.TimeoutError) as error:
                lab.report_failure(i, type(error).__name__)
                status = None
                break
            status = response.status
            delay = lab.retry_delay(status, attempt, o.retries)
            if delay is None:
                break
            await asyncio.sleep(delay)
    ok = status is not None and 200 <= status <= 299
    if status is not None and not ok:
        lab.report_failure(i, f"HTTP status {status}")
    lane = lab.trace.name_lane(i + 1, f"coroutine {i + 1}")
    lab.trace.span("request", start, i, lane, request=i, bytes=len(body) if ok else 0, ok=ok)
    lab.count_download(tally, len(body) if ok else None)


async def download_all(o, tally):
    """The concurrency step. A signal cancels the gather: every download in
    flight stops at its next await, and only those that ended count."""
    loop = asyncio.get_running_loop()
    gathered = None

    def on_signal(signum):
        lab.stop_signal = lab.stop_signal or signum
        if gathered:
            gathered.cancel()

    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, on_signal, signum)
    semaphore = asyncio.Semaphore(o.workers)
    connector = aiohttp.TCPConnector(limit=o.workers)                # [3]
    timeout = aiohttp.ClientTimeout(total=o.timeout_ms / 1000)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        gathered = asyncio.gather(*[download_one(session, semaphore, o, i, tally)
                                    for i in range(o.requests)])    # [1]
        try:
            await gathered
        except asyncio.CancelledError:
            pass


def main():
    o = lab.io_options("io_async.py: download the URLs from one thread, an asyncio "
                       "loop keeping W downloads in flight (default: all).",
                       default_workers=0, max_workers=1_000_000)
    lab.reserve_files(o.workers, "workers", o.workers)
    tally, seconds = lab.tally_downloads(o, lambda o, tally: asyncio.run(download_all(o, tally)))
    lab.fetch_report("py_io_async", o, o.workers, seconds, tally["bytes"], tally["failed"],
                     tally["done"])
    return lab.exit_status(tally["failed"])


if __name__ == "__main__":
    sys.exit(main())
