#!/usr/bin/python3
"""Check a --trace file: trace_check.py FILE CAT DONE/TOTAL SECONDS [PIDS]

FILE must be JSON in the Trace Event Format with exactly DONE complete
("X") events of category CAT, each numbered (args.request or args.task)
below TOTAL and no number twice, so DONE = TOTAL means 0..TOTAL-1; every event at or after 0 and all of them within SECONDS of
one another (the run's seconds= from its record); no two events of one
lane (pid, tid) overlapping; every pid and lane named by metadata. With
PIDS, the CAT events come from exactly that many processes, none of them
the main one (the children). Prints one line: the counts it saw. Exits 1
with the reason on the first thing wrong.
"""
import json
import sys

SLACK_US = 0.002  # ts and dur are printed with 3 decimals (nanoseconds)


def fail(why):
    print("trace_check: " + why, file=sys.stderr)
    sys.exit(1)


def main():
    path, cat, seconds = sys.argv[1], sys.argv[2], float(sys.argv[4])
    count, total = (int(n) for n in sys.argv[3].split("/"))
    pids_wanted = int(sys.argv[5]) if len(sys.argv) > 5 else None
    with open(path) as f:
        trace = json.load(f)
    if trace.get("displayTimeUnit") != "ms":
        fail("no displayTimeUnit ms")
    events = trace["traceEvents"]
    spans = [e for e in events if e.get("ph") == "X"]
    mine = [e for e in spans if e["cat"] == cat]
    if len(mine) != count:
        fail("%d %s events, want %d" % (len(mine), cat, count))
    numbers = sorted(e["args"][cat] for e in mine)
    if len(set(numbers)) != len(numbers):
        fail("a %s number appears twice" % cat)
    if numbers and (numbers[0] < 0 or numbers[-1] >= total):
        fail("a %s number outside 0..%d" % (cat, total - 1))
    for e in mine:
        if e["name"] != "%s %d" % (cat, e["args"][cat]):
            fail("name %r does not match its args" % e["name"])
    if spans:
        first = min(e["ts"] for e in spans)
        last = max(e["ts"] + e["dur"] for e in spans)
        if first < 0 or any(e["dur"] < 0 for e in spans):
            fail("an event before 0 or of negative length")
        if last - first > seconds * 1e6 + 1:
            fail("events span %.0f us, the run took %.0f us" % (last - first, seconds * 1e6))
    lanes = {}
    for e in spans:
        lanes.setdefault((e["pid"], e["tid"]), []).append(e)
    for lane, evs in lanes.items():
        evs.sort(key=lambda e: e["ts"])
        for a, b in zip(evs, evs[1:]):
            if b["ts"] < a["ts"] + a["dur"] - SLACK_US:
                fail("lane %s: %s and %s overlap" % (lane, a["name"], b["name"]))
    named_pids = {e["pid"]: e["args"]["name"] for e in events
                  if e.get("ph") == "M" and e["name"] == "process_name"}
    named_lanes = {(e["pid"], e["tid"]) for e in events
                   if e.get("ph") == "M" and e["name"] == "thread_name"}
    for pid, tid in lanes:
        if pid not in named_pids:
            fail("pid %d has no process_name" % pid)
        if (pid, tid) not in named_lanes:
            fail("lane (%d, %d) has no thread_name" % (pid, tid))
    pids = {e["pid"] for e in mine}
    if pids_wanted is not None:
        program = trace["otherData"]["program"]
        if len(pids) != pids_wanted:
            fail("%s events from %d processes, want %d" % (cat, len(pids), pids_wanted))
        if any(named_pids[p] == program for p in pids):
            fail("%s events in the main process" % cat)
        if any(not named_pids[p].startswith("child ") for p in pids):
            fail("a process not named 'child N'")
    print("spans=%d %s=%d lanes=%d pids=%d" % (len(spans), cat, len(mine), len(lanes), len(pids)))


main()
