#!/usr/bin/python3
"""What every lesson's --trace must hold, whatever the lesson:

  tests/trace_check.py FILE SECONDS [UNIT DONE[/TOTAL] [per-process | children=N[-M]]]

FILE is JSON in the Trace Event Format ({"traceEvents":[...],
"displayTimeUnit":"ms"}); every event starts at 0 or later, has a length of
0 or more, and the complete ones lie within SECONDS of one another (the
run's seconds= from its record). A lane holds spans of several categories
that nest (a task inside the "gil" span that holds the lock): two spans of
one category never overlap on one lane. Every process is named once, on a
pid and a name of its own; every lane with events is named. Under the
emulated GIL no two threads of a process hold the lock at once (the trace
proves the mutual exclusion), and a wait for it ends as its lane's hold
begins. With UNIT and DONE: exactly DONE complete events of category UNIT,
named "UNIT N" with N in their args (as UNIT, or as op), no N twice (per
process with per-process: a child's set N is its own op N), every N below
TOTAL if given. With children=N, the UNIT events come from exactly N processes
named "child ...", none from the main one; with children=N-M, from N to M of
them (a child started late may find the work all taken). Prints one line of counts,
including handovers= (how often the GIL changed hands); exits 1 with the
reason on the first thing wrong.
"""
import json
import sys

SLACK_US = 0.002        # ts and dur are printed to the nanosecond
RUN_SLACK_US = 1000     # the trace's clock starts a little before seconds='s


def fail(why):
    print("trace_check: " + why, file=sys.stderr)
    sys.exit(1)


def overlaps(events, what):
    """Fail unless the events, sorted by start, follow one another."""
    events.sort(key=lambda e: e["ts"])
    for a, b in zip(events, events[1:]):
        if b["ts"] < a["ts"] + a["dur"] - SLACK_US:
            fail("%s: %s and %s overlap (at %.3f us)" % (what, a["name"], b["name"], b["ts"]))


def main():
    if len(sys.argv) not in (3, 5, 6):
        fail("usage: trace_check.py FILE SECONDS [UNIT DONE[/TOTAL] [per-process | children=N[-M]]]")
    path, seconds = sys.argv[1], float(sys.argv[2])
    unit = sys.argv[3] if len(sys.argv) > 3 else None
    done, _, total = sys.argv[4].partition("/") if unit else ("0", "", "")
    extra = sys.argv[5] if len(sys.argv) > 5 else ""
    children = None
    if extra.startswith("children="):
        low, _, high = extra[9:].partition("-")
        children = (int(low), int(high or low))
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
        overlaps(evs, "%s, lane %d, %s" % (names[pid], tid, cat))

    # The GIL: one holder at a time in each process; a wait ends in a hold.
    handovers = 0
    for pid in names:
        held = [e for e in spans if e["cat"] == "gil" and e["pid"] == pid]
        overlaps(held, "the GIL of %s" % names[pid])
        handovers += sum(a["tid"] != b["tid"] for a, b in zip(held, held[1:]))
        starts = {(e["tid"], round(e["ts"])) for e in held}
        for w in (e for e in spans if e["cat"] == "gil-wait" and e["pid"] == pid):
            end = w["ts"] + w["dur"]
            if not any((w["tid"], round(end) + d) in starts for d in (-1, 0, 1)):
                fail("%s, lane %d: a wait for the GIL ends at %.3f us, and no hold begins there"
                     % (names[pid], w["tid"], end))

    # The units of work: one event each, numbered as their args say.
    units = [e for e in spans if e["cat"] == unit] if unit else []
    if unit:
        if len(units) != int(done):
            fail("%d %s events, want %s" % (len(units), unit, done))
        seen = set()
        for e in units:
            args = e.get("args", {})
            number = args.get(unit, args.get("op"))     # a child's set N is its op N
            if not isinstance(number, int) or e["name"] != "%s %d" % (unit, number):
                fail("a %s event named %r, with args %s" % (unit, e["name"], e.get("args")))
            if number < 0 or (total and number >= int(total)):
                fail("%s: not in 0..%d" % (e["name"], int(total) - 1))
            key = (e["pid"] if extra == "per-process" else 0, number)
            if key in seen:
                fail("%s twice%s" % (e["name"], " in one process" if extra == "per-process" else ""))
            seen.add(key)
    pids = {e["pid"] for e in units}
    if children is not None:
        if not children[0] <= len(pids) <= children[1]:
            want = "%d" % children[0] if children[0] == children[1] else "%d to %d" % children
            fail("%s events from %d processes, want %s" % (unit, len(pids), want))
        if any(not names[p].startswith("child ") for p in pids):
            fail("%s events in a process not named 'child N'" % unit)
    print("spans=%d instants=%d %s=%d lanes=%d processes=%d handovers=%d"
          % (len(spans), len(instants), unit or "units", len(units), len(lanes), len(names), handovers))


main()
