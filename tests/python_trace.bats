#!/usr/bin/env bats
# The Python twins' common options, as the C lessons have them (trace.bats,
# lessons.bats): --trace FILE writes the same Trace Event Format that
# tests/trace_check.py holds every lesson's trace to and scripts/trace2gantt
# draws, one span per unit counted, a pid and a name per process, every
# lane named; a path that cannot be written is refused before any work; a
# SIGINT mid-run still leaves a whole trace of what finished and no
# temporary file; --progress draws the bar, --no-progress never does; and
# tracing changes no result.

# shellcheck disable=SC2154   # bats sets status, output, lines, stderr...
load helpers

CHECK=$LAB_TOP/tests/trace_check.py
TWINS=(io_sync io_threads io_multiprocessing io_async io_convoy cpu_sync cpu_threads
       cpu_multiprocessing sum_chunks_manager)

# The twins as `make python` links them (py_<lesson>), in a folder of this
# file's own: the programs' folder may be a sanitizer build without them.
setup_file() {
    lab_server_start
    export TWIN_BIN=$BATS_FILE_TMPDIR/bin
    make -C "$LAB_TOP" --no-print-directory BIN="$TWIN_BIN" LAB_NO_DEPS=1 python >/dev/null
}
teardown_file() { lab_server_stop; }

# shellcheck disable=SC2016  # $URL is replaced by check_case
# TWIN|ARGUMENTS|UNIT|COUNT: COUNT is a record key or arithmetic over
# record keys. Where the units ran (which process, which lane) is checked
# by name in check_case: a pool's units come from 2 or more children (which
# worker takes a task is the pool's choice), none from the main process;
# the manager's sets from each of its 3 children, numbered per child.
CASES=(
    'io_sync|--requests 6 --url $URL/delay?s=0.01&bytes=10|request|done'
    'io_threads|--requests 6 --workers 3 --url $URL/delay?s=0.02&bytes=10|request|done'
    'io_multiprocessing|--requests 6 --workers 3 --url $URL/delay?s=0.05&bytes=10|request|done'
    'io_async|--requests 6 --workers 3 --url $URL/delay?s=0.01&bytes=10|request|done'
    'io_convoy|--requests 5 --url $URL/delay?s=0.002&bytes=10|request|done'
    'cpu_sync|--workload fib --size 20 --tasks 4|task|done'
    'cpu_threads|--workload fib --size 20 --tasks 4 --workers 2|task|done'
    'cpu_multiprocessing|--workload sumsq --size 300_000 --tasks 6 --workers 2|task|done'
    'sum_chunks_manager|--chunks 3 --ops 5|set|chunks * (ops + 1)'
    'sum_chunks_manager|--chunks 3 --ops 5 --shared-memory|set|chunks * (ops + 1)'
)

# The trace of $1 (a twin's trace file): its lanes' names, "pid tid name"
# per line, and which lanes the units ($2) are on, "pid tid" per line.
lanes_of() {
    "$PY" - "$1" "$2" <<'PY'
import json, sys
events = json.load(open(sys.argv[1]))["traceEvents"]
names = {(e["pid"], e["tid"]): e["args"]["name"] for e in events if e["name"] == "thread_name"}
procs = {e["pid"]: e["args"]["name"] for e in events if e["name"] == "process_name"}
for e in events:
    if e["ph"] == "X" and e["cat"] == sys.argv[2]:
        print(procs[e["pid"]] + "|" + names[e["pid"], e["tid"]])
PY
}

check_case() {
    local twin args unit expr key trace count per=""
    IFS='|' read -r twin args unit expr <<<"$1"
    trace=$BATS_TEST_TMPDIR/$twin.json
    # shellcheck disable=SC2016
    args=${args//'$URL'/$LAB_BASE}
    # shellcheck disable=SC2086  # the words split on purpose
    run --separate-stderr "$TWIN_BIN/py_$twin" $args --no-progress --trace "$trace"
    [ "$status" -eq 0 ] || { echo "py_$twin $args: exit $status: $stderr" >&2; return 1; }
    while read -r key; do
        expr=${expr//$key/$(record "$key")}
    done < <(grep -o '[a-z_]*' <<<"$expr" | sort -u)
    count=$((expr))
    [ "$unit" != set ] || per="per-process"
    run "$CHECK" "$trace" "$(record seconds)" "$unit" "$count" $per
    [ "$status" -eq 0 ] || { echo "py_$twin $args: $output" >&2; return 1; }
    echo "# py_$twin: $output" >&3
    # The lanes: named as the C lessons name theirs.
    local where
    where=$(lanes_of "$trace" "$unit" | sort | uniq -c | sed 's/^ *[0-9]* //' | paste -sd';')
    case $twin in
        io_sync|cpu_sync)   [ "$where" = "py_$twin|main thread" ] ;;
        io_threads)         [ "$where" = "py_$twin|thread 1;py_$twin|thread 2;py_$twin|thread 3" ] ;;
        # Which pool thread runs a task is the pool's choice under the GIL:
        # on a busy machine thread 1 may finish all four before 2 starts.
        cpu_threads)        [[ "$where" =~ ^py_$twin\|thread\ [12](\;py_$twin\|thread\ 2)?$ ]] ;;
        io_convoy)          [ "$where" = "py_$twin|I/O thread" ] ;;
        io_async)           [ "$where" = "$(printf "py_$twin|coroutine %d\n" 1 2 3 4 5 6 | paste -sd';')" ] ;;
        *_multiprocessing)  [[ "$where" =~ ^child\ [0-9]+\|worker\;child\ [0-9]+\|worker ]] &&
                            [[ "$where" != *"py_$twin"* ]] ;;
        sum_chunks_manager) [ "$where" = "child 0|worker;child 1|worker;child 2|worker" ] ;;
    esac || { echo "py_$twin $args: the units' lanes are '$where'" >&2; return 1; }
    run "$LAB_TOP/scripts/trace2gantt" "$trace" "$BATS_TEST_TMPDIR"
    [ "$status" -eq 0 ] || { echo "py_$twin: trace2gantt: $output" >&2; return 1; }
    # Nothing left beside the trace: no temporary file, no scratch folder
    # (where a child's spans wait for the parent).
    [ -z "$(find "$BATS_TEST_TMPDIR" -name "$twin.json.*")" ]
}

@test "every twin's --help names --trace, --progress and --no-progress" {
    need requests aiohttp
    for twin in "${TWINS[@]}"; do
        run -0 --separate-stderr "$TWIN_BIN/py_$twin" --help
        for option in "--trace FILE" --progress --no-progress; do
            [[ "$output" == *"$option"* ]] || { echo "py_$twin --help: no $option" >&2; false; }
        done
    done
}

@test "--trace: one span per unit counted, lanes and processes named as in C, trace2gantt draws it" {
    need requests aiohttp
    [ "${#CASES[@]}" -ge "${#TWINS[@]}" ]
    for c in "${CASES[@]}"; do
        check_case "$c"
    done
}

@test "--trace to a path that cannot be written: one line, exit 2, no work done, for every twin" {
    need requests aiohttp
    mkdir -p "$BATS_TEST_TMPDIR/folder"
    # Links: the rename at the end would replace the link, not its file
    # (--trace /dev/stdout, as root with stdout in a file, replaced /dev/stdout).
    echo kept >"$BATS_TEST_TMPDIR/real.json"
    ln -s real.json "$BATS_TEST_TMPDIR/link.json"
    ln -s /proc/self/fd/1 "$BATS_TEST_TMPDIR/stdout"
    for twin in "${TWINS[@]}"; do
        for path in "$BATS_TEST_TMPDIR/folder" "$BATS_TEST_TMPDIR/missing/t.json" /sys/t.json /dev/null "" \
                    "$BATS_TEST_TMPDIR/link.json" "$BATS_TEST_TMPDIR/stdout"; do
            # (The I/O twins would wait 5 s a request: $LAB_URL is their default.)
            LAB_URL="$LAB_BASE/delay?s=5" run --separate-stderr "$TWIN_BIN/py_$twin" --no-progress --trace "$path"
            [ "$status" -eq 2 ] || { echo "py_$twin --trace '$path': exit $status" >&2; false; }
            [ "${#stderr_lines[@]}" -eq 1 ] || { echo "py_$twin --trace '$path': $stderr" >&2; false; }
            [[ "$stderr" == "py_$twin: --trace: "* ]] || { echo "py_$twin: $stderr" >&2; false; }
            [ -z "$output" ] || { echo "py_$twin --trace '$path' did work: $output" >&2; false; }
        done
    done
    [ -z "$(ls -A "$BATS_TEST_TMPDIR/folder")" ]
    [ -L "$BATS_TEST_TMPDIR/link.json" ] && [ -L "$BATS_TEST_TMPDIR/stdout" ]
    [ "$(cat "$BATS_TEST_TMPDIR/real.json")" = kept ]
    # A mistake found after the trace's file was checked leaves nothing either.
    refused=$BATS_TEST_TMPDIR/refused.json
    run -2 --separate-stderr "$TWIN_BIN/py_cpu_sync" --workload nope --trace "$refused"
    run -2 --separate-stderr "$TWIN_BIN/py_sum_chunks_manager" --numbers 3 --chunks 4 --trace "$refused"
    [ -z "$(find "$BATS_TEST_TMPDIR" -name 'refused.json*')" ]
}

@test "SIGINT mid-run: exit 130, a valid trace of what was counted, no temporary file" {
    need requests aiohttp
    slow="--url $LAB_BASE/delay?s=0.3&bytes=1 --requests 100"
    cases=(
        "cpu_sync --workload sumsq --tasks 200 --size 500_000|task"
        "cpu_threads --workload sumsq --tasks 200 --size 500_000 --workers 3|task"
        "cpu_multiprocessing --workload sumsq --tasks 200 --size 500_000 --workers 2|task"
        "io_sync $slow|request"
        "io_threads $slow --workers 4|request"
        "io_multiprocessing $slow --workers 3|request"
        "io_async $slow --workers 4|request"
        "io_convoy $slow|request"
        "sum_chunks_manager --chunks 2 --ops 100_000_000|set"
        "sum_chunks_manager --chunks 2 --ops 100_000_000 --shared-memory|set"
    )
    # All at once, each a process of its own, then a SIGINT to each.
    pids=()
    for case in "${cases[@]}"; do
        twin=${case%%' '*} args=${case#* } dir=$BATS_TEST_TMPDIR/${case// /_}
        mkdir -p "$dir"
        # 4 s: CPython takes a few hundred ms to import requests or aiohttp
        # (ten of them at once on 2 cores, longer), and a signal before its
        # handlers are set ends it without a record (python.bats says the same).
        # shellcheck disable=SC2086
        "$TWIN_BIN/py_$twin" ${args%|*} --trace "$dir/t.json" >"$dir/out" 2>"$dir/err" 3>&- &
        pids+=($!)
    done
    sleep 4
    kill -INT "${pids[@]}"
    for i in "${!cases[@]}"; do
        case=${cases[i]}
        twin=${case%%' '*} dir=$BATS_TEST_TMPDIR/${case// /_}
        status=0
        wait "${pids[i]}" || status=$?
        [ "$status" = 130 ] || { echo "py_$twin: exit $status: $(cat "$dir/err")" >&2; false; }
        # shellcheck disable=SC2012  # plain names here
        [ "$(ls "$dir" | paste -sd' ')" = "err out t.json" ] || { echo "py_$twin left: $(ls "$dir")" >&2; false; }
        output=$(cat "$dir/out")
        if [ "${case##*|}" = set ]; then
            # The children, ended by the parent, hand their sets over as
            # they go: each child's sets are its ops 0, 1, 2... with none
            # missing (there is no done= to count them against).
            sets=$("$PY" -c '
import json, sys
events = json.load(open(sys.argv[1]))["traceEvents"]
ops = {}
for e in events:
    if e["ph"] == "X":
        ops.setdefault(e["pid"], []).append(e["args"]["op"])
assert len(ops) == 2 and all(sorted(o) == list(range(len(o))) for o in ops.values()), ops.keys()
print(sum(map(len, ops.values())))' "$dir/t.json") || { echo "py_$twin: $sets" >&2; false; }
            run "$CHECK" "$dir/t.json" "$(record seconds)" set "$sets" per-process
        else
            done=$(record "done")
            [ "$done" -gt 0 ] || { echo "py_$twin: nothing finished in 4 s" >&2; false; }
            run "$CHECK" "$dir/t.json" "$(record seconds)" "${case##*|}" "$done"
        fi
        [ "$status" = 0 ] || { echo "py_$twin: $output" >&2; false; }
        echo "# py_$twin: $output" >&3
    done
}

@test "--progress draws the bar on stderr, --no-progress and a stderr that is not a terminal do not" {
    need requests aiohttp
    runs=(
        "io_sync --url $LAB_BASE/delay?bytes=1 --requests 3|3"
        "io_async --url $LAB_BASE/delay?bytes=1 --requests 3|3"
        "cpu_sync --workload fib --size 15 --tasks 3|3"
        "cpu_threads --workload fib --size 15 --tasks 3 --workers 2|3"
        "cpu_multiprocessing --workload fib --size 15 --tasks 3 --workers 2|3"
        "sum_chunks_manager --chunks 2 --ops 4|10"
        "sum_chunks_manager --chunks 2 --ops 4 --shared-memory|10"
    )
    for r in "${runs[@]}"; do
        total=${r##*|} cmd=${r%|*}
        # shellcheck disable=SC2086
        run -0 --separate-stderr "$TWIN_BIN/py_"$cmd --progress
        [[ "$stderr" == *"] $total/$total" ]] || { echo "py_$cmd --progress: '$stderr'" >&2; false; }
        [[ "$stderr" == *$'\r['"#"* ]]
        # shellcheck disable=SC2086
        run -0 --separate-stderr "$TWIN_BIN/py_"$cmd --no-progress
        [ -z "$stderr" ] || { echo "py_$cmd --no-progress: '$stderr'" >&2; false; }
        # shellcheck disable=SC2086
        run -0 --separate-stderr "$TWIN_BIN/py_"$cmd
        [ -z "$stderr" ]
        # Both given: --no-progress wins, as in C.
        # shellcheck disable=SC2086
        run -0 --separate-stderr "$TWIN_BIN/py_"$cmd --progress --no-progress
        [ -z "$stderr" ]
    done
}

@test "--trace changes no result: the same record values with and without it" {
    need requests aiohttp
    same() {   # KEYS, then the twin and its arguments
        local keys=$1 key without without_status
        shift
        run --separate-stderr "$TWIN_BIN/py_$1" "${@:2}" --no-progress
        without=$output without_status=$status
        run --separate-stderr "$TWIN_BIN/py_$1" "${@:2}" --no-progress --trace "$BATS_TEST_TMPDIR/same.json"
        [ "$status" = "$without_status" ] || { echo "py_$1: exit $status with --trace, $without_status without" >&2; return 1; }
        for key in $keys; do
            [ "$(record "$key")" = "$(output=$without record "$key")" ] ||
                { echo "py_$1 $*: $key differs: ${lines[-1]} against ${without##*$'\n'}" >&2; return 1; }
        done
        [ -s "$BATS_TEST_TMPDIR/same.json" ]
    }
    for twin in cpu_sync cpu_threads cpu_multiprocessing; do
        same "result done failed" "$twin" --workload sha256 --size 2_000 --tasks 5 --workers 2
        same "result done failed" "$twin" --workload prime --size 1 --tasks 30 --workers 2
    done
    url="$LAB_BASE/delay?s=0.01&bytes=17"
    for twin in io_sync io_threads io_multiprocessing io_async io_convoy; do
        same "bytes errors done" "$twin" --url "$url" --url "$LAB_BASE/status/404" --requests 6
    done 2>/dev/null
    same "total failed ops" sum_chunks_manager --numbers 1000 --chunks 3 --ops 10
    same "total failed ops" sum_chunks_manager --numbers 1000 --chunks 3 --ops 10 --shared-memory
}
