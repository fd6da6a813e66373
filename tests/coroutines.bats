#!/usr/bin/env bats
# io_coroutines against the lab server: exact bytes and errors as for the
# other I/O lessons, the waits overlapping on one thread, --block-ms stalling
# every coroutine (in the total and in the trace), retries, bad usage, and
# a signal.

# shellcheck disable=SC2154   # bats sets status, output, lines, stderr...
load helpers

setup_file() { lab_server_start; }
teardown_file() { lab_server_stop; }

# Run io_coroutines; it must exit $1 and print a record with every key.
coroutines_exits() {
    local want=$1
    shift
    run --separate-stderr "$LAB_BIN/io_coroutines" "$@"
    [ "$status" = "$want" ] || { echo "want exit $want, got $status; stderr: $stderr" >&2; return 1; }
    record_has_keys experiment requests workers seconds bytes errors "done" block_ms
    [ "$(record experiment)" = io_coroutines ]
}

expect() {
    [ "$(record "$1")" = "$2" ] || { echo "want $1=$2, got ${lines[-1]}" >&2; return 1; }
}

between() { awk -v x="$1" -v lo="$2" -v hi="$3" 'BEGIN { exit !(x >= lo && x < hi) }'; }

@test "the exact body bytes, all in flight and 3 at a time" {
    coroutines_exits 0 --url "$LAB_BASE/delay?s=0.01&bytes=17" --requests 20
    expect bytes 340
    expect errors 0
    expect "done" 20
    expect workers 20               # the default: every request in flight
    coroutines_exits 0 --url "$LAB_BASE/delay?s=0.01&bytes=17" --requests 20 --workers 3
    expect bytes 340
    expect workers 3
}

@test "a 404 and a dead port are errors: exit 1, every one counted" {
    for url in "$LAB_BASE/status/404" "$DEAD_URL"; do
        for workers in 1 6; do
            coroutines_exits 1 --url "$url" --requests 6 --workers "$workers"
            expect errors 6
            expect bytes 0
            expect "done" 6
            [[ "$stderr" == *"request "*" failed: "* ]]
        done
    done
}

@test "half good, half 404: exact errors, and the bytes of the good half only" {
    coroutines_exits 1 --url "$LAB_BASE/delay?bytes=17" --url "$LAB_BASE/status/404" --requests 10
    expect errors 5
    expect bytes 85
    expect "done" 10
}

@test "all in flight on one thread: 20 requests of 200 ms take about one latency" {
    coroutines_exits 0 --url "$LAB_BASE/delay?s=0.2&bytes=1" --requests 20
    between "$(record seconds)" 0.2 0.6 || { echo "${lines[-1]}" >&2; false; }
}

@test "--block-ms: one coroutine's computing stalls them all, block by block" {
    url="$LAB_BASE/delay?s=0.2&bytes=1"
    # All in flight: coroutine 1 blocks once, 300 ms, before the others are counted.
    coroutines_exits 0 --url "$url" --requests 20 --block-ms 300
    expect bytes 20
    expect block_ms 300
    between "$(record seconds)" 0.5 1.5 || { echo "${lines[-1]}" >&2; false; }
    # 5 coroutines: coroutine 1 does 4 requests, each 200 ms then a 100 ms block.
    coroutines_exits 0 --url "$url" --requests 20 --workers 5 --block-ms 100
    expect bytes 20
    between "$(record seconds)" 1.2 3.6 || { echo "${lines[-1]}" >&2; false; }
}

@test "--trace: a span per request on its coroutine's lane; none ends inside a block" {
    trace="$BATS_TEST_TMPDIR/coroutines.json"
    coroutines_exits 0 --url "$LAB_BASE/delay?s=0.05&bytes=3" --requests 12 --workers 4 \
        --block-ms 60 --trace "$trace"
    run -0 /usr/bin/python3 - "$trace" <<'PY'
import json, sys
events = json.load(open(sys.argv[1]))["traceEvents"]
requests = [e for e in events if e["ph"] == "X" and e["cat"] == "request"]
blocks = [e for e in events if e["ph"] == "X" and e["cat"] == "block"]
assert sorted(e["args"]["request"] for e in requests) == list(range(12)), requests
assert {e["tid"] for e in requests} == {1, 2, 3, 4}, requests
assert blocks and all(e["tid"] == 1 for e in blocks), blocks
names = {e["tid"]: e["args"]["name"] for e in events if e["ph"] == "M" and e["name"] == "thread_name"}
assert names.get(1) == "coroutine 1", names
for b in blocks:
    for r in requests:
        end = r["ts"] + r["dur"]
        assert not (b["ts"] < end < b["ts"] + b["dur"]), (b, r)
PY
}

@test "--retries gets past the throttle" {
    coroutines_exits 1 --url "$LAB_BASE/throttled?bytes=7" --requests 15 --workers 1
    [ "$(record errors)" -gt 0 ]
    coroutines_exits 0 --url "$LAB_BASE/throttled?bytes=7" --requests 15 --workers 1 --retries 5
    expect errors 0
    expect bytes 105
}

@test "bad usage: exit 2, one line on stderr, nothing on stdout" {
    for bad in "--block-ms" "--block-ms -1" "--block-ms 1s" "--block-ms=x" "--requests 0" \
               "--workers 0" "--url ftp://x" "--bogus" "stray"; do
        # shellcheck disable=SC2086   # split the option from its value
        run -2 --separate-stderr "$LAB_BIN/io_coroutines" --url "$LAB_BASE/delay" $bad
        [ "${#stderr_lines[@]}" = 1 ] && [ -z "$output" ] || { echo "$bad: '$stderr' '$output'" >&2; false; }
    done
    run -0 "$LAB_BIN/io_coroutines" --help
    [[ "$output" == *"--block-ms MS"* ]]
}

@test "SIGINT and SIGTERM: stopped within a tick, 128+signal, the record, a whole trace" {
    for sig in INT TERM; do
        trace="$BATS_TEST_TMPDIR/stopped-$sig.json"
        out="$BATS_TEST_TMPDIR/out"
        "$LAB_BIN/io_coroutines" --url "$LAB_BASE/delay?s=0.05&bytes=2" --url "$LAB_BASE/delay?s=5" \
            --requests 40 --workers 4 --trace "$trace" >"$out" 2>"$out.err" 3>&- &
        pid=$!
        sleep 0.5
        start=$(date +%s%N)
        kill "-$sig" "$pid"
        status=0
        wait "$pid" || status=$?
        took_ms=$(( ($(date +%s%N) - start) / 1000000 ))
        [ "$status" = $((128 + $(kill -l "$sig"))) ]
        [ "$took_ms" -lt 150 ] || { echo "$sig: took $took_ms ms to stop" >&2; false; }
        output=$(cat "$out")
        record_has_keys "done" bytes errors
        [ "$(record "done")" -lt 40 ]
        [ "$(record bytes)" = $(( 2 * $(record "done") )) ]
        run -0 /usr/bin/python3 -c 'import json, sys; ev = json.load(open(sys.argv[1]))["traceEvents"]; print(sum(e["ph"] == "X" for e in ev))' "$trace"
        [ "$output" -ge 1 ]
        [ -z "$(ls "$BATS_TEST_TMPDIR" | grep -v -e '^stopped-' -e '^out')" ]
    done
}
