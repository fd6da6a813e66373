"""lab.py - the boring parts every Python twin shares, as lab.c is for C.

Options read as strictly as lab_options.c reads them (decimal numbers with
optional '_' separators, one line on stderr and exit 2 for anything else),
the record line, the exit status, stopping on SIGINT/SIGTERM, and one
download with requests (judged and retried as fetch.c does). Nothing here
runs work concurrently: each twin shows its own model in its own file.
Every twin takes --trace FILE, --progress and --no-progress (Parser adds
them); `trace` below records the spans that --trace writes.
"""
import argparse
import atexit
import itertools
import json
import os
import pickle
import re
import resource
import shutil
import signal
import sys
import tempfile
import threading
import time

import workloads

EXIT_USAGE = 2
FAILURES_SHOWN = 5              # then only counted, as fetch.c does

stop_signal = 0                 # the signal that asked us to stop, or 0


class Interrupted(BaseException):
    """Raised once in the main thread by the first SIGINT/SIGTERM."""


def program():
    return os.path.basename(sys.argv[0])


def usage_error(message):
    print(f"{program()}: {message}", file=sys.stderr)
    trace.abandon()
    sys.exit(EXIT_USAGE)


def die(message):
    print(f"{program()}: {message}", file=sys.stderr)
    trace.abandon()
    sys.exit(1)


# ---- Options -------------------------------------------------------------

NUMBER = re.compile(r"-?[0-9]+(_[0-9]+)*")
LARGEST = 2**63 - 1


def number(option, text, least, most):
    """Strict decimal, as lab_number(): digits, '_' only between digits."""
    if not NUMBER.fullmatch(text):
        usage_error(f"--{option}: '{text}' is not a whole number")
    value = int(text)
    if abs(value) > LARGEST:
        usage_error(f"--{option}: '{text}' is too large (at most {most})")
    if value < least:
        usage_error(f"--{option}: {text} is below the least allowed, {least}")
    if value > most:
        usage_error(f"--{option}: {text} is above the most allowed, {most}")
    return value


class Stdout:
    """sys.stdout, but a write that fails (a full disk, a reader gone, a
    descriptor closed) is kept for the end, as C's stdio keeps its error
    flag, instead of raised from the middle of a print as a traceback:
    stdout_written() then says so in one line, and the twin exits 1."""

    def __init__(self, stream):
        self.stream, self.error = stream, None

    def write(self, text):
        if self.error is None:
            try:
                self.stream.write(text)
            except OSError as error:
                self.failed(error)
        return len(text)

    def flush(self):
        if self.error is None:
            try:
                self.stream.flush()
            except OSError as error:
                self.failed(error)

    def failed(self, error):
        self.error = error
        # What is still buffered would fail again as Python exits, with a
        # message of its own: let it go to /dev/null.
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, self.stream.fileno())
        os.close(null)

    def __getattr__(self, name):
        return getattr(self.stream, name)


def guard_stdout():
    """Wrap sys.stdout in Stdout. A twin started with stdout closed has none
    (Python sets it to None, and print() then writes nothing, silently):
    hold the descriptor on /dev/null, read only, so that a write fails as
    it does in C (lab_options.c's hold_standard_fds)."""
    if isinstance(sys.stdout, Stdout):
        return
    if sys.stdout is None:
        try:
            os.fstat(1)
        except OSError:
            os.open(os.devnull, os.O_RDONLY)    # the lowest free: 1
        sys.stdout = open(1, "w", closefd=False)
    sys.stdout = Stdout(sys.stdout)


def stdout_written():
    """Flush stdout: True, or one line on stderr (as lab_flush_stdout)."""
    sys.stdout.flush()
    error = getattr(sys.stdout, "error", None)
    if error is not None:
        print(f"{program()}: write error on standard output: {error.strerror}",
              file=sys.stderr)
    return error is None


class Parser(argparse.ArgumentParser):
    """argparse, but every mistake is one line and exit 2; with the options
    every lesson takes (lab_options.c's common ones) after the twin's own."""

    def __init__(self, summary):
        guard_stdout()
        super().__init__(prog=program(), description=summary)

    def error(self, message):
        usage_error(f"{message} (see --help)")

    def exit(self, status=0, message=None):
        # After --help: exit 1 if the help could not be written, as in C.
        if status == 0 and not stdout_written():
            status = 1
        super().exit(status, message)

    def parse_args(self, argv=None):
        self.add_argument("--trace", metavar="FILE", help="write a trace of every unit of "
                          "work to FILE (Perfetto, chrome://tracing)")
        self.add_argument("--progress", action="store_true", help="draw a progress bar on "
                          "stderr (default when stderr is a terminal)")
        self.add_argument("--no-progress", action="store_true",
                          help="never draw the progress bar")
        o = super().parse_args(argv)
        o.progress = not o.no_progress and (o.progress or sys.stderr.isatty())
        if o.trace is not None:
            trace.start(o.trace)    # a usage error after this removes its file
        return o

    def number(self, name, metavar, help, least, most, default):
        self.add_argument(f"--{name}", metavar=metavar, help=help, default=default,
                          type=lambda text: number(name, text, least, most))


# What lab_options.c's check_url takes: http(s)://, a user@ if any, a host
# name (letters, digits, - . _ ~ %, or non-ASCII) or an IPv6 address in
# brackets, then ":port" (1 to 65535) or ":" or nothing, then / ? # or the end.
URL = re.compile(r"https?://([^/?#]*@)?([-.\w~%\x80-\U0010ffff]+|\[[0-9A-Fa-f:.]+\])"
                 r"(:[0-9]*)?([/?#].*)?", re.ASCII)


def check_url(url, source="--url"):
    """Refuse once what every request would fail on (see check_url in lab_options.c)."""
    bad = re.search(r"[\x00-\x20\x7f]", url)
    if bad:     # not echoed whole: a line break would make the message two lines
        usage_error(f"{source}: a URL holds no space or control character "
                    f"(one follows '{url[:bad.start()]}')")
    match = URL.fullmatch(url)
    port = match and match.group(3)
    if not match or (port and port != ":" and not 1 <= int(port[1:]) <= 65535):
        usage_error(f"{source}: '{url}' is not an http:// or https:// URL")


def io_options(summary, default_workers, max_workers, accept_gil=False, argv=None):
    """The options every I/O twin takes; default_workers 0: one per request."""
    p = Parser(summary)
    p.add_argument("--url", action="append", default=[], metavar="URL",
                   help="download this URL; repeat to cycle over several (default: $LAB_URL)")
    p.number("requests", "N", "how many downloads (default 160)", 1, 10_000_000, 160)
    p.number("workers", "W", "how many at once", 1, max_workers, default_workers)
    p.number("timeout-ms", "MS", "give up on one download after MS (default 10000)",
             1, 86_400_000, 10_000)
    p.number("retries", "N", "retry a 429 or 503 answer up to N times, backing off",
             0, 20, 0)
    if accept_gil:
        gil_options(p)
    o = p.parse_args(argv)
    source = "--url"
    if not o.url:
        if not os.environ.get("LAB_URL"):
            usage_error("no URL: give --url or set LAB_URL (scripts/labserver url prints one)")
        o.url = [os.environ["LAB_URL"]]
        source = "LAB_URL"
    for url in o.url:
        check_url(url, source)
    if o.workers == 0 or o.workers > o.requests:
        o.workers = o.requests      # no idle workers
    return o


def gil_options(p):
    """--gil is accepted for the C lessons' command lines: CPython has one."""
    p.add_argument("--gil", action="store_true",
                   help="accepted for the C lessons' command lines: CPython always has its GIL")
    p.number("switch-interval-us", "US", "sys.setswitchinterval, in us (default 5000)",
             1, 10_000_000, None)


def gil_apply(o):
    """Set the switch interval asked for; return the record's gil= and interval."""
    if o.switch_interval_us is not None:
        sys.setswitchinterval(o.switch_interval_us / 1e6)
    enabled = getattr(sys, "_is_gil_enabled", lambda: True)()
    return int(enabled), round(sys.getswitchinterval() * 1e6)


def online_cpus():
    return max(os.sysconf("SC_NPROCESSORS_ONLN"), 1)


def cpu_options(summary, accept_gil=False, argv=None):
    p = Parser(summary)
    p.add_argument("--workload", default="sumsq", metavar="NAME",
                   help="sumsq, fib, sha256 or prime (default sumsq)")
    p.number("tasks", "N", "how many tasks (default 20)", 1, 1_000_000, 20)
    p.number("size", "S", "the size of one task (default: the workload's)",
             1, 4_000_000_000_000, 0)
    p.number("workers", "W", "threads or processes (default: the online CPUs)",
             1, 4096, online_cpus())
    if accept_gil:
        gil_options(p)
    o = p.parse_args(argv)
    o.workers = min(o.workers, o.tasks)     # no idle workers
    problem = workloads.prepare(o)
    if problem:
        usage_error(problem)
    return o


def reserve_files(files, option, value):
    """Raise the soft open-file limit for `files` more, or refuse (exit 2)."""
    need = files + 32
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft >= need:
        return
    if hard != resource.RLIM_INFINITY and hard < need:
        usage_error(f"--{option} {value} needs about {need} open files, but the limit "
                    f"is {hard} (ulimit -Hn): ask for fewer")
    resource.setrlimit(resource.RLIMIT_NOFILE, (need, hard))


# ---- Record, progress, exit status ------------------------------------------

def record(**pairs):
    """The record line: the last line on stdout, key=value pairs."""
    print(" ".join(f"{key}={value}" for key, value in pairs.items()), flush=True)


def exit_status(failures):
    """The end of every twin: write the trace (--trace), then the status."""
    written = trace.write()
    written = stdout_written() and written
    if stop_signal:
        return 128 + stop_signal
    return 1 if failures or not written else 0


class Progress:
    """A bar on stderr, redrawn at most 20 times a second."""

    def __init__(self, total, shown):
        self.total, self.shown, self.drawn_at = total, shown, 0.0

    def update(self, done):
        now = time.monotonic()
        if not self.shown or (done < self.total and now - self.drawn_at < 0.05):
            return
        self.drawn_at = now
        filled = done * 40 // self.total
        print(f"\r[{'#' * filled}{' ' * (40 - filled)}] {done}/{self.total}",
              end="", file=sys.stderr, flush=True)

    def end(self):
        if self.shown:
            print(file=sys.stderr)


# ---- Stopping -----------------------------------------------------------------

def _on_signal(signum, frame):
    global stop_signal
    first = not stop_signal
    stop_signal = signum
    if first:
        raise Interrupted(signum)   # out of whatever the main thread waits in


def catch_signals():
    """SIGINT/SIGTERM set stop_signal, which workers poll, and interrupt the
    main thread once; the twin then reports what finished."""
    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)


def join(child, show):
    """child.join() (a multiprocessing.Process), calling show() every 50 ms
    meanwhile, as procs_join() does: a progress bar keeps moving."""
    while child.is_alive():
        child.join(0.05)
        show()


def pool_results(results, total):
    """The results of a Pool's imap_unordered over `total` tasks, as a for
    loop over it gives them, but a worker that dies (killed, out of memory)
    is seen. Pool starts another in its place and waits for the task it held
    forever: the twin hung. The C lessons say which worker died and count its
    task failed; here, one line for each, and (None, None) in its task's
    place: trace.receive() makes that None, a failed task."""
    import multiprocessing
    workers = {child.pid for child in multiprocessing.active_children()}
    received = lost = 0
    while received + lost < total:
        try:
            result = results.next(timeout=0.1)
        except StopIteration:
            return
        except multiprocessing.TimeoutError:
            alive = {child.pid for child in multiprocessing.active_children()}
            for pid in sorted(workers - alive):
                print(f"{program()}: a worker (pid {pid}) died; its task is lost",
                      file=sys.stderr)
                lost += 1
                yield None, None
            workers = alive
            continue
        received += 1
        yield result


def ignore_signals(exit_on_term=False):
    """For a child process: the parent ends it (SIGTERM), not ^C. With
    exit_on_term, SIGTERM raises SystemExit, so the child leaves through its
    exit handlers and its trace's spans reach the parent; not for a Pool's
    workers, which may be holding the pool's queue lock when it comes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _exit_on_term if exit_on_term else signal.SIG_DFL)


def _exit_on_term(signum, frame):
    sys.exit(128 + signum)


# ---- --trace FILE ---------------------------------------------------------------

class Trace:
    """The spans behind --trace FILE, written at the end as the same Trace
    Event Format JSON the C lessons write (../../lab/trace.h): "X" events with
    ts and dur in microseconds since the start, a pid per process, a lane
    (tid) per thread, child or coroutine, each named by a metadata event.

    A twin records a unit of work where it happens:
        t0 = lab.trace.clock()
        part = workloads.run_task(o.workload, o.size, i)
        lab.trace.span("task", t0, i, task=i, workload=o.workload)
    The span goes on this thread's lane (numbered from 1 in each process and
    named when first used: "main thread", "thread N", a child's "worker"),
    or on the lane= given. Off, clock() reads no clock and span() returns.

    How the spans travel: each thread keeps its own list. A unit counted in
    another thread or process goes back with its result: the worker returns
    trace.send(value), and the parent's trace.receive(that) keeps the spans
    and gives the value; a result never received leaves no span. A child
    process started with multiprocessing.Process hands its spans over when
    it exits normally (a file in a scratch folder beside FILE's temporary
    file, which only the parent reads). Nothing reaches FILE until write():
    the temporary file, then a rename, so FILE is never half-written.
    """
    MOST = 1 << 18              # events kept, as trace.c's slots

    def __init__(self):
        self.on = False
        self.temp = self.path = self.scratch = self.owner = None
        self.epoch = 0.0
        self._reset()

    def _reset(self):
        """A process of its own: no events, no lanes yet (after a fork)."""
        self.pid = os.getpid()
        self.lists = []         # every thread's list of events, in this process
        self.local = threading.local()
        self.lanes = itertools.count(1)
        self.named = False
        self.dropped = 0

    def _events(self):
        mine = getattr(self.local, "events", None)
        if mine is None:
            mine = self.local.events = []
            self.lists.append(mine)
        return mine

    def start(self, path):
        """Check that path can be written, as trace.c does, or exit 2."""
        if path == "":
            usage_error("--trace: the file name is empty")
        if os.path.islink(path):    # os.replace would replace the link, not its file
            usage_error(f"--trace: '{path}' is a symbolic link: name the file itself")
        if os.path.exists(path) and not os.path.isfile(path):
            usage_error(f"--trace: '{path}' is not a regular file")
        try:
            fd, self.temp = tempfile.mkstemp(prefix=os.path.basename(path) + ".",
                                             dir=os.path.dirname(path) or ".")
        except OSError as error:
            usage_error(f"--trace: cannot write '{path}': {error.strerror}")
        mask = os.umask(0)
        os.umask(mask)
        os.fchmod(fd, 0o666 & ~mask)
        os.close(fd)
        self.scratch = self.temp + ".parts"
        os.mkdir(self.scratch, 0o700)
        self.path, self.on, self.epoch = path, True, time.monotonic()
        self.owner = os.getpid()
        os.register_at_fork(after_in_child=self._reset)
        import multiprocessing.util
        multiprocessing.util.register_after_fork(self, Trace._in_child)
        self.process(program())

    def _in_child(self):
        """A multiprocessing child: hand the spans over when it exits."""
        import multiprocessing.util
        multiprocessing.util.Finalize(None, self._hand_over, exitpriority=100)

    def _hand_over(self):
        events = self._take_all() + [("D", self.dropped)]
        if any(e[0] == "X" for e in events):
            part = os.path.join(self.scratch, f"{self.pid}")
            try:
                with open(part + ".part", "wb") as f:
                    pickle.dump(events, f)
                os.replace(part + ".part", part)     # whole, or not there
            except OSError:
                pass                # the parent has written the file already

    def clock(self):
        return time.monotonic() if self.on else 0.0

    def process(self, name):
        """Name this process ("child 2"); a pool's worker is named for you."""
        if self.on:
            self.named = True
            self._events().append(("P", self.pid, 0, name))

    def lane(self, name=None):
        """This thread's lane, numbered and named the first time it is asked."""
        lane = getattr(self.local, "lane", None)
        if lane is None and self.on:
            lane = self.local.lane = next(self.lanes)
            child = self.pid != self.owner
            if child and not self.named:        # "ForkPoolWorker-3": child 3
                import multiprocessing
                self.process("child " + multiprocessing.current_process().name.rpartition("-")[2])
            if name is None:
                main = threading.current_thread() is threading.main_thread()
                name = ("worker" if child else "main thread") if main else f"thread {lane}"
            self.name_lane(lane, name)
        return lane

    def name_lane(self, lane, name):
        """Name lane number `lane` of this process (an event loop's); gives lane."""
        if self.on:
            self._events().append(("L", self.pid, lane, name))
        return lane

    def span(self, cat, start, number=-1, lane=None, **args):
        """One finished unit of category cat, from start (a clock()) to now;
        named "<cat> <number>" ("<cat>" when number < 0); args become its args."""
        if not self.on:
            return
        end = time.monotonic()
        mine = self._events()
        if len(mine) >= self.MOST:
            self.dropped += 1
            return
        name = f"{cat} {number}" if number >= 0 else cat
        mine.append(("X", self.pid, lane or self.lane(), name, cat,
                     start - self.epoch, end - self.epoch, args))

    def send(self, value):
        """In a worker: value with the spans this thread recorded since."""
        if not self.on:
            return value, None
        events = self._events()[:]
        self._events().clear()
        return value, events

    def receive(self, sent):
        """In the parent: keep the spans that came with a result; the value."""
        value, events = sent
        if events:
            self._events().extend(events)
        return value

    def _take_all(self):
        events = [e for mine in self.lists for e in mine]
        for mine in self.lists:
            mine.clear()
        return events

    def write(self):
        """Write the file (the process that started tracing, once); False and
        one line on stderr if that failed."""
        if not self.on or os.getpid() != self.owner:
            return True
        self.on = False
        events = self._take_all()
        for part in sorted(os.listdir(self.scratch)):
            if not part.endswith(".part"):
                with open(os.path.join(self.scratch, part), "rb") as f:
                    events += pickle.load(f)
        dropped = self.dropped + sum(e[1] for e in events if e[0] == "D")
        events = [e for e in events if e[0] != "D"]
        events.sort(key=lambda e: e[0] == "X")  # names first, as they came
        dropped += max(len(events) - self.MOST, 0)
        lines = ",\n".join(_event_json(e) for e in events[:self.MOST])
        other = json.dumps({"program": program(), "dropped_events": dropped},
                           separators=(",", ":"))
        text = ('{"traceEvents":[\n' + lines + '\n],"displayTimeUnit":"ms",'
                f'"otherData":{other}}}\n')
        if dropped:
            print(f"{program()}: --trace: {dropped} events did not fit (the first "
                  f"{self.MOST} are in the file)", file=sys.stderr)
        try:
            with open(self.temp, "w") as f:
                f.write(text)
            os.replace(self.temp, self.path)
        except OSError as error:
            print(f"{program()}: --trace: cannot write {self.path}: {error.strerror}",
                  file=sys.stderr)
            self.abandon()
            return False
        self.temp = None
        self.abandon()
        return True

    def abandon(self):
        """Remove the temporary file and scratch folder without writing."""
        if self.path is None or os.getpid() != self.owner:
            return
        self.on = False
        if self.temp:
            try:
                os.unlink(self.temp)
            except FileNotFoundError:
                pass
        shutil.rmtree(self.scratch, ignore_errors=True)
        self.temp = self.path = None


def _event_json(e):
    compact = {"separators": (",", ":")}
    if e[0] == "P":
        return json.dumps({"name": "process_name", "ph": "M", "pid": e[1], "tid": 0,
                           "args": {"name": e[3]}}, **compact)
    if e[0] == "L":
        return (json.dumps({"name": "thread_name", "ph": "M", "pid": e[1], "tid": e[2],
                            "args": {"name": e[3]}}, **compact) + ",\n" +
                json.dumps({"name": "thread_sort_index", "ph": "M", "pid": e[1],
                            "tid": e[2], "args": {"sort_index": e[2]}}, **compact))
    _, pid, lane, name, cat, start, end, args = e
    return json.dumps({"name": name, "cat": cat, "ph": "X", "ts": round(max(start, 0) * 1e6, 3),
                       "dur": round(max(end - start, 0) * 1e6, 3), "pid": pid, "tid": lane,
                       "args": args}, **compact)


trace = Trace()
atexit.register(trace.abandon)      # an unexpected end leaves no temporary file

# ---- One download with requests (fetch.c's judging, counting and retrying) ----

_failures = 0
_failures_lock = threading.Lock()


def report_failure(request, why):
    global _failures
    with _failures_lock:
        _failures += 1
        shown = _failures
    if shown <= FAILURES_SHOWN:
        print(f"{program()}: request {request} failed: {why}", file=sys.stderr)
    elif shown == FAILURES_SHOWN + 1:
        print(f"{program()}: (further failures are only counted)", file=sys.stderr)


def retry_delay(status, attempt, retries):
    """Seconds to wait before retrying a 429/503 answer, or None."""
    if status not in (429, 503) or attempt >= retries or stop_signal:
        return None
    return min(0.05 * 2 ** min(attempt, 6), 2.0)


def url_of(o, request):
    return o.url[request % len(o.url)]


def fetch(session, o, request):
    """Download request i with a requests.Session: the body's length, or None
    when it failed (a non-2xx answer, refused, dropped, timed out). Traced,
    as fetch.c traces, as a "request" span on the calling thread's lane; a
    download cut short by a signal raises out of here, and is not."""
    start = trace.clock()
    nbytes = download(session, o, request)
    trace.span("request", start, request, request=request, bytes=nbytes or 0,
               ok=nbytes is not None)
    return nbytes


def download(session, o, request):
    import requests
    for attempt in range(o.retries + 1):
        try:
            with session.get(url_of(o, request), timeout=o.timeout_ms / 1000) as response:
                body = response.content
        except requests.RequestException as error:
            report_failure(request, type(error).__name__)
            return None
        delay = retry_delay(response.status_code, attempt, o.retries)
        if delay is None:
            break
        time.sleep(delay)
    if not 200 <= response.status_code <= 299:
        report_failure(request, f"HTTP status {response.status_code}")
        return None
    return len(body)


def timed(step, *args):
    """step(*args), and the seconds it took (the monotonic clock)."""
    start = time.perf_counter()
    value = step(*args)
    return value, time.perf_counter() - start


def tally_downloads(o, download_all):
    """Time download_all(o, tally), which counts every download that ended
    into tally (count_download) and draws the bar; a signal ends it, and
    what ended before it counts. Returns the tally and the seconds."""
    tally = {"done": 0, "failed": 0, "bytes": 0, "progress": Progress(o.requests, o.progress)}
    start = time.perf_counter()
    try:
        download_all(o, tally)
    except Interrupted:
        pass                        # the downloads in hand are not counted
    seconds = time.perf_counter() - start
    tally["progress"].end()
    return tally, seconds


def count_download(tally, nbytes):
    """One download ended: its body's bytes, or None if it failed."""
    tally["failed"] += nbytes is None
    tally["bytes"] += nbytes or 0
    tally["done"] += 1
    tally["progress"].update(tally["done"])


def fetch_report(experiment, o, workers, seconds, nbytes, failed, done, **extra):
    """The end of every I/O twin, as fetch_report() ends every I/O lesson."""
    print(f"Downloaded {done - failed} of {o.requests} ({nbytes} bytes, {failed} errors) "
          f"in {seconds:.3f} s")
    record(experiment=experiment, requests=o.requests, workers=workers,
           seconds=f"{seconds:.6f}", bytes=nbytes, errors=failed, done=done, **extra)
