#!/usr/bin/env bats
# The emulated GIL: exact results under the lock, no deadlock, the convoy.

load helpers

setup_file() { lab_server_start; }
teardown_file() { lab_server_stop; }

@test "io_convoy: with the GIL, each answer waits about one switch interval" {
    # A real 5 ms wait per request, during which the CPU thread takes the lock.
    run -0 --separate-stderr "$LAB_BIN/io_convoy" --url "$LAB_BASE/delay?s=0.005&bytes=10" \
        --requests 20 --gil --switch-interval-us 20000
    [ "$(record gil)" = 1 ]
    [ "$(record bytes)" = 400 ]
    [ "$(record done)" = 40 ]
    # A waiter only asks the holder to let go after a whole interval (20 ms).
    awk -v ms="$(record beside_cpu_ms)" 'BEGIN { exit !(ms >= 18) }'
}

@test "io_convoy: without the GIL the CPU thread does not slow the I/O thread" {
    run -0 --separate-stderr "$LAB_BIN/io_convoy" --url "$LAB_BASE/delay?s=0.005&bytes=10" \
        --requests 20 --switch-interval-us 20000
    [ "$(record gil)" = 0 ]
    awk -v ms="$(record beside_cpu_ms)" 'BEGIN { exit !(ms < 15) }'
}

@test "io_convoy: refuses a zero switch interval and --workers above 1" {
    run -2 --separate-stderr "$LAB_BIN/io_convoy" --url "$LAB_BASE/" --gil --switch-interval-us 0
    [ "${#stderr_lines[@]}" = 1 ]
    run -2 --separate-stderr "$LAB_BIN/io_convoy" --url "$LAB_BASE/" --workers 2
    [ "${#stderr_lines[@]}" = 1 ]
}

@test "cpu_threads --gil: results stay exact and identical to cpu_sync's" {
    for workload in sumsq fib sha256 prime; do
        run -0 --separate-stderr "$LAB_BIN/cpu_sync" --workload "$workload" --tasks 6 --size 30
        expected=$(record result)
        run -0 --separate-stderr "$LAB_BIN/cpu_threads" --workload "$workload" --tasks 6 --size 30 \
            --workers 3 --gil --switch-interval-us 50
        [ "$(record result)" = "$expected" ]
        [ "$(record gil)" = 1 ]
        [ "$(record done)" = 6 ]
    done
}

@test "cpu_threads --gil: no deadlock with 1, 2 and 16 threads, at 1 us and at 100 ms" {
    run -0 --separate-stderr "$LAB_BIN/cpu_sync" --workload sha256 --tasks 16 --size 20_000
    expected=$(record result)
    for workers in 1 2 16; do
        for interval in 1 100000; do
            run -0 --separate-stderr timeout 120 "$LAB_BIN/cpu_threads" --workload sha256 \
                --tasks 16 --size 20_000 --workers "$workers" --gil --switch-interval-us "$interval"
            [ "$(record result)" = "$expected" ]
            # Every thread took the lock at least once to run its first task.
            [ "$(record gil_switches)" -ge "$workers" ]
        done
    done
}

@test "cpu_threads --gil: two threads never compute at once (CPU time within wall time)" {
    [ -z "${LAB_SANITIZED:-}" ] || skip "sanitizers add their own threads' work"
    run -0 --separate-stderr /usr/bin/time -f 'cpu_util %U %S %e' "$LAB_BIN/cpu_threads" \
        --workload sumsq --tasks 4 --size 300_000_000 --workers 2 --gil
    read -r _ user sys wall <<<"${stderr_lines[-1]}"
    # One core's worth at most (load can only lower it); without the lock,
    # two threads on two cores would use close to twice the wall time.
    awk -v u="$user" -v s="$sys" -v w="$wall" 'BEGIN { exit !((u + s) <= 1.25 * w + 0.02) }'
}

@test "cpu_threads --gil: SIGINT ends every thread and exits 130" {
    interrupt_lesson "exec '$LAB_BIN/cpu_threads' --workload sumsq --tasks 40 --size 50_000_000 --workers 4 --gil" 0 INT
    [ "$status" = 130 ]
    [ "$(record gil)" = 1 ]
    [ "$(record done)" -lt 40 ]
}

# Check a --trace file of a --gil run ($1) with tests/trace_check.py (one
# holder at a time, a wait ends in a hold) and print "<hand-overs> <gil spans>",
# the first take (from nobody) counted as gil.c counts it.
gil_trace_check() {
    local counts
    counts=$("$LAB_TOP/tests/trace_check.py" "$1" 600) || return 1
    [[ "$counts" =~ handovers=([0-9]+) ]] || return 1
    echo "$((BASH_REMATCH[1] + 1)) $(grep -c '"cat":"gil","ph":"X"' "$1")"
}

@test "cpu_threads --gil --trace: the gil spans never overlap; hand-overs match gil_switches, about one per interval or three" {
    run -0 --separate-stderr "$LAB_BIN/cpu_threads" --workload sumsq --tasks 4 --size 200_000_000 \
        --workers 2 --gil --switch-interval-us 5000 --trace "$BATS_TEST_TMPDIR/gil.json"
    switches=$(record gil_switches) seconds=$(record seconds)
    run -0 gil_trace_check "$BATS_TEST_TMPDIR/gil.json"
    read -r handovers spans <<<"$output"
    echo "gil_switches=$switches trace: $handovers hand-overs, $spans spans in $seconds s" >&2
    [ "$handovers" = "$switches" ]
    # A waiter asks after one interval (5 ms); the holder lets go at its next
    # check: from one hand-over per interval down to one per few intervals.
    awk -v n="$handovers" -v s="$seconds" 'BEGIN { i = s / 0.005; exit !(n >= 0.15 * i && n <= 1.5 * i) }'
}

@test "cpu_threads --gil --trace with 4 threads: still one holder at a time" {
    run -0 --separate-stderr "$LAB_BIN/cpu_threads" --workload sha256 --tasks 8 --size 20_000 \
        --workers 4 --gil --switch-interval-us 1000 --trace "$BATS_TEST_TMPDIR/gil4.json"
    run -0 gil_trace_check "$BATS_TEST_TMPDIR/gil4.json"
}

@test "io_convoy --gil --trace: requests on the I/O thread's lane, the computing on the CPU thread's, one holder at a time" {
    run -0 --separate-stderr "$LAB_BIN/io_convoy" --url "$LAB_BASE/delay?s=0.005&bytes=10" \
        --requests 20 --gil --switch-interval-us 5000 --trace "$BATS_TEST_TMPDIR/convoy.json"
    [ "$(record done)" = 40 ]
    run -0 gil_trace_check "$BATS_TEST_TMPDIR/convoy.json"
    run -0 /usr/bin/python3 - "$BATS_TEST_TMPDIR/convoy.json" <<'PY'
import json, sys
events = json.load(open(sys.argv[1]))["traceEvents"]
lanes = {e["tid"]: e["args"]["name"] for e in events if e["name"] == "thread_name"}
assert lanes == {1: "I/O thread", 2: "CPU thread"}, lanes
spans = [e for e in events if e["ph"] == "X"]
requests = [e for e in spans if e["cat"] == "request"]
assert len(requests) == 40 and all(e["tid"] == 1 for e in requests)
assert sorted(e["args"]["request"] for e in requests) == list(range(40))
assert all(e["args"]["bytes"] == 10 and e["args"]["ok"] for e in requests)
compute = [e for e in spans if e["cat"] == "compute"]
assert len(compute) == 1 and compute[0]["tid"] == 2
assert not [e for e in spans if e["cat"] == "task"], "the CPU thread is stopped: no task done"
# On the I/O lane, requests, waits and holds follow one another.
io = sorted((e["ts"], e["ts"] + e["dur"]) for e in spans if e["tid"] == 1)
assert all(a[1] <= b[0] + 0.001 for a, b in zip(io, io[1:])), "overlap on the I/O lane"
assert any(e["ph"] == "i" and e["name"] == "drop request" for e in events)
PY
}
