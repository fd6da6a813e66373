#!/usr/bin/env bats
# The I/O lessons against the lab server: exact byte counts, every kind of
# failure counted, the waits overlapping (lower bounds and generous upper
# ones), retries, bad usage, the open-file limit, and signals.

# shellcheck disable=SC2154   # bats sets status, output, lines, stderr...
load helpers

IO_LESSONS=(io_sync io_threads io_multiprocessing io_async)
CONCURRENT=(io_threads io_multiprocessing io_async)

setup_file() { lab_server_start; }
teardown_file() { lab_server_stop; }

# Run one lesson with the arguments given; it must exit $1 and print a
# record with every key, naming the lesson as its experiment.
lesson_exits() {
    local want=$1 lesson=$2
    shift 2
    run --separate-stderr "$LAB_BIN/$lesson" "$@"
    if [ "$status" != "$want" ]; then
        echo "$lesson $*: want exit $want, got $status; stderr: $stderr" >&2
        return 1
    fi
    record_has_keys experiment requests workers seconds bytes errors "done"
    [ "$(record experiment)" = "$lesson" ]
}

# Fail, saying which, unless record key $2 of lesson $1 is $3.
expect() {
    local got
    got=$(record "$2")
    [ "$got" = "$3" ] || { echo "$1: want $2=$3, got ${lines[-1]}" >&2; return 1; }
}

# After a refusal: one line on stderr, nothing on stdout.
one_line_only() {
    [ "${#stderr_lines[@]}" = 1 ] && [ -z "$output" ] && return 0
    echo "$1: stderr '$stderr', stdout '$output'" >&2
    return 1
}

@test "every I/O lesson counts the exact body bytes" {
    for lesson in "${IO_LESSONS[@]}"; do
        lesson_exits 0 "$lesson" --url "$LAB_BASE/delay?s=0.01&bytes=17" --requests 20
        expect "$lesson" bytes 340
        expect "$lesson" errors 0
        expect "$lesson" "done" 20
        expect "$lesson" requests 20
    done
}

@test "requests cycle over the --url values: the cats, 7 URLs for 20 requests" {
    urls=() want=0
    for cat_id in 1 2 3 4 5 6 7; do urls+=(--url "$LAB_BASE/cats/$cat_id.jpg"); done
    for ((i = 0; i < 20; i++)); do want=$((want + 100000 + i % 7 + 1)); done
    for lesson in "${IO_LESSONS[@]}"; do
        lesson_exits 0 "$lesson" "${urls[@]}" --requests 20
        expect "$lesson" bytes "$want"
        expect "$lesson" errors 0
    done
}

@test "the default workers: 1, 5 threads, the CPUs, all in flight" {
    export LAB_URL="$LAB_BASE/delay?bytes=1"    # the URL when no --url
    cpus=$(nproc)
    lesson_exits 0 io_sync --requests 20
    expect io_sync workers 1
    lesson_exits 0 io_threads --requests 20
    expect io_threads workers 5
    lesson_exits 0 io_multiprocessing --requests 20
    expect io_multiprocessing workers $((cpus < 20 ? cpus : 20))
    lesson_exits 0 io_async --requests 20
    expect io_async workers 20
    lesson_exits 0 io_threads --requests 3 --workers 10
    expect io_threads workers 3     # never more workers than requests
}

@test "a 404, a 503, a refused connection and a dropped one are errors: exit 1, record printed" {
    for url in "$LAB_BASE/status/404" "$LAB_BASE/status/503" "$DEAD_URL" "$LAB_BASE/drop"; do
        for lesson in "${IO_LESSONS[@]}"; do
            lesson_exits 1 "$lesson" --url "$url" --requests 6 --workers 1
            expect "$lesson" errors 6
            expect "$lesson" bytes 0
            expect "$lesson" "done" 6
            [[ "$stderr" == *"request "*" failed: "* ]]
        done
    done
}

@test "a timeout is an error, and comes when asked" {
    for lesson in "${IO_LESSONS[@]}"; do
        start=$SECONDS
        lesson_exits 1 "$lesson" --url "$LAB_BASE/delay?s=5" --timeout-ms 200 --requests 4
        [ $((SECONDS - start)) -lt 4 ]      # 0.8 s at worst; 5 s per request if ignored
        expect "$lesson" errors 4
        [[ "$stderr" == *"timed out"* ]]
    done
}

@test "the lab server stopped mid-run: every request done or failed, exit 1, promptly" {
    for lesson in "${IO_LESSONS[@]}"; do
        LAB_SERVER_DIR="$BATS_TEST_TMPDIR/$lesson" run -0 "$LAB_TOP/scripts/labserver" start
        base=$output
        start=$SECONDS
        workers=3
        [ "$lesson" != io_sync ] || workers=1
        "$LAB_BIN/$lesson" --url "$base/delay?s=0.2&bytes=10" --requests 30 --workers "$workers" \
            --timeout-ms 5000 >"$BATS_TEST_TMPDIR/out" 2>/dev/null 3>&- &
        pid=$!
        sleep 0.7
        LAB_SERVER_DIR="$BATS_TEST_TMPDIR/$lesson" run -0 "$LAB_TOP/scripts/labserver" stop
        status=0
        wait "$pid" || status=$?
        [ "$status" = 1 ]
        [ $((SECONDS - start)) -lt 15 ]     # nothing waits out the 5 s timeouts one by one
        output=$(cat "$BATS_TEST_TMPDIR/out")
        expect "$lesson" "done" 30          # every request counted ...
        [ "$(record errors)" -ge 1 ]        # ... and the ones after the stop failed
        [ "$(record bytes)" -eq $(( (30 - $(record errors)) * 10 )) ]
        [ -z "$(descendants "$pid")" ]
    done
}

@test "half good, half 404: exact errors, and the bytes of the good half only" {
    for lesson in "${IO_LESSONS[@]}"; do
        lesson_exits 1 "$lesson" --url "$LAB_BASE/delay?bytes=17" \
            --url "$LAB_BASE/status/404" --requests 10 --workers 1
        expect "$lesson" errors 5
        expect "$lesson" bytes 85
        expect "$lesson" "done" 10
    done
}

@test "overlap: 20 requests of 200 ms" {
    url="$LAB_BASE/delay?s=0.2&bytes=1"
    lesson_exits 0 io_sync --url "$url" --requests 20
    below 3.999 "$(record seconds)"         # one after another: never faster
    for lesson in io_threads io_multiprocessing io_async; do
        lesson_exits 0 "$lesson" --url "$url" --requests 20 --workers 10
        below "$(record seconds)" 1.5 || { echo "$lesson: ${lines[-1]}" >&2; false; }
    done
    lesson_exits 0 io_async --url "$url" --requests 20      # all in flight
    below "$(record seconds)" 1.5
}

@test "--retries gets past the throttle (one worker: deterministic)" {
    # The throttle lets 5 through at once, then one every 50 ms, and a retry
    # backs off at least 50 ms: one worker alone always gets its turn.
    url="$LAB_BASE/throttled?bytes=7"
    for lesson in "${IO_LESSONS[@]}"; do
        lesson_exits 1 "$lesson" --url "$url" --requests 15 --workers 1
        below 0 "$(record errors)"
        grep -q 'HTTP status 503' <<<"$stderr"
        lesson_exits 0 "$lesson" --url "$url" --requests 15 --workers 1 --retries 5
        expect "$lesson" errors 0
        expect "$lesson" bytes 105
    done
}

@test "bad usage: exit 2, one line on stderr, nothing on stdout" {
    url="$LAB_BASE/delay"
    for lesson in "${IO_LESSONS[@]}"; do
        for bad in "--requests 0" "--requests 10x" "--workers -1" "--url ftp://x" \
                   "--bogus" "stray" "--requests"; do
            # shellcheck disable=SC2086   # split the option from its value
            run -2 --separate-stderr "$LAB_BIN/$lesson" --url "$url" $bad
            one_line_only "$lesson $bad"
        done
        run -2 --separate-stderr "$LAB_BIN/$lesson" --url ""
        one_line_only "$lesson --url ''"
        run -2 --separate-stderr env -u LAB_URL "$LAB_BIN/$lesson" --requests 3
        one_line_only "$lesson without a URL"
        [[ "$stderr" == *LAB_URL* ]]
    done
}

@test "io_async: 2000 requests, 500 in flight, one thread" {
    lesson_exits 0 io_async --url "$LAB_BASE/delay?s=0.05&bytes=3" --requests 2000 --workers 500
    expect io_async errors 0
    expect io_async bytes 6000
    expect io_async "done" 2000
}

@test "more workers than the open-file limit allows: refused up front, exit 2" {
    for lesson in "${CONCURRENT[@]}"; do
        run -2 --separate-stderr bash -c 'ulimit -n 256 && exec "$@"' _ \
            "$LAB_BIN/$lesson" --url "$LAB_BASE/delay" --requests 1000 --workers 1000
        one_line_only "$lesson --workers 1000 under ulimit -n 256"
        [[ "$stderr" == *"open files"* ]]
    done
}

# Run lesson $1 under a soft open-file limit of $2, N ($4) requests of $3 s
# on N workers at once: it raises the limit and loses none.
raises_soft_limit() {   # raises_soft_limit LESSON SOFT SECONDS N
    run -0 --separate-stderr bash -c "ulimit -Sn $2 && exec \"\$@\"" _ \
        "$LAB_BIN/$1" --url "$LAB_BASE/delay?s=$3&bytes=1" --requests "$4" --workers "$4"
    expect "$1" errors 0
    expect "$1" bytes "$4"
}

@test "io_async raises a low soft open-file limit when the hard one allows" {
    [ "$(ulimit -Hn)" = unlimited ] || [ "$(ulimit -Hn)" -ge 1100 ] ||
        skip "the hard open-file limit is below 1100"
    raises_soft_limit io_async 256 0.05 1000
}

@test "io_threads counts three open files a thread (its connection, libcurl's wake-up pair) and raises the soft limit" {
    [ "$(ulimit -Hn)" = unlimited ] || [ "$(ulimit -Hn)" -ge 700 ] ||
        skip "the hard open-file limit is below 700"
    raises_soft_limit io_threads 300 0.3 200
}

@test "SIGINT and SIGTERM: 128+signal, the record, and nothing left running" {
    for lesson in "${IO_LESSONS[@]}"; do
        children=0 workers=3
        [ "$lesson" != io_multiprocessing ] || children=3
        [ "$lesson" != io_sync ] || workers=1
        for sig in INT TERM; do
            interrupt_lesson "exec '$LAB_BIN/$lesson' --url '$LAB_BASE/delay?s=0.5' --requests 50 --workers $workers" "$children" "$sig"
            want=130
            [ "$sig" = INT ] || want=143
            [ "$status" = "$want" ] || { echo "$lesson $sig: exit $status" >&2; false; }
            record_has_keys experiment requests workers seconds bytes errors "done"
            below "$(record "done")" 50
        done
    done
}

@test "io_multiprocessing: interrupted, it has reaped every child by the time it exits" {
    out="$BATS_TEST_TMPDIR/out"
    for sig in INT TERM; do
        "$LAB_BIN/io_multiprocessing" --url "$LAB_BASE/delay?s=2" --requests 8 \
            --workers 4 >"$out" 2>"$out.err" 3>&- &
        pid=$!
        wait_until "[ \$(descendants $pid | wc -l) -ge 4 ]" 10
        kids=$(descendants "$pid")
        kill "-$sig" "$pid"
        status=0
        wait "$pid" || status=$?
        # shellcheck disable=SC2086   # no waiting: orphans would still run
        all_gone $kids || { echo "$sig: children left: $kids" >&2; false; }
        [ "$status" = $((128 + $(kill -l "$sig"))) ]
        output=$(cat "$out")
        expect io_multiprocessing "done" 0
    done
}

@test "io_multiprocessing: a worker that dies is reported, its request failed, the rest done" {
    out="$BATS_TEST_TMPDIR/out"
    "$LAB_BIN/io_multiprocessing" --url "$LAB_BASE/delay?s=0.3&bytes=2" --requests 12 \
        --workers 3 >"$out" 2>"$out.err" 3>&- &
    pid=$!
    wait_until "[ \$(descendants $pid | wc -l) -ge 3 ]" 10
    sleep 0.2
    kids=$(descendants "$pid")
    victim=$(head -1 <<<"$kids")
    kill -KILL "$victim"
    status=0
    wait "$pid" || status=$?
    output=$(cat "$out")
    [ "$status" = 1 ]
    expect io_multiprocessing "done" 12
    below "$(record errors)" 2          # the one it was downloading, if any
    [ "$(( $(record bytes) + 2 * $(record errors) ))" = 24 ]
    grep -q "worker .* died: Killed" "$out.err"
    # shellcheck disable=SC2086
    all_gone $kids
}

@test "--trace: one request span per request, on the lane of the thread or child that did it" {
    url="$LAB_BASE/delay?s=0.02&bytes=5"
    trace=$BATS_TEST_TMPDIR/trace.json
    lesson_exits 0 io_sync --url "$url" --requests 10 --trace "$trace"
    run -0 trace_ok request "$trace" 10
    [[ "$output" == *" lanes=1 "* ]]
    for args in "--workers 5" "--workers 3 --gil"; do
        # shellcheck disable=SC2086   # the words split on purpose
        lesson_exits 0 io_threads --url "$url" --requests 20 $args --trace "$trace"
        run -0 trace_ok request "$trace" 20
        [[ "$output" == *" lanes=${args:10:1} "* ]]
    done
    lesson_exits 0 io_multiprocessing --url "$url" --requests 20 --workers 4 --trace "$trace"
    run -0 trace_ok request "$trace" 20 4
    # A failed request is a span too, marked not ok.
    lesson_exits 1 io_threads --url "$LAB_BASE/status/404" --requests 4 --workers 2 --trace "$trace"
    run -0 trace_ok request "$trace" 4
    [ "$(grep -c '"ok":false' "$trace")" = 4 ]
}

@test "SIGINT mid-run: killed by the signal within 150 ms, a trace of what finished, no temporary file" {
    # 50 requests of 3 s: every worker is waiting on the network when the
    # signal comes, and nothing but the stop can end the wait in time.
    trace=$BATS_TEST_TMPDIR/trace.json
    for lesson in io_sync io_threads io_multiprocessing; do
        interrupt_after 1 "$LAB_BIN/$lesson" --url "$LAB_BASE/delay?s=3&bytes=1" \
            --requests 50 --workers 1 --trace "$trace"
        [ "$returncode" = -2 ] || { echo "$lesson: returncode $returncode" >&2; false; }
        below "$stop_ms" 150 || { echo "$lesson: stopped after $stop_ms ms" >&2; false; }
        [ "$(record "done")" = 0 ]
        run -0 trace_ok request "$trace" 50
        # Now with requests finishing all the time, on 5 workers.
        workers=5
        [ "$lesson" != io_sync ] || workers=1
        interrupt_after 0.5 "$LAB_BIN/$lesson" --url "$LAB_BASE/delay?s=0.03&bytes=1" \
            --requests 100000 --workers "$workers" --trace "$trace"
        [ "$returncode" = -2 ]
        below "$stop_ms" 150 || { echo "$lesson: stopped after $stop_ms ms" >&2; false; }
        below 0 "$(record "done")"
        run -0 trace_ok request "$trace" 100000
        run -0 find "$BATS_TEST_TMPDIR" -name 'trace.json.*'
        [ -z "$output" ]
    done
}

@test "a record that cannot be written: >/dev/full, a closed stdout or a reader gone is exit 1 with one line" {
    for lesson in io_sync io_threads io_multiprocessing io_async io_coroutines; do
        record_unwritable request "$lesson" --url "$LAB_BASE/delay?bytes=1" --requests 3
    done
}

@test "SIGINT during a retry's back-off: stopped within 150 ms, not after the wait" {
    # Past its burst the throttle answers 503 and every worker backs off,
    # up to 2 s a wait, in a thread the signal may not have reached.
    for lesson in io_sync io_threads io_multiprocessing; do
        workers=5
        [ "$lesson" != io_sync ] || workers=1
        interrupt_after 1 "$LAB_BIN/$lesson" --url "$LAB_BASE/throttled?bytes=1" \
            --requests 400 --workers "$workers" --retries 20
        [ "$returncode" = -2 ]
        below "$stop_ms" 150 || { echo "$lesson: stopped after $stop_ms ms" >&2; false; }
    done
}
