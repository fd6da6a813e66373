#!/usr/bin/env bats
# The Python twins (experiments/python/): they refuse what the C lessons
# refuse, agree with them exactly on result=, bytes=, errors= and done=,
# print the same record keys, and stop on a signal leaving nothing behind.

# shellcheck disable=SC2154   # bats sets status, output, lines, stderr...
load helpers

PYDIR=$LAB_TOP/experiments/python
IO_PAIRS=(io_sync io_threads io_multiprocessing io_async)
CPU_PAIRS=(cpu_sync cpu_threads cpu_multiprocessing)

setup_file() { lab_server_start; }
teardown_file() { lab_server_stop; }

# The record line of the last `run` (its last line), as "key=value" words.
record_line() { echo "${lines[-1]}"; }

# Run C lesson $1 and its twin with the same arguments; both must exit the
# same, and agree on every record key named in $KEYS. Sets $c_record.
agree() {
    local lesson=$1 key c_status
    shift
    run --separate-stderr "$LAB_BIN/$lesson" "$@"
    c_status=$status c_record=$(record_line)
    local -A want=()
    for key in $KEYS; do want[$key]=$(record "$key") || return 1; done
    run --separate-stderr "$PYDIR/$lesson.py" "$@"
    if [ "$status" != "$c_status" ]; then
        echo "$lesson $*: C exits $c_status, Python $status: $stderr" >&2
        return 1
    fi
    [ "$(record experiment)" = "py_$lesson" ]
    for key in $KEYS; do
        if [ "$(record "$key")" != "${want[$key]}" ]; then
            echo "$lesson $*: $key differs; C: $c_record; Python: $(record_line)" >&2
            return 1
        fi
    done
}

# After a refusal: exit 2, one line on stderr, nothing on stdout.
refuses() {
    local program=$1
    shift
    run --separate-stderr "$program" "$@"
    if [ "$status" != 2 ] || [ "${#stderr_lines[@]}" != 1 ] || [ -n "$output" ]; then
        echo "${program##*/} $*: exit $status, stderr '$stderr', stdout '$output'" >&2
        return 1
    fi
}

@test "every twin is executable, runs Debian's python3 and answers --help with exit 0" {
    need requests aiohttp
    for twin in "${IO_PAIRS[@]}" "${CPU_PAIRS[@]}" io_convoy sum_chunks_manager; do
        [ -x "$PYDIR/$twin.py" ]
        [ "$(head -n 1 "$PYDIR/$twin.py")" = "#!$PY" ]
        run -0 --separate-stderr "$PYDIR/$twin.py" --help
        [[ "$output" == *"--"* ]] && [[ "$output" == *"usage:"* ]]
    done
}

@test "I/O twins refuse bad options: exit 2, one line on stderr" {
    need requests aiohttp
    url="$LAB_BASE/delay"
    for twin in "${IO_PAIRS[@]}" io_convoy; do
        for bad in "--requests 0" "--requests 10x" "--requests 1__0" "--requests _1" \
                   "--requests ٣" "--requests +3" "--workers -1" "--timeout-ms 0" \
                   "--retries 21" "--url ftp://x" "--bogus" "stray" "--requests"; do
            # shellcheck disable=SC2086   # split the option from its value
            refuses "$PYDIR/$twin.py" --url "$url" $bad
        done
        refuses "$PYDIR/$twin.py" --url ""
        refuses env -u LAB_URL "$PYDIR/$twin.py" --requests 3
        [[ "$stderr" == *LAB_URL* ]]
    done
    # What lab_options.c refuses before any request (tests/hardening.bats).
    for bad in "http://127.0.0.1:99999/" "http://[::1" "http://:80/" "http://a!b/" \
               "http://127.0.0.1/x"$'\n'"y"; do
        refuses "$PYDIR/io_sync.py" --url "$bad"
        [[ "$stderr" == *"--url: "* ]]
        refuses env LAB_URL="$bad" "$PYDIR/io_sync.py"
        [[ "$stderr" == *"LAB_URL: "* ]]
    done
    refuses "$PYDIR/io_sync.py" --url "$url" --workers 2
    refuses "$PYDIR/io_convoy.py" --url "$url" --workers 2
    refuses "$PYDIR/io_convoy.py" --url "$url" --switch-interval-us 0
    refuses "$PYDIR/io_threads.py" --url "$url" --workers 4097
}

@test "CPU twins refuse what the C lessons refuse: exit 2, one line on stderr" {
    need
    bad_args=(
        "--workload nope" "--tasks 0" "--size 1x" "--size 0" "--workers 0"
        "--workers 99999999999999999999" "--workers 5000" "--tasks -3" "--size 1_000_"
        "--workload prime --size 50 --tasks 15" "--workload prime --size 64 --tasks 1"
        "--workload fib --size 93" "--workload sumsq --size 4_000_000_000_000 --tasks 20"
        "stray" "--nope" "--size"
    )
    for twin in "${CPU_PAIRS[@]}"; do
        for args in "${bad_args[@]}"; do
            # shellcheck disable=SC2086  # the words split on purpose
            refuses "$PYDIR/$twin.py" $args
            # shellcheck disable=SC2086
            refuses "$LAB_BIN/$twin" $args      # the C lesson, the same
        done
    done
    refuses "$PYDIR/cpu_threads.py" --switch-interval-us 0
}

@test "sum_chunks_manager.py refuses what the C lesson refuses" {
    need
    for args in "--chunks 0" "--numbers 0" "--numbers 3 --chunks 4" "--numbers 10x" \
                "--chunks 1025 --numbers 2000" "--numbers 1_000_000_000_001" "--ops -1" \
                "--bogus" "stray" "--chunks" "--spin -1" "--spin 1_000_001" "--spin 5us"; do
        # shellcheck disable=SC2086
        refuses "$PYDIR/sum_chunks_manager.py" $args
    done
}

@test "C and Python agree exactly on result= for every workload, model and worker count" {
    need
    KEYS="workload tasks size workers result done failed"
    for lesson in "${CPU_PAIRS[@]}"; do
        for workers in 1 2 9; do
            agree "$lesson" --workload sumsq --tasks 7 --size 100_003 --workers "$workers"
            agree "$lesson" --workload fib --tasks 5 --size 18 --workers "$workers"
            agree "$lesson" --workload sha256 --tasks 6 --size 2_000 --workers "$workers"
            agree "$lesson" --workload prime --tasks 30 --size 1 --workers "$workers"
        done
        agree "$lesson" --workload prime --tasks 9 --size 52 --workers 2   # 2^52-1 .. 2^60-1: no prime (2^61-1 would take CPython minutes)
        agree "$lesson" --workload fib --tasks 3 --size 1
    done
    [ "$(record result)" = 3 ]
}

@test "the twins' records have the C lessons' keys (but the emulated GIL's hand-over count)" {
    need requests aiohttp
    check_keys() {
        local lesson=$1 pair
        shift
        run --separate-stderr "$LAB_BIN/$lesson" "$@"
        local c_keys=${lines[-1]}
        run --separate-stderr "$PYDIR/$lesson.py" "$@"
        for pair in $c_keys; do
            [ "${pair%%=*}" = gil_switches ] && continue
            record "${pair%%=*}" >/dev/null || { echo "$lesson.py lacks ${pair%%=*}" >&2; return 1; }
        done
    }
    for lesson in "${IO_PAIRS[@]}"; do
        check_keys "$lesson" --url "$LAB_BASE/delay?bytes=5" --requests 3
    done
    for lesson in "${CPU_PAIRS[@]}"; do
        check_keys "$lesson" --workload fib --size 5 --tasks 3
    done
    check_keys io_convoy --url "$LAB_BASE/delay?bytes=5" --requests 3
    check_keys sum_chunks_manager --ops 3
    check_keys sum_chunks_manager --ops 3 --shared-memory
}

@test "C and Python agree on bytes=, errors= and done=: cats, a 404, a dead port, a drop" {
    need requests aiohttp
    KEYS="requests workers bytes errors done"
    urls=(--url "$LAB_BASE/cats/3.jpg" --url "$LAB_BASE/status/404" --url "$DEAD_URL"
          --url "$LAB_BASE/delay?s=0.01&bytes=17" --url "$LAB_BASE/drop")
    for lesson in "${IO_PAIRS[@]}"; do
        workers=3
        [ "$lesson" != io_sync ] || workers=1
        agree "$lesson" "${urls[@]}" --requests 23 --workers "$workers"
        [ "$status" = 1 ]
        [ "$(record errors)" = 14 ]     # 5 to the 404, 5 to the dead port, 4 dropped
        [ "$(record bytes)" = $((5 * 100003 + 4 * 17)) ]
        [[ "$stderr" == *"request "*" failed: "* ]]
        agree "$lesson" --url "$LAB_BASE/delay?s=0.01&bytes=1000" --requests 12 --workers "$workers"
        [ "$status" = 0 ]
        [ "$(record bytes)" = 12000 ]
    done
}

@test "each kind of failure alone is an error in both: 404, 503, refused, dropped, timed out" {
    need requests aiohttp
    KEYS="bytes errors done"
    for url in "$LAB_BASE/status/404" "$LAB_BASE/status/503" "$DEAD_URL" "$LAB_BASE/drop"; do
        for lesson in "${IO_PAIRS[@]}"; do
            agree "$lesson" --url "$url" --requests 4 --workers 1
            [ "$status" = 1 ] && [ "$(record errors)" = 4 ]
        done
    done
    for lesson in "${IO_PAIRS[@]}"; do
        SECONDS=0
        agree "$lesson" --url "$LAB_BASE/delay?s=5" --timeout-ms 200 --requests 3 --workers 1
        [ "$(record errors)" = 3 ]
        [ "$SECONDS" -lt 8 ]                        # 5 s a request if the timeout were ignored
    done
}

@test "--retries gets past the throttle in both (one worker: deterministic)" {
    need requests aiohttp
    KEYS="bytes errors done"
    for lesson in io_sync io_async; do
        agree "$lesson" --url "$LAB_BASE/throttled?bytes=4" --requests 30 --workers 1 --retries 8
        [ "$status" = 0 ] && [ "$(record bytes)" = 120 ]
    done
}

@test "io_convoy.py: the same bytes, errors and done as io_convoy, both phases timed" {
    need requests
    KEYS="requests workers bytes errors done"
    agree io_convoy --url "$LAB_BASE/delay?s=0.001&bytes=100" --requests 20
    [ "$(record "done")" = 40 ] && [ "$(record bytes)" = 4000 ]
    [ "$(record gil)" = 1 ] && [ "$(record switch_interval_us)" = 5000 ]
    awk -v a="$(record alone_ms)" -v b="$(record beside_cpu_ms)" 'BEGIN { exit !(a >= 1 && b >= 1) }'
    run -0 --separate-stderr "$PYDIR/io_convoy.py" --url "$LAB_BASE/delay?bytes=1" --requests 5 \
        --switch-interval-us 500
    [ "$(record switch_interval_us)" = 500 ]
}

@test "sum_chunks_manager.py: the C lesson's parts and total, manager and shared memory" {
    need
    KEYS="numbers chunks mode ops total failed"
    for args in "" "--numbers 1_000_000_000_000 --chunks 7" "--numbers 5 --chunks 5" \
                "--numbers 1000 --chunks 3 --ops 100"; do
        for mode in "" --shared-memory; do
            # shellcheck disable=SC2086
            agree sum_chunks_manager $args $mode
            [ "$status" = 0 ]
        done
    done
    run -0 --separate-stderr "$LAB_BIN/sum_chunks_manager" --numbers 1_000_000_000_000 --chunks 7
    c_out=$output
    run -0 --separate-stderr "$PYDIR/sum_chunks_manager.py" --numbers 1_000_000_000_000 --chunks 7
    [ "$(grep '^part-\|^total' <<<"$output")" = "$(grep '^part-\|^total' <<<"$c_out")" ]
}

@test "SIGINT and SIGTERM mid-run: 128+signal, the record, no child process left" {
    need requests aiohttp
    slow="--url '$LAB_BASE/delay?s=0.3&bytes=1' --requests 40"
    cases=(
        "cpu_sync --workload sumsq --tasks 50 --size 10_000_000:0"
        "cpu_threads --workload fib --tasks 50 --size 32 --workers 3:0"
        "cpu_multiprocessing --workload sha256 --tasks 50 --size 2_000_000 --workers 2:2"
        "io_sync $slow:0"
        "io_threads $slow --workers 4:0"
        "io_multiprocessing $slow --workers 3:3"
        "io_async $slow --workers 4:0"
        "io_convoy $slow:0"
        "sum_chunks_manager --chunks 2 --ops 100_000_000:3"
        "sum_chunks_manager --chunks 2 --ops 100_000_000 --shared-memory:2"
    )
    for case in "${cases[@]}"; do
        for sig in INT:130 TERM:143; do
            SECONDS=0
            twin=${case%%' '*} args=${case#* }
            # CPython takes a few hundred ms to import requests or aiohttp
            # on a busy machine, and a signal before the twin has set its
            # handlers ends it without a record: wait for them first.
            # shellcheck disable=SC2016  # $pid is interrupt_lesson's
            interrupt_lesson "exec $PYDIR/$twin.py ${args%:*}" "${case##*:}" "${sig%:*}" 0.3 'catches_term $pid'
            [ "$status" = "${sig#*:}" ] || { echo "$twin $sig: exit $status" >&2; false; }
            [ "$(record experiment)" = "py_$twin" ]
            [ "$SECONDS" -lt 15 ]
        done
    done
}

# Start the twin command $1 (its words split) in the background, stdout in
# $out and stderr in $out.err; set pid, and wait until it has $2 children.
start_twin() {
    out="$BATS_TEST_TMPDIR/out"
    # shellcheck disable=SC2086  # the words split on purpose
    "$PYDIR"/$1 >"$out" 2>"$out.err" 3>&- &
    pid=$!
    wait_until "[ \$(pgrep -P $pid | wc -l) -ge $2 ]" 10
}

@test "io_multiprocessing.py and cpu_multiprocessing.py: interrupted, every worker is gone when they exit" {
    need requests
    for cmd in "io_multiprocessing.py --url $LAB_BASE/delay?s=2 --requests 8 --workers 4" \
               "cpu_multiprocessing.py --workload sumsq --tasks 8 --size 100_000_000 --workers 4"; do
        start_twin "$cmd" 4
        kids=$(descendants "$pid")
        kill -INT "$pid"
        status=0
        wait "$pid" || status=$?
        # shellcheck disable=SC2086   # no waiting: orphans would still run
        all_gone $kids || { echo "${cmd%% *}: children left: $kids" >&2; false; }
        [ "$status" = 130 ]
        output=$(cat "$out")
        [ "$(record "done")" = 0 ]
    done
}

@test "io_multiprocessing.py and cpu_multiprocessing.py: a worker killed is one line, its task failed, exit 1, as in C (Pool waited forever)" {
    need requests
    for cmd in "io_multiprocessing.py --url $LAB_BASE/delay?s=0.5&bytes=2 --requests 8 --workers 2" \
               "cpu_multiprocessing.py --workload fib --size 31 --tasks 8 --workers 2"; do
        start_twin "$cmd" 2
        sleep 0.3
        victim=$(pgrep -P "$pid" | head -n 1)
        kill -KILL "$victim"
        # shellcheck disable=SC2016,SC2046  # wait_until evaluates it; the pids split on purpose
        wait_until '! kill -0 $pid 2>/dev/null || [ "$(ps -o stat= -p $pid)" = Z ]' 30 ||
            { kill -KILL "$pid" $(descendants "$pid"); false; }   # it hung
        status=0
        wait "$pid" || status=$?
        [ "$status" = 1 ] || { echo "${cmd%% *}: exit $status" >&2; false; }
        [ "$(cat "$out.err")" = "${cmd%%.py*}.py: a worker (pid $victim) died; its task is lost" ]
        output=$(cat "$out")
        if [[ "$cmd" == io_* ]]; then
            [ "$(record errors)" = 1 ]
            [ "$(record "done")" = 8 ]
            [ "$(record bytes)" = 14 ]
        else
            [ "$(record failed)" = 1 ]
            [ "$(record "done")" = 7 ]
        fi
    done
}

@test "a twin's record that cannot be written: >/dev/full, a closed stdout or a reader gone is exit 1 with one line, as in C" {
    need requests aiohttp
    for twin in "${IO_PAIRS[@]}"; do
        record_unwritable request "$PYDIR/$twin.py" --url "$LAB_BASE/delay?bytes=1" --requests 3
    done
    for twin in "${CPU_PAIRS[@]}"; do
        record_unwritable task "$PYDIR/$twin.py" --tasks 3 --size 1000
    done
    # --help too: exit 1, not a traceback (or 0 with the help lost).
    run -1 --separate-stderr bash -c 'exec "$@" >/dev/full' _ "$PYDIR/io_sync.py" --help
    [ "$stderr" = "io_sync.py: write error on standard output: No space left on device" ]
    run -1 --separate-stderr bash -c 'exec "$@" >&-' _ "$PYDIR/io_sync.py" --help
    [ "$stderr" = "io_sync.py: write error on standard output: Bad file descriptor" ]
}

@test "make python links every twin into the programs' folder; the plan's python lines name them" {
    need
    bindir=$BATS_TEST_TMPDIR/bin
    run -0 make -C "$LAB_TOP" --no-print-directory BIN="$bindir" LAB_NO_DEPS=1 python
    for twin in io_sync io_threads io_multiprocessing io_async cpu_sync cpu_threads \
                cpu_multiprocessing io_convoy sum_chunks_manager; do
        [ -x "$bindir/py_$twin" ]
    done
    [ ! -e "$bindir/py_lab" ] && [ ! -e "$bindir/py_workloads" ]
    run -0 --separate-stderr "$bindir/py_cpu_sync" --workload fib --size 10 --tasks 2
    [ "$(record result)" = 110 ] && [ "$(record experiment)" = py_cpu_sync ]
    run -0 "$LAB_TOP/scripts/matrix" --profile python --list
    python_lines=${#lines[@]}
    [ "$python_lines" -gt 0 ]
    for line in "${lines[@]}"; do
        [ -x "$bindir/${line%% *}" ] || { echo "no program for: $line" >&2; false; }
    done
    run -0 "$LAB_TOP/scripts/matrix" --profile default --list
    default_lines=${#lines[@]}
    run -0 "$LAB_TOP/scripts/matrix" --profile default,python --list
    [ "${#lines[@]}" = $((default_lines + python_lines)) ]
    [[ "${lines[0]}" != py_* ]]     # the default profile's C lines come first, unchanged
}

# A summary with the CPU rows the gil chart needs, on 2 cores.
gil_summary() {
    local w seq
    echo "experiment,model,workload,tasks,size,workers,latency_ms,numbers,chunks,ops,runs,failed,median_s,min_s,max_s,spread_pct,baseline,baseline_s,speedup,ideal_s,efficiency,cpu_util,vol_cs,invol_cs,max_rss_kb,ops_per_s,cpus,cpu_model"
    for w in sumsq fib sha256; do
        seq=2.0
        echo "cpu_sync,sync,$w,20,100,1,,,,,3,0,$seq,1.9,2.1,5,cpu_sync,$seq,1,,,0.99,1,1,5000,,2,AMD EPYC"
        echo "cpu_threads,threads,$w,20,100,2,,,,,3,0,1.0,0.9,1.1,5,cpu_sync,$seq,2,,,1.9,1,1,5000,,2,AMD EPYC"
        echo "cpu_threads,threads-gil,$w,20,100,2,,,,,3,0,2.1,2.0,2.2,5,cpu_sync,$seq,0.95,,,1,1,1,5000,,2,AMD EPYC"
        echo "cpu_multiprocessing,multiprocessing,$w,20,100,2,,,,,3,0,1.05,1.0,1.1,5,cpu_sync,$seq,1.9,,,1.9,1,1,5000,,2,AMD EPYC"
    done
}

@test "the gil chart's data: CPython's threads beside the emulated GIL, 2 and 5, from gil_python.csv" {
    dir=$BATS_TEST_TMPDIR
    gil_summary >"$dir/summary.csv"
    cp "$LAB_TOP/results/gil_python.csv" "$dir/gil_python.csv"
    # A crafted row: its workload would be gnuplot code; it is left out.
    printf '%s\n' 'threads,cpython,"fib"";system(""touch '"$dir"'/X"");""",2,5000,0,10,30,3,1.0,1.0,1.0,1.0,1.0,,,,,,,,,,,,,' >>"$dir/gil_python.csv"
    run -0 --separate-stderr "$LAB_TOP/scripts/plot" --summary "$dir/summary.csv" \
        --gil-python "$dir/gil_python.csv" --out "$dir/plots" --data "$dir/data"
    [[ "$stderr" == *"CPython's threads beside the emulated GIL for sumsq fib sha256"* ]]
    crafted=$(wc -l <"$dir/gil_python.csv")
    [[ "$stderr" == *"gil_python.csv:$crafted: workload \"fib\";system("*"is not a plain name: row left out"* ]]
    [ ! -e "$dir/X" ]
    grep -qx 'cpython=1' "$dir/data/settings.txt"
    # Per workload: the summary's four times, then emulated 2, CPython 2,
    # emulated 5, CPython 5, each its median over its own sequential median.
    run -0 "$PY" - "$dir/gil_python.csv" "$dir/data/gil.dat" <<'PY'
import csv, sys
want = {}
for r in csv.DictReader(open(sys.argv[1], newline="")):
    if r["section"] == "threads" and r["pinned"] == "0" and r["workers"] in ("2", "5") and '"' not in r["workload"]:
        want[r["workload"], r["impl"], r["workers"]] = float(r["median_s"]) / float(r["baseline_s"])
lines = [l.split("\t") for l in open(sys.argv[2]).read().splitlines()]
assert [l[0] for l in lines] == ["sumsq", "fib", "sha256"], lines
for l in lines:
    assert len(l) == 9, l
    for col, key in zip(l[5:], [("emulated", "2"), ("cpython", "2"), ("emulated", "5"), ("cpython", "5")]):
        assert abs(float(col) - want[l[0], key[0], key[1]]) < 1e-4, (l, key)
print(len(want))
PY
    [ "$output" -ge 11 ]
    run -0 od -An -c -N 4 "$dir/plots/gil.png"
    [[ "$output" == *"211   P   N   G"* ]]
    # The switch-interval and convoy table beside the CSV.
    run -0 grep -c '^| sumsq | 200 us |' "$dir/gil_python.md"
    run -0 grep -c '^| 5000 us | ' "$dir/gil_python.md"
}

@test "gil_handover.py counts CPython's hand-overs; gil_compare.py estimates them from that count" {
    need
    run -0 "$PY" "$PYDIR/gil_handover.py" --workload sumsq --seconds 0.3 --switch-interval-us 1000
    [[ "${lines[-1]}" =~ ^experiment=gil_handover\ workload=sumsq\ switch_interval_us=1000\ .*\ handovers=([0-9]+)\ per_s=([0-9]+)\  ]]
    # Two threads taking turns every millisecond: some hand-overs, fewer
    # than one per 100 us.
    [ "${BASH_REMATCH[1]}" -ge 1 ]
    [ "${BASH_REMATCH[2]}" -le 10000 ]
    out=$BATS_TEST_TMPDIR/gil.csv
    run -0 --separate-stderr "$PY" "$PYDIR/gil_compare.py" --quick --rounds 1 --sections interval,handover \
        --workloads sumsq --bin "$LAB_BIN" --out "$out"
    # CPython's hand-overs in a run: gil_handover.py's rate at the same
    # interval times the run's median seconds; the emulation's are counted.
    run -0 "$PY" - "$out" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1], newline="")))
rate = {r["switch_interval_us"]: float(r["handovers_per_s"]) for r in rows if r["section"] == "handover" and r["pinned"] == "0"}
assert sorted(rate, key=int) == ["200", "1000", "5000", "20000", "1000000"], rate
n = 0
for r in rows:
    if r["section"] == "interval":
        if r["impl"] == "cpython":
            want = rate[r["switch_interval_us"]] * float(r["median_s"])
            assert abs(float(r["switches_est"]) - want) <= 0.5 + want * 1e-3, r
            assert r["gil_switches"] == "", r
        else:
            assert r["gil_switches"] != "" and r["switches_est"] == "", r
        n += 1
print(n)
PY
    [ "$output" -eq 8 ]
}
