#!/usr/bin/python3
"""What every lesson's --trace must hold, whatever the lesson:

  tests/trace_invariants.py FILE SECONDS [UNIT COUNT [per-process]]

FILE is JSON in the Trace Event Format ({"traceEvents":[...],
"displayTimeUnit":"ms"}); every complete event lies in [0, SECONDS of the
run] of the first one (the run's seconds= from its record), has a length of
0 or more, and no two events of one category overlap on one lane; every
process is named once, on a pid of its own, and every lane with events is
named; under the emulated GIL, no two threads of a process hold the lock at
once (the trace proves the mutual exclusion). With UNIT and COUNT: exactly
COUNT complete events of category UNIT, named "UNIT N" with N as its args
say, no N twice (per process with per-process: a child's set N is its own
op N). Prints one line of counts, including handovers= (how often the GIL
changed hands); exits 1 with the reason on the first thing wrong.
"""
import json
import sys

SLACK_US = 0.002        # ts and dur are printed to the nanosecond
RUN_SLACK_US = 1000     # the trace's clock starts a little before seconds='s


def fail(why):
    print("trace_invariants: " + why, file=sys.stderr)
    sys.exit(1)


def main():
    path, seconds = sys.argv[1], float(sys.argv[2])
    unit = sys.argv[3] if len(sys.argv) > 3 else None
    count = int(sys.argv[4]) if len(sys.argv) > 4 else None
    per_process = len(sys.argv) > 5 and sys.argv[5] == "per-process"
    with open(path) as f:
        trace = json.load(f)
    if trace.get("displayTimeUnit") != "ms":
        fail("no displayTimeUnit ms")
    events = trace["traceEvents"]
    spans = [e for e in events if e.get("ph") == "X"]
    instants = [e for e in events if e.get("ph") == "i"]

    # Time: from 0, no negative length, all within the run's seconds.
    for e in spans + instants:
        if e["ts"] < 0 or e.get("dur", 0) < 0:
            fail("%s at %s us, %s us long" % (e["name"], e["ts"], e.get("dur")))
    if spans:
        first = min(e["ts"] for e in spans)
        last = max(e["ts"] + e["dur"] for e in spans)
        if last - first > seconds * 1e6 + RUN_SLACK_US:
            fail("events span %.0f us, the run took %.0f us" % (last - first, seconds * 1e6))

    # Processes: each named once, on a pid of its own; every lane named.
    names = {}
    for e in events:
        if e.get("ph") == "M" and e["name"] == "process_name":
            if e["pid"] in names:
                fail("pid %d is named twice" % e["pid"])
            names[e["pid"]] = e["args"]["name"]
    if len(set(names.values())) != len(names):
        fail("two processes share a name: %s" % sorted(names.values()))
    lane_names = {(e["pid"], e["tid"]) for e in events
                  if e.get("ph") == "M" and e["name"] == "thread_name"}
    lanes = {(e["pid"], e["tid"]) for e in spans + instants}
    for pid, tid in lanes:
        if pid not in names:
            fail("pid %d has events but no process_name" % pid)
        if (pid, tid) not in lane_names:
            fail("lane %d of %s has events but no thread_name" % (tid, names[pid]))

    # One lane, one category: its events follow one another.
    by_lane = {}
    for e in spans:
        by_lane.setdefault((e["pid"], e["tid"], e["cat"]), []).append(e)
    for (pid, tid, cat), evs in by_lane.items():
        evs.sort(key=lambda e: e["ts"])
        for a, b in zip(evs, evs[1:]):
            if b["ts"] < a["ts"] + a["dur"] - SLACK_US:
                fail("%s, lane %d: %s and %s overlap" % (names[pid], tid, a["name"], b["name"]))

    # The GIL: one holder at a time in each process.
    handovers = 0
    for pid in names:
        held = sorted((e for e in spans if e["cat"] == "gil" and e["pid"] == pid),
                      key=lambda e: e["ts"])
        for a, b in zip(held, held[1:]):
            if b["ts"] < a["ts"] + a["dur"] - SLACK_US:
                fail("lanes %d and %d of %s hold the GIL at once (at %.3f us)"
                     % (a["tid"], b["tid"], names[pid], b["ts"]))
            handovers += a["tid"] != b["tid"]

    # The units of work: one event each, numbered as their args say.
    units = [e for e in spans if e["cat"] == unit] if unit else []
    if unit and count is not None:
        if len(units) != count:
            fail("%d %s events, want %d" % (len(units), unit, count))
        seen = set()
        for e in units:
            number = e["name"][len(unit) + 1:]
            if e["name"] != "%s %s" % (unit, number) or not number.isdigit():
                fail("a %s event named %r" % (unit, e["name"]))
            if unit in e.get("args", {}) and e["args"][unit] != int(number):
                fail("%s: args say %s" % (e["name"], e["args"][unit]))
            key = (e["pid"] if per_process else 0, int(number))
            if key in seen:
                fail("%s twice%s" % (e["name"], " in one process" if per_process else ""))
            seen.add(key)
    print("spans=%d instants=%d %s=%d lanes=%d processes=%d handovers=%d"
          % (len(spans), len(instants), unit or "units", len(units), len(lanes), len(names), handovers))


main()
