#!/usr/bin/env bats
# shellcheck disable=SC2154,SC2030,SC2031  # bats sets stderr, stderr_lines and output
# --trace FILE across the lessons: what every trace must hold, whatever the
# lesson (tests/trace_check.py checks one file): valid JSON that the
# timelines' strict reader takes, one complete event per unit of work, all
# inside the run, no two units of one category at once on a lane, a pid per
# process, and under --gil one holder at a time. Then what every program
# does with a path it cannot write. (A file already there: hardening.bats;
# a SIGINT mid-run: lessons.bats; the GIL's hand-overs: gil.bats.)

load helpers

setup_file() {
    lab_server_start
}

teardown_file() {
    lab_server_stop
}

CHECK="$LAB_TOP/tests/trace_check.py"
STRICT="$LAB_TOP/scripts/trace2gantt"

# The programs that are not lessons run alone: cpu_mpi runs under mpirun
# (tests/mpi.bats traces it there); bin/py_* are the Python twins' links
# (make python), whose --trace tests/python_trace.bats holds to these rules.
NOT_HERE="cpu_mpi"

# shellcheck disable=SC2016  # $URL and $TMP are replaced by check_case
# Every lesson, small: LESSON|ARGUMENTS|UNIT|COUNT, where COUNT is a record
# key or arithmetic over record keys, and $URL and $TMP stand for the lab
# server and a folder of the test's own. race's two tasks are its threads.
CASES=(
    'io_sync|--requests 6 --url $URL/delay?s=0.01&bytes=10|request|done'
    'io_threads|--requests 6 --workers 3 --url $URL/delay?s=0.01&bytes=10|request|done'
    'io_threads|--requests 6 --workers 3 --gil --url $URL/delay?s=0.01&bytes=10|request|done'
    'io_multiprocessing|--requests 6 --workers 3 --url $URL/delay?s=0.01&bytes=10|request|done'
    'io_async|--requests 6 --url $URL/delay?s=0.01&bytes=10|request|done'
    'io_coroutines|--requests 6 --workers 2 --block-ms 5 --url $URL/delay?s=0.01&bytes=10|request|done'
    'io_hybrid|--iterations 2 --processes 2 --threads 2 --requests 2 --out $TMP --url $URL/delay?s=0.01&bytes=10|request|done'
    'io_convoy|--requests 5 --url $URL/delay?s=0.002&bytes=10|request|done'
    'io_convoy|--requests 5 --gil --url $URL/delay?s=0.002&bytes=10|request|done'
    'cpu_sync|--workload fib --size 24 --tasks 4|task|done'
    'cpu_threads|--workload fib --size 24 --tasks 4 --workers 2|task|done'
    'cpu_threads|--workload fib --size 27 --tasks 4 --workers 2 --gil|task|done'
    'cpu_multiprocessing|--workload fib --size 24 --tasks 4 --workers 2|task|done'
    'sum_chunks_manager|--chunks 3 --ops 5|set|chunks * (ops + 1)'
    'sum_chunks_manager|--chunks 3 --ops 5 --shared-memory|set|chunks * (ops + 1)'
    'race|--increments 100000|task|workers'
)

# Run one case; fail with the lesson's words on anything wrong.
check_case() {
    local lesson args unit count expr key trace per=""
    IFS='|' read -r lesson args unit expr <<<"$1"
    [ -x "$LAB_BIN/$lesson" ] || { echo "# $lesson is not built here: skipped" >&3; return 0; }
    trace=$BATS_TEST_TMPDIR/$lesson.json
    mkdir -p "$BATS_TEST_TMPDIR/out"
    # shellcheck disable=SC2016
    args=${args//'$URL'/$LAB_BASE}
    # shellcheck disable=SC2016
    args=${args//'$TMP'/$BATS_TEST_TMPDIR/out}
    # shellcheck disable=SC2086  # the words split on purpose
    run --separate-stderr "$LAB_BIN/$lesson" $args --no-progress --trace "$trace"
    [ "$status" -eq 0 ] || { echo "$lesson $args: exit $status: $stderr" >&2; return 1; }
    # The count: record keys replaced by their values.
    while read -r key; do
        expr=${expr//$key/$(record "$key")}
    done < <(grep -o '[a-z_]*' <<<"$expr" | sort -u)
    count=$((expr))
    if [ "$unit" = set ]; then per="per-process"; fi
    run "$CHECK" "$trace" "$(record seconds)" "$unit" "$count" $per
    [ "$status" -eq 0 ] || { echo "$lesson $args: $output" >&2; return 1; }
    echo "# $lesson: $output" >&3
    run "$STRICT" "$trace" "$BATS_TEST_TMPDIR"
    [ "$status" -eq 0 ] || { echo "$lesson $args: $output" >&2; return 1; }
    # Nothing left beside the trace.
    [ -z "$(find "$BATS_TEST_TMPDIR" -name "$lesson.json.*")" ]
}

check_cases() {   # check_cases PATTERN: every case whose lesson matches
    local c bad=0
    for c in "${CASES[@]}"; do
        # shellcheck disable=SC2053  # a pattern on purpose
        [[ "${c%%|*}" == $1 ]] || continue
        check_case "$c" || bad=1
    done
    return "$bad"
}

@test "every program in bin/ has a case here" {
    for program in "$LAB_BIN"/*; do
        name=${program##*/}
        [[ " $NOT_HERE " != *" $name "* && $name != py_* ]] || continue
        printf '%s\n' "${CASES[@]}" | grep -q "^$name|" || { echo "no --trace case for $name" >&2; false; }
    done
}

@test "the I/O lessons: one request span per request done, on its own lane" {
    check_cases 'io_*'
}

@test "the CPU lessons and race: one task span per task" {
    check_cases 'cpu_*'
    check_cases race
}

@test "the manager: one set span per round trip, numbered within its child" {
    check_cases sum_chunks_manager
}

@test "--trace to a path that cannot be written: one line, exit 2, no work done, for every program" {
    mkdir -p "$BATS_TEST_TMPDIR/folder"
    # Links: the rename at the end would replace the link, not its file
    # (--trace /dev/stdout, as root with stdout in a file, replaced /dev/stdout).
    echo kept >"$BATS_TEST_TMPDIR/real.json"
    ln -s real.json "$BATS_TEST_TMPDIR/link.json"
    ln -s /proc/self/fd/1 "$BATS_TEST_TMPDIR/stdout"
    for program in "$LAB_BIN"/*; do
        name=${program##*/}
        [[ " $NOT_HERE " != *" $name "* && $name != py_* ]] || continue
        for path in "$BATS_TEST_TMPDIR/folder" "$BATS_TEST_TMPDIR/missing/t.json" /sys/t.json /dev/null "" \
                    "$BATS_TEST_TMPDIR/link.json" "$BATS_TEST_TMPDIR/stdout"; do
            # (The I/O lessons would wait 5 s a request: $LAB_URL is their default.)
            LAB_URL="$LAB_BASE/delay?s=5" run --separate-stderr "$program" --no-progress --trace "$path"
            [ "$status" -eq 2 ] || { echo "$name --trace $path: exit $status" >&2; false; }
            [ "${#stderr_lines[@]}" -eq 1 ] || { echo "$name --trace $path: $stderr" >&2; false; }
            [[ "$stderr" == "$name: --trace: "* ]] || { echo "$name: $stderr" >&2; false; }
            [ -z "$output" ] || { echo "$name --trace $path did work: $output" >&2; false; }
        done
    done
    [ -z "$(ls -A "$BATS_TEST_TMPDIR/folder")" ]
    [ -L "$BATS_TEST_TMPDIR/link.json" ] && [ -L "$BATS_TEST_TMPDIR/stdout" ]
    [ "$(cat "$BATS_TEST_TMPDIR/real.json")" = kept ]
}
