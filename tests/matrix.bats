#!/usr/bin/env bats
# The experiment pipeline: scripts/run (time(1) -> runs.csv), scripts/matrix
# (the plan, interleaved rounds, the lab server), scripts/summarize and
# scripts/plot, end to end with `make all plots PROFILE=quick` in a copy of
# the tree, what is left after an interruption, and what a hostile user
# tries: a full disk, crafted and corrupted CSV files, outputs that are
# devices or links, two runs at once.

load helpers

LESSONS="io_sync io_threads io_multiprocessing io_async cpu_sync cpu_threads cpu_multiprocessing sum_chunks_manager race"
! command -v mpirun >/dev/null || LESSONS+=" cpu_mpi"   # run through scripts/mpirun
HEADER="timestamp,experiment,model,workload,tasks,size,workers,latency_ms,numbers,chunks,ops,repeat,seconds,wall_s,user_s,sys_s,max_rss_kb,vol_cs,invol_cs,cpu_util,exit,errors,bytes,result,total,ops_per_s,extra,tag,command,host,cpus,cpu_model,cc,libcurl,openssl,commit"

# The value in column NAME of data row ROW (1 = the first after the header).
csv_get() { csv_column "$1" "$2" "$3"; }

# Width and height of a PNG, from its IHDR chunk (bytes 17-24, big-endian).
png_size() {
    local w h
    read -r w h < <(od -An -tu1 -j16 -N8 "$1" |
        awk '{ print $1 * 16777216 + $2 * 65536 + $3 * 256 + $4, $5 * 16777216 + $6 * 65536 + $7 * 256 + $8 }')
    echo "${w}x$h"
}

is_png() {
    [ "$(od -An -tx1 -N8 "$1" | tr -d ' \n')" = 89504e470d0a1a0a ]
}

# A stand-in lesson: prints a record after a short wait, or fails as told.
fake_lesson() {
    cat >"$1" <<'SH'
#!/bin/sh
sleep "${FAKE_SLEEP:-0}"
echo "Ran 1 fake task"
[ -z "$FAKE_EXIT" ] || { echo "fake: told to fail" >&2; exit "$FAKE_EXIT"; }
echo "experiment=fake_threads workload=nap tasks=1 workers=2 seconds=${FAKE_SLEEP:-0} result=42"
SH
    chmod +x "$1"
}

# ---- One `make all plots PROFILE=quick` for the whole file -----------------------

setup_file() {
    export LAB_COPY="$BATS_FILE_TMPDIR/lab"
    mkdir -p "$LAB_COPY/results"
    cp -a "$LAB_TOP/experiments" "$LAB_TOP/lab" "$LAB_TOP/scripts" "$LAB_TOP/plans" "$LAB_TOP/plots" "$LAB_TOP/server" "$LAB_TOP/tests" \
        "$LAB_TOP/Makefile" "$LAB_TOP/README.md" "$LAB_COPY/"
    [ ! -f "$LAB_TOP/results/published.csv" ] || cp -a "$LAB_TOP/results/published.csv" "$LAB_COPY/results/"
    # The programs under test, already built: make finds them up to date.
    cp -a "$LAB_BIN" "$LAB_COPY/bin"
    [ ! -d "$LAB_TOP/build" ] || cp -a "$LAB_TOP/build" "$LAB_COPY/build"
    rm -f "$LAB_COPY"/plots/*.png "$LAB_COPY"/plots/*.svg
    local status=0
    (cd "$LAB_COPY" && unset LAB_SERVER_DIR &&
        make all plots PROFILE=quick LAB_NO_DEPS=1 BIN="$LAB_COPY/bin") \
        >"$BATS_FILE_TMPDIR/make.out" 2>"$BATS_FILE_TMPDIR/make.err" 3>&- || status=$?
    echo "$status" >"$BATS_FILE_TMPDIR/make.status"
}

teardown_file() {
    # Whatever a failed test left running in the copy.
    LAB_SERVER_DIR="$LAB_COPY/.lab/server" "$LAB_COPY/scripts/labserver" stop 3>&- || true
}

quick_configurations() {
    (cd "$LAB_COPY" && scripts/matrix --profile quick --list | wc -l)
}

quick_repeat() {
    awk '$1 == "repeat" && $2 == "quick" { print $3 }' "$LAB_COPY/plans/matrix.plan"
}

@test "make all plots PROFILE=quick succeeds" {
    status=$(cat "$BATS_FILE_TMPDIR/make.status")
    [ "$status" -eq 0 ] || { tail -20 "$BATS_FILE_TMPDIR/make.err"; false; }
}

@test "runs.csv has the header once and a row per configuration and round" {
    runs=$LAB_COPY/results/runs.csv
    [ "$(head -n1 "$runs")" = "$HEADER" ]
    [ "$(grep -c '^timestamp,' "$runs")" -eq 1 ]
    configs=$(quick_configurations)
    repeat=$(quick_repeat)
    [ "$configs" -ge 20 ]
    [ "$repeat" -ge 2 ]
    [ "$(($(wc -l <"$runs") - 1))" -eq $((configs * repeat)) ]
    rows_are_whole "$runs"
}

@test "the rounds are interleaved: every configuration once before any twice" {
    runs=$LAB_COPY/results/runs.csv
    configs=$(quick_configurations)
    for ((row = 1; row <= configs; row++)); do
        [ "$(csv_get "$runs" repeat "$row")" = 1 ]
    done
    [ "$(csv_get "$runs" repeat $((configs + 1)))" = 2 ]
}

@test "every lesson ran, every run succeeded, and the machine is recorded" {
    runs=$LAB_COPY/results/runs.csv
    rows=$(($(wc -l <"$runs") - 1))
    declare -A seen=()
    for ((row = 1; row <= rows; row++)); do
        seen[$(csv_get "$runs" experiment "$row")]=1
        [ "$(csv_get "$runs" exit "$row")" = 0 ]
    done
    for lesson in $LESSONS; do
        [ -n "${seen[$lesson]:-}" ] || { echo "no run of $lesson" >&2; false; }
    done
    [ "$(csv_get "$runs" cpus 1)" = "$(getconf _NPROCESSORS_ONLN)" ]
    [ -n "$(csv_get "$runs" cpu_model 1)" ]
    [ "$(csv_get "$runs" latency_ms 1)" = 10 ]
    [ "$(csv_get "$runs" model 1)" = sync ]
    [ "$(csv_get "$runs" bytes 1)" = 20000 ]
}

@test "summary.csv: a row per configuration, and its figures are numbers" {
    summary=$LAB_COPY/results/summary.csv
    [ "$(($(wc -l <"$summary") - 1))" -eq "$(quick_configurations)" ]
    rows_are_whole "$summary"
    number='^[0-9]+([.][0-9]+)?$'
    rows=$(($(wc -l <"$summary") - 1))
    for ((row = 1; row <= rows; row++)); do
        for column in runs median_s min_s max_s spread_pct; do
            value=$(csv_get "$summary" "$column" "$row")
            [[ "$value" =~ $number ]] || { echo "row $row $column='$value'" >&2; false; }
        done
        [ "$(csv_get "$summary" failed "$row")" = 0 ]
        [ "$(csv_get "$summary" runs "$row")" = "$(quick_repeat)" ]
        experiment=$(csv_get "$summary" experiment "$row")
        # The manager and the race have no sequential baseline.
        if [ "$experiment" != sum_chunks_manager ] && [ "$experiment" != race ]; then
            for column in speedup ideal_s efficiency; do
                value=$(csv_get "$summary" "$column" "$row")
                [[ "$value" =~ $number ]] || { echo "row $row $column='$value'" >&2; false; }
            done
        fi
    done
}

@test "the summary's numbers hold together" {
    summary=$LAB_COPY/results/summary.csv
    rows=$(($(wc -l <"$summary") - 1))
    for ((row = 1; row <= rows; row++)); do
        min=$(csv_get "$summary" min_s "$row")
        median=$(csv_get "$summary" median_s "$row")
        max=$(csv_get "$summary" max_s "$row")
        awk -v a="$min" -v b="$median" -v c="$max" 'BEGIN { exit !(a <= b && b <= c) }'
        # Sequential I/O cannot beat requests x latency.
        if [ "$(csv_get "$summary" experiment "$row")" = io_sync ]; then
            ideal=$(csv_get "$summary" ideal_s "$row")
            awk -v m="$min" -v i="$ideal" 'BEGIN { exit !(m >= i) }'
            [ "$(csv_get "$summary" speedup "$row")" = 1.000 ]
        fi
    done
}

@test "the summary explains the numbers in sentences" {
    grep -q "io_threads at its best, with [0-9]* workers: .* faster than io_sync; the ideal is" "$BATS_FILE_TMPDIR/make.out"
    grep -q "cpu_multiprocessing at its best" "$BATS_FILE_TMPDIR/make.out"
    grep -q "the manager .* sets/s, shared memory .* sets/s" "$BATS_FILE_TMPDIR/make.out"
}

@test "one progress line per run, numbered" {
    total=$(($(quick_configurations) * $(quick_repeat)))
    [ "$(grep -c "^\[[0-9]*/$total\] " "$BATS_FILE_TMPDIR/make.err")" -eq "$total" ]
    grep -q "^\[1/$total\] io_sync requests=20 workers=1 latency_ms=10: 0\.2[0-9]* s$" "$BATS_FILE_TMPDIR/make.err"
}

@test "the charts are PNGs of the expected size, with SVGs beside them" {
    for chart in io_models:1000x600 io_workers:1000x600 cpu_speedup:1200x700 manager:1000x600 gil:1000x600 race:1200x560; do
        png=$LAB_COPY/plots/${chart%%:*}.png
        is_png "$png"
        [ "$(png_size "$png")" = "${chart#*:}" ]
        [ "$(stat -c %s "$png")" -gt 10000 ]
        grep -q "<svg" "$LAB_COPY/plots/${chart%%:*}.svg"
    done
}

@test "the race chart is drawn from the summary's medians of lost= and ns_per_increment=" {
    summary=$LAB_COPY/results/summary.csv
    dir=$BATS_TEST_TMPDIR
    # Every race configuration has the medians of its record's numbers;
    # the lock and the atomic add lose nothing, nor does one thread alone.
    mlr --icsv --onidx --ofs '|' filter '$experiment == "race"' then cut -o -f model,workers,extra "$summary" >"$dir/race"
    [ "$(wc -l <"$dir/race")" -eq 6 ]
    while IFS='|' read -r mode workers extra; do
        [[ "$extra" =~ (^| )expected=$((workers * 1000000))( |$) ]] || { echo "$mode $workers: $extra" >&2; false; }
        [[ "$extra" =~ (^| )ns_per_increment=[0-9.]+( |$) ]]
        # A median of an even number of rounds may end in .5.
        [[ "$extra" =~ (^| )lost=([0-9]+(\.[0-9]+)?)( |$) ]]
        [ "$mode" = plain ] && [ "$workers" -gt 1 ] || [ "${BASH_REMATCH[2]}" = 0 ]
    done <"$dir/race"
    # Drawn from those rows alone: each ns per increment is a label in the SVG.
    mlr --icsv --ocsv filter '$experiment == "race"' "$summary" >"$dir/race.csv"
    run -0 --separate-stderr "$LAB_TOP/scripts/plot" --summary "$dir/race.csv" --out "$dir/plots"
    is_png "$dir/plots/race.png"
    [ "$(png_size "$dir/plots/race.png")" = 1200x560 ]
    [ ! -e "$dir/plots/cpu_speedup.png" ]
    while IFS='|' read -r mode workers extra; do
        ns=$(sed 's/.*ns_per_increment=\([0-9.]*\).*/\1/' <<<"$extra")
        grep -qF ">$(printf '%.1f' "$ns")<" "$dir/plots/race.svg" || { echo "no label $ns" >&2; false; }
    done <"$dir/race"
    # A row without its numbers is reported and left out; no race rows, no chart.
    mlr --icsv --ocsv put 'if ($model == "mutex") { $extra = "" }' "$dir/race.csv" >"$dir/nomutex.csv"
    run -0 --separate-stderr "$LAB_TOP/scripts/plot" --summary "$dir/nomutex.csv" --out "$dir/plots2"
    [[ "$stderr" == *"race mutex workers=1: no lost="*"row left out"* ]]
    is_png "$dir/plots2/race.png"
    mlr --icsv --ocsv filter '$experiment != "race"' "$summary" >"$dir/norace.csv"
    run -0 --separate-stderr "$LAB_TOP/scripts/plot" --summary "$dir/norace.csv" --out "$dir/plots3"
    [[ "$stderr" == *"no rows for race"* ]]
    [ ! -e "$dir/plots3/race.png" ]
}

@test "the lab server is stopped after make all" {
    run -3 env LAB_SERVER_DIR="$LAB_COPY/.lab/server" "$LAB_COPY/scripts/labserver" status
}

@test "make plots redraws the charts without running anything" {
    cd "$LAB_COPY"
    before=$(md5sum results/runs.csv results/summary.csv)
    rm plots/manager.png plots/io_models.svg
    run -0 --separate-stderr make plots LAB_NO_DEPS=1
    is_png plots/manager.png
    [ -s plots/io_models.svg ]
    [ "$(md5sum results/runs.csv results/summary.csv)" = "$before" ]
    [ ! -e .lab/server/nginx.pid ]
}

# ---- scripts/run on its own ------------------------------------------------------

@test "scripts/run writes the header once and a row per run" {
    fake_lesson "$BATS_TEST_TMPDIR/fake"
    out=$BATS_TEST_TMPDIR/runs.csv
    run -0 --separate-stderr "$LAB_TOP/scripts/run" --out "$out" --repeat 2 --tag first -- "$BATS_TEST_TMPDIR/fake"
    run -0 --separate-stderr "$LAB_TOP/scripts/run" --out "$out" --repeat 1 --latency-ms 30 -- "$BATS_TEST_TMPDIR/fake"
    [ "$(head -n1 "$out")" = "$HEADER" ]
    [ "$(wc -l <"$out")" -eq 4 ]
    rows_are_whole "$out"
    [ "$(csv_get "$out" experiment 1)" = fake_threads ]
    [ "$(csv_get "$out" model 1)" = threads ]
    [ "$(csv_get "$out" workers 1)" = 2 ]
    [ "$(csv_get "$out" result 1)" = 42 ]
    [ "$(csv_get "$out" repeat 2)" = 2 ]
    [ "$(csv_get "$out" tag 2)" = first ]
    [ "$(csv_get "$out" latency_ms 3)" = 30 ]
    [ "$(csv_get "$out" exit 3)" = 0 ]
    [[ "$(csv_get "$out" max_rss_kb 3)" =~ ^[0-9]+$ ]]
    [[ "$(csv_get "$out" wall_s 3)" =~ ^[0-9]+\.[0-9]+$ ]]
    [ "$stderr" = "[1/1] fake_threads workload=nap tasks=1 workers=2 latency_ms=30: 0 s" ]
}

@test "scripts/run keeps the record's other pairs in extra, as printed" {
    out=$BATS_TEST_TMPDIR/runs.csv
    run -0 --separate-stderr "$LAB_TOP/scripts/run" --repeat 1 --out "$out" -- "$LAB_BIN/race" --mode mutex --workers 2 --increments 1000
    extra=$(csv_get "$out" extra 1)
    [[ "$extra" =~ ^increments=1000\ expected=2000\ counted=2000\ lost=0\ ns_per_increment=[0-9.]+$ ]] || { echo "extra '$extra'" >&2; false; }
    [ "$(csv_get "$out" model 1)" = mutex ]
    [ "$(csv_get "$out" workers 1)" = 2 ]
}

@test "scripts/run records a failed run with its exit status, and exits 1" {
    fake_lesson "$BATS_TEST_TMPDIR/fake"
    out=$BATS_TEST_TMPDIR/runs.csv
    FAKE_EXIT=3 run -1 --separate-stderr "$LAB_TOP/scripts/run" --out "$out" --repeat 2 -- "$BATS_TEST_TMPDIR/fake"
    [ "$(wc -l <"$out")" -eq 3 ]
    [ "$(csv_get "$out" exit 1)" = 3 ]
    [ "$(csv_get "$out" exit 2)" = 3 ]
    [ "$(csv_get "$out" seconds 1)" = "" ]
    [ "$(csv_get "$out" experiment 1)" = fake ]
    [[ "$stderr" == *"FAILED, exit 3"* ]]
    [[ "$stderr" == *"fake: told to fail"* ]]
    # A program that cannot even start is recorded too (time(1) says 127).
    run -1 --separate-stderr "$LAB_TOP/scripts/run" --out "$out" --repeat 1 -- "$BATS_TEST_TMPDIR/no-such-program"
    [ "$(csv_get "$out" exit 3)" = 127 ]
    rows_are_whole "$out"
}

@test "scripts/run quotes fields that hold commas and quotes" {
    fake_lesson "$BATS_TEST_TMPDIR/fake"
    out=$BATS_TEST_TMPDIR/runs.csv
    run -0 --separate-stderr "$LAB_TOP/scripts/run" --out "$out" --repeat 1 --quiet \
        --tag 'warm, "really"' -- "$BATS_TEST_TMPDIR/fake"
    [ "$stderr" = "" ]
    [ "$(csv_get "$out" tag 1)" = 'warm, "really"' ]
    rows_are_whole "$out"
    LAB_MACHINE='box,2,"Acme, Inc. CPU",cc 1,8.0,3.0,abc' \
        run -0 --separate-stderr "$LAB_TOP/scripts/run" --out "$out" --repeat 1 --quiet -- "$BATS_TEST_TMPDIR/fake"
    [ "$(csv_get "$out" cpu_model 2)" = "Acme, Inc. CPU" ]
    [ "$(csv_get "$out" commit 2)" = abc ]
    rows_are_whole "$out"
}

@test "scripts/run refuses bad usage with exit 2, before running anything" {
    out=$BATS_TEST_TMPDIR/runs.csv
    for args in "--bogus -- true" "--repeat 0 -- true" "--repeat x -- true" "--repeat" \
        "--latency-ms soon -- true" "--out"; do
        # shellcheck disable=SC2086
        run -2 --separate-stderr "$LAB_TOP/scripts/run" --out "$out" $args
        [[ "$stderr" == "scripts/run: "*" (see scripts/run --help)" ]]
        [ "${#stderr_lines[@]}" -eq 1 ]
    done
    run -2 --separate-stderr "$LAB_TOP/scripts/run" --out "$out"
    # What a caller passes in the environment: numbers, and the seven machine
    # fields of --machine, or refused; never run as code, never a torn row.
    LAB_RUN_INDEX='a[$(touch '"$BATS_TEST_TMPDIR"'/X)]' run -2 --separate-stderr "$LAB_TOP/scripts/run" --out "$out" -- true
    [[ "$stderr" == *"LAB_RUN_INDEX and LAB_RUN_TOTAL want whole numbers"* ]]
    [ ! -e "$BATS_TEST_TMPDIR/X" ]
    LAB_MACHINE='x,y' run -2 --separate-stderr "$LAB_TOP/scripts/run" --out "$out" -- true
    [[ "$stderr" == *"LAB_MACHINE wants the seven fields"* ]]
    [ ! -e "$out" ]
    run -0 "$LAB_TOP/scripts/run" --help
    [[ "$output" == "Usage: scripts/run"* ]]
    run -2 --separate-stderr "$LAB_TOP/scripts/matrix" --profile quick --bogus
    run -2 --separate-stderr "$LAB_TOP/scripts/matrix" --profile nosuchprofile --list
    run -2 --separate-stderr "$LAB_TOP/scripts/summarize" --bogus
    run -2 --separate-stderr "$LAB_TOP/scripts/plot" --bogus
}

@test "scripts/run: an --out that is empty or a folder is refused before the run; LAB_RUN_INDEX=08 is a number; a pipe gets one header" {
    fake_lesson "$BATS_TEST_TMPDIR/fake"
    for out in "" "$BATS_TEST_TMPDIR"; do
        FAKE_EXIT=9 run -2 --separate-stderr "$LAB_TOP/scripts/run" --out "$out" --repeat 1 -- "$BATS_TEST_TMPDIR/fake"
        [ "${stderr_lines[0]}" = "scripts/run: --out wants a file, not '$out' (see scripts/run --help)" ]
    done
    # (A leading zero was octal to bash's arithmetic: no progress line, an error.)
    out=$BATS_TEST_TMPDIR/runs.csv
    LAB_RUN_INDEX=08 LAB_RUN_TOTAL=09 run -0 --separate-stderr "$LAB_TOP/scripts/run" --out "$out" --repeat 2 -- "$BATS_TEST_TMPDIR/fake"
    [ "$stderr" = "$(printf '[8/09] fake_threads workload=nap tasks=1 workers=2: 0 s\n[9/09] fake_threads workload=nap tasks=1 workers=2: 0 s')" ]
    # Into a pipe: the header once (it came before every row), then the rows.
    "$LAB_TOP/scripts/run" --out /dev/stdout --repeat 3 --quiet -- "$BATS_TEST_TMPDIR/fake" | cat >"$BATS_TEST_TMPDIR/piped.csv"
    rows_are_whole "$BATS_TEST_TMPDIR/piped.csv"
    [ "$(grep -c '^timestamp,' "$BATS_TEST_TMPDIR/piped.csv")" -eq 1 ]
    [ "$(wc -l <"$BATS_TEST_TMPDIR/piped.csv")" -eq 4 ]
}

@test "scripts/run: a record after three million lines of output, a record of 100,000 pairs: seconds, not a minute" {
    # (Read line by line by bash, they took some 20 s.)
    printf '#!/bin/sh\nseq 3000000\nprintf "experiment=fake_threads seconds=0.5"\n' >"$BATS_TEST_TMPDIR/chatty"
    chmod +x "$BATS_TEST_TMPDIR/chatty"
    out=$BATS_TEST_TMPDIR/runs.csv
    run -0 --separate-stderr timeout 8 "$LAB_TOP/scripts/run" --out "$out" --repeat 1 -- "$BATS_TEST_TMPDIR/chatty"
    [ "$(csv_get "$out" experiment 1)" = fake_threads ]
    [ "$(csv_get "$out" seconds 1)" = 0.5 ]
    # (A string grown pair by pair: a minute.)
    printf '#!/bin/sh\nprintf "experiment=fake_threads seconds=0.5"\nseq 100000 | sed "s/^/ x=/" | tr -d "\\n"\necho\n' >"$BATS_TEST_TMPDIR/pairs"
    chmod +x "$BATS_TEST_TMPDIR/pairs"
    run -0 --separate-stderr timeout 15 "$LAB_TOP/scripts/run" --out "$out" --repeat 1 -- "$BATS_TEST_TMPDIR/pairs"
    [ "$(csv_get "$out" extra 2 | wc -w)" -eq 100000 ]
    [ "$(csv_get "$out" extra 2 | cut -d' ' -f 99999-)" = "x=99999 x=100000" ]
}

@test "scripts/run refuses to append to a file with other columns" {
    out=$BATS_TEST_TMPDIR/runs.csv
    echo "a,b,c" >"$out"
    run -1 --separate-stderr "$LAB_TOP/scripts/run" --out "$out" --repeat 1 -- true
    [[ "$stderr" == *"other columns"* ]]
    [ "$(cat "$out")" = "a,b,c" ]
}

# Start scripts/run on the fake lesson in a session of its own (so a signal
# can go to its whole process group, as a terminal's ^C does), let it write
# at least $1 rows, send signal $2, and wait for it. Sets status.
interrupt_run() {
    local want=$1 sig=$2 pid
    # (TMPDIR: a killed scripts/run cannot remove its temporary folder.)
    FAKE_SLEEP=0.05 TMPDIR=$BATS_TEST_TMPDIR setsid env --default-signal=INT \
        "$LAB_TOP/scripts/run" --out "$out" --repeat 1000 --quiet \
        -- "$BATS_TEST_TMPDIR/fake" 3>&- &
    pid=$!
    wait_until "[ \$(wc -l <'$out' 2>/dev/null || echo 0) -gt $want ]" 20
    kill "-$sig" -- "-$pid"
    status=0
    wait "$pid" || status=$?
}

@test "killing scripts/run (SIGKILL) leaves whole rows, and a rerun appends cleanly" {
    fake_lesson "$BATS_TEST_TMPDIR/fake"
    out=$BATS_TEST_TMPDIR/runs.csv
    for round in 1 2 3 4 5; do
        before=$(wc -l <"$out" 2>/dev/null || echo 0)
        interrupt_run "$before" KILL
        [ "$status" -eq 137 ]
        rows_are_whole "$out"
        [ "$(wc -l <"$out")" -gt "$before" ]
    done
    rows=$(wc -l <"$out")
    run -0 --separate-stderr "$LAB_TOP/scripts/run" --out "$out" --repeat 2 -- "$BATS_TEST_TMPDIR/fake"
    [ "$(wc -l <"$out")" -eq $((rows + 2)) ]
    [ "$(grep -c '^timestamp,' "$out")" -eq 1 ]
    rows_are_whole "$out"
}

@test "interrupting scripts/run (SIGINT) records the run under way and stops" {
    fake_lesson "$BATS_TEST_TMPDIR/fake"
    out=$BATS_TEST_TMPDIR/runs.csv
    interrupt_run 3 INT
    [ "$status" -eq 130 ]
    rows_are_whole "$out"
    rows=$(($(wc -l <"$out") - 1))
    [ "$rows" -ge 3 ]
    # The stand-in lesson dies of the ^C; time(1) reports 128+2.
    [ "$(csv_get "$out" exit "$rows")" = 130 ]
    run -0 --separate-stderr "$LAB_TOP/scripts/run" --out "$out" --repeat 1 -- "$BATS_TEST_TMPDIR/fake"
    [ "$(wc -l <"$out")" -eq $((rows + 2)) ]
    rows_are_whole "$out"
}

# ---- scripts/matrix, interrupted --------------------------------------------------

# Run a small plan of slow requests, interrupt it with signal $1 once a row
# is in, and check what is left.
interrupt_matrix() {
    local sig=$1 dir=$BATS_TEST_TMPDIR pid nginx_pid
    cat >"$dir/plan" <<'PLAN'
repeat  test  3
test  io_sync     --requests 5 --url $URL/delay?s=0.2&bytes=10
test  io_threads  --requests 10 --url $URL/delay?s=0.2&bytes=10 --workers {1,2}
PLAN
    echo "old,runs" >"$dir/runs.csv"
    export LAB_SERVER_DIR=$dir/server
    env --default-signal=INT "$LAB_TOP/scripts/matrix" --plan "$dir/plan" --profile test \
        --bin "$LAB_BIN" --out "$dir/runs.csv" >"$dir/matrix.out" 2>"$dir/matrix.err" 3>&- &
    pid=$!
    wait_until "[ -s '$dir/runs.csv' ] && [ \$(wc -l <'$dir/runs.csv') -ge 2 ]" 30
    sleep 0.3               # into the next run (each takes a second or more)
    nginx_pid=$(cat "$LAB_SERVER_DIR/nginx.pid")
    kids=$(descendants "$pid" | tr "\n" " ")
    kill "-$sig" "$pid"
    status=0
    wait "$pid" || status=$?
    [ "$status" -eq $((128 + $(kill -l "$sig"))) ]
    # The server is stopped, every run ended, nothing is left behind.
    run -3 "$LAB_TOP/scripts/labserver" status
    wait_until "all_gone $nginx_pid $kids" 10
    # The old runs moved aside; the new ones whole, the last one cut short.
    [ "$(cat "$dir/runs.prev.csv")" = "old,runs" ]
    rows_are_whole "$dir/runs.csv"
    rows=$(($(wc -l <"$dir/runs.csv") - 1))
    [ "$rows" -ge 1 ] && [ "$rows" -lt 9 ]
    # The run under way got a ^C: the lesson stopped and said so (exit 130).
    [ "$(csv_get "$dir/runs.csv" exit "$rows")" = 130 ]
    grep -q "interrupted after" "$dir/matrix.err"
}

@test "interrupting scripts/matrix (SIGINT) stops the server and leaves whole rows" {
    interrupt_matrix INT
}

@test "terminating scripts/matrix (SIGTERM) stops the server and leaves whole rows" {
    interrupt_matrix TERM
}

# ---- A hostile user -----------------------------------------------------------------

@test "a bad plan line is refused before any run, with its line number" {
    dir=$BATS_TEST_TMPDIR
    printf '%s\n' "repeat test 1" "# a comment" "test io_sync --requests 1 --url \$URL" "test no_such_lesson --x 1" >"$dir/plan"
    run -2 --separate-stderr "$LAB_TOP/scripts/matrix" --plan "$dir/plan" --profile test --bin "$LAB_BIN" --out "$dir/runs.csv"
    [[ "$stderr" == *"plan:4: "*"no_such_lesson is missing"* ]]
    printf '%s\n' "test io_sync --requests 1" "test io_sync --requests 1 --no-such-option 3" >"$dir/plan"
    run -2 --separate-stderr "$LAB_TOP/scripts/matrix" --plan "$dir/plan" --profile test --bin "$LAB_BIN" --out "$dir/runs.csv"
    [[ "$stderr" == *"plan:2: io_sync does not take the option --no-such-option"* ]]
    # Sweeps: a bound that is not a number or CPUS (one + - * between two), a
    # range past 1000 values, a plan past 10000 configurations.
    printf '%s\n' "test cpu_sync --tasks {2-..3}" >"$dir/plan"
    run -2 --separate-stderr "$LAB_TOP/scripts/matrix" --plan "$dir/plan" --profile test --list
    [[ "$stderr" == *"plan:1: bad range bound '2-'"* ]]
    printf '%s\n' "test cpu_sync --tasks {1..5000}" >"$dir/plan"
    run -2 --separate-stderr "$LAB_TOP/scripts/matrix" --plan "$dir/plan" --profile test --list
    [[ "$stderr" == *"plan:1: the range {1..5000} has more than 1000 values"* ]]
    printf '%s\n' "define X {1..3}" "test cpu_sync$(printf ' $X%.0s' {1..15})" >"$dir/plan"
    run -2 --separate-stderr "$LAB_TOP/scripts/matrix" --plan "$dir/plan" --profile test --list
    [[ "$stderr" == *"plan:2: more than 10000 configurations"* ]]
    # A lesson under a launcher is checked too.
    printf '%s\n' "launch io_sync+env env @bin/@lesson" "test io_sync+env --requests 1 --no-such-option 3" >"$dir/plan"
    run -2 --separate-stderr "$LAB_TOP/scripts/matrix" --plan "$dir/plan" --profile test --bin "$LAB_BIN" --out "$dir/runs.csv"
    [[ "$stderr" == *"plan:2: io_sync+env does not take the option --no-such-option"* ]]
    [ ! -e "$dir/runs.csv" ]
}

@test "a plan line without its words, a sweep of no value, a lesson out of --bin: refused with the line number; --out a folder refused" {
    dir=$BATS_TEST_TMPDIR
    # (Each was a bash error, a launcher without a command, a line dropped
    # unseen, or a program run from outside bin/.)
    for line in "launch" "define" "launch io_sync" "test io_sync --workers {}" "test io_sync --workers {3..1}" \
        "test ../scripts/labserver status"; do
        printf '%s\n' "# line 1" "$line" "test io_sync --requests 1" >"$dir/plan"
        run -2 --separate-stderr "$LAB_TOP/scripts/matrix" --plan "$dir/plan" --profile test --bin "$LAB_BIN" --out "$dir/runs.csv"
        [[ "$stderr" == "scripts/matrix: $dir/plan:2: "* ]] || { echo "$line: $stderr" >&2; false; }
        [ "${#stderr_lines[@]}" -eq 1 ]
    done
    [[ "$stderr" == *"'../scripts/labserver' is not a lesson of $LAB_BIN" ]]
    [ ! -e "$dir/runs.csv" ]
    # --out a folder: refused, not moved aside as the previous runs.
    mkdir -p "$dir/results/keep"
    run -2 --separate-stderr "$LAB_TOP/scripts/matrix" --plan "$dir/plan" --profile test --bin "$LAB_BIN" --out "$dir/results/keep"
    [ "${stderr_lines[0]}" = "scripts/matrix: --out wants a file, not '$dir/results/keep' (see scripts/matrix --help)" ]
    [ -d "$dir/results/keep" ] && [ ! -e "$dir/results/keep.prev.csv" ]
}

@test "a full disk: scripts/run appends a row whole or not at all, and the next is not glued on" {
    fake_lesson "$BATS_TEST_TMPDIR/fake"
    out=$BATS_TEST_TMPDIR/runs.csv
    run -0 --separate-stderr "$LAB_TOP/scripts/run" --out "$out" --repeat 1 --quiet -- "$BATS_TEST_TMPDIR/fake"
    # Whole rows until less than a row is left under 4 kB; ulimit -f 4
    # (kB) then stops the next row part-way, as a full disk would.
    row=$(tail -n1 "$out")
    while [ $((4096 - $(stat -c %s "$out"))) -ge $((${#row} - 20)) ]; do echo "$row" >>"$out"; done
    size=$(stat -c %s "$out")
    run -1 --separate-stderr bash -c 'ulimit -f 4 && exec "$0" --out "$1" --repeat 1 --quiet -- "$2"' \
        "$LAB_TOP/scripts/run" "$out" "$BATS_TEST_TMPDIR/fake"
    [[ "$stderr" == *"could not append to $out"* ]]
    [ "$(stat -c %s "$out")" -eq "$size" ]
    rows_are_whole "$out"
    run -0 --separate-stderr "$LAB_TOP/scripts/run" --out "$out" --repeat 1 --quiet -- "$BATS_TEST_TMPDIR/fake"
    rows_are_whole "$out"
}

@test "a newline in a tag or an argument stays inside its row" {
    fake_lesson "$BATS_TEST_TMPDIR/fake"
    out=$BATS_TEST_TMPDIR/runs.csv
    run -0 --separate-stderr "$LAB_TOP/scripts/run" --out "$out" --repeat 1 --quiet \
        --tag $'two\nlines' -- "$BATS_TEST_TMPDIR/fake" $'an\rargument\nhere'
    [ "$(wc -l <"$out")" -eq 2 ]
    rows_are_whole "$out"
    [ "$(csv_get "$out" tag 1)" = "two lines" ]
    run -0 --separate-stderr "$LAB_TOP/scripts/summarize" --runs "$out" --out "$BATS_TEST_TMPDIR/summary.csv" --quiet
    [ "$(wc -l <"$BATS_TEST_TMPDIR/summary.csv")" -eq 2 ]
}

@test "a corrupted runs file: each bad row is reported with its line number and left out" {
    dir=$BATS_TEST_TMPDIR
    runs=$dir/runs.csv
    head -n 12 "$LAB_COPY/results/runs.csv" >"$runs"
    for pair in 2:abc 3:nan 4:-1 5:0x10; do
        mlr -I --icsv --ocsv put "NR == $((${pair%%:*} - 1)) { \$seconds = \"${pair#*:}\" }" "$runs"
    done
    mlr -I --icsv --ocsv put 'NR == 6 { $max_rss_kb = "lots" }' "$runs"
    # A torn row: the last one cut short, no newline, then one glued on.
    last=$(tail -n 1 "$runs")
    sed -i '$d' "$runs"
    printf '%s' "${last:0:60}" >>"$runs"
    printf '%s\n' "$last" >>"$runs"
    run -0 --separate-stderr "$LAB_TOP/scripts/summarize" --runs "$runs" --out "$dir/summary.csv"
    [[ "$stderr" == *"runs.csv:2: seconds \"abc\" is not a number: row left out"* ]]
    [[ "$stderr" == *"runs.csv:3: seconds \"nan\" is not a number"* ]]
    [[ "$stderr" == *"runs.csv:4: seconds \"-1\" is not a number"* ]]
    [[ "$stderr" == *"runs.csv:5: seconds \"0x10\" is not a number"* ]]
    [[ "$stderr" == *"runs.csv:7: max_rss_kb \"lots\" is not a number"* ]]
    [[ "$stderr" == *"runs.csv:12: "* ]]
    [ "$(grep -c 'row left out' <<<"$stderr")" -eq 6 ]
    rows_are_whole "$dir/summary.csv"
    # The charts are drawn from what is left.
    run -0 --separate-stderr "$LAB_TOP/scripts/plot" --summary "$dir/summary.csv" --out "$dir/plots"
    is_png "$dir/plots/io_models.png"
    # A column missing, or one twice: not a runs file, refused in one line.
    mlr --icsv --ocsv cut -x -f seconds "$LAB_COPY/results/runs.csv" >"$dir/cut.csv"
    run -2 --separate-stderr "$LAB_TOP/scripts/summarize" --runs "$dir/cut.csv" --out "$dir/cut-summary.csv"
    [ "$stderr" = "scripts/summarize: $dir/cut.csv has no column seconds: not the file this step reads" ]
    sed '1s/,tag,/,seconds,/' "$LAB_COPY/results/runs.csv" >"$dir/twice.csv"
    run -2 --separate-stderr "$LAB_TOP/scripts/summarize" --runs "$dir/twice.csv" --out "$dir/twice-summary.csv"
    [ "$stderr" = "scripts/summarize: $dir/twice.csv has the column seconds twice" ]
    [ ! -e "$dir/cut-summary.csv" ] && [ ! -e "$dir/twice-summary.csv" ]
    # A number of 400 digits would be infinite as a float: not a number.
    big=1$(printf '0%.0s' {1..400})
    mlr --icsv --ocsv put "NR == 1 { \$tasks = \"$big\" }" "$LAB_COPY/results/runs.csv" >"$dir/big.csv"
    run -0 --separate-stderr "$LAB_TOP/scripts/summarize" --runs "$dir/big.csv" --out "$dir/big-summary.csv" --quiet
    [[ "$stderr" == *"big.csv:2: tasks \"$big\" is not a number: row left out" ]]
    run -1 grep -E 'inf|nan' "$dir/big-summary.csv"
}

@test "a runs file with a field of 1 MB, a byte that is not UTF-8 and a line break in a field: each bad row is left out by its line, not the file" {
    dir=$BATS_TEST_TMPDIR
    head -n 6 "$LAB_COPY/results/runs.csv" >"$dir/runs.csv"
    # (csv's limit of 128 kB per field, and a stray byte, each refused the whole file.)
    /usr/bin/python3 -c 'import csv, sys
rows = list(csv.reader(open(sys.argv[1])))
rows[1][rows[0].index("command")] = "a" * 1000000
rows[5][rows[0].index("cpu_model")] = "EPYC\n| a row of its own |"
csv.writer(open(sys.argv[1], "w"), lineterminator="\n").writerows(rows)' "$dir/runs.csv"
    sed -i '4s/,/,\xff/' "$dir/runs.csv"
    run -0 --separate-stderr "$LAB_TOP/scripts/summarize" --runs "$dir/runs.csv" --out "$dir/summary.csv" --quiet
    # A line break inside a field (only a hand-made file has one) would
    # break the summary's Markdown table and its text.
    [ "${stderr_lines[0]}" = "scripts/summarize: $dir/runs.csv:4: bytes that are not UTF-8: row left out" ]
    [ "${stderr_lines[1]}" = "scripts/summarize: $dir/runs.csv:6: cpu_model holds a tab, a line break or another control character: row left out" ]
    [ "${#stderr_lines[@]}" -eq 2 ]
    [ "$(csv_get "$dir/summary.csv" runs | paste -sd+ | bc)" -eq 3 ]
}

@test "scripts/summarize on 20,000 configurations of a lesson with a baseline, or of one without: seconds, not minutes" {
    dir=$BATS_TEST_TMPDIR
    # 20,000 rows of cpu_sync (each of its own --tasks), then of race (each
    # of its own --workers). (Each configuration looked through all the
    # others, for its best against a baseline or for a manager: minutes.)
    /usr/bin/python3 -c 'import csv, sys
rows = list(csv.reader(open(sys.argv[1])))
header = rows[0]
for lesson, column, out in (("cpu_sync", "tasks", sys.argv[2]), ("race", "workers", sys.argv[3])):
    row = next(r for r in rows if r[header.index("experiment")] == lesson)
    many = [row[:header.index(column)] + [str(k)] + row[header.index(column) + 1:] for k in range(1, 20001)]
    csv.writer(open(out, "w"), lineterminator="\n").writerows([header] + many)' \
        "$LAB_COPY/results/runs.csv" "$dir/cpu.csv" "$dir/race.csv"
    for runs in cpu race; do
        run -0 --separate-stderr timeout 20 "$LAB_TOP/scripts/summarize" --runs "$dir/$runs.csv" --out "$dir/$runs-summary.csv" --quiet
        [ "$(wc -l <"$dir/$runs-summary.csv")" -eq 20001 ]
    done
}

@test "runs from two machines: the summary says so, naming each one's first line" {
    dir=$BATS_TEST_TMPDIR
    head -n 5 "$LAB_COPY/results/runs.csv" >"$dir/runs.csv"
    mlr -I --icsv --ocsv put 'NR >= 3 { $host = "elsewhere"; $cpus = "64" }' "$dir/runs.csv"
    run -0 --separate-stderr "$LAB_TOP/scripts/summarize" --runs "$dir/runs.csv" --out "$dir/summary.csv"
    host=$(csv_get "$dir/runs.csv" host 1)
    [[ "$stderr" == *"the runs come from 2 machines ($host ("*" CPUs, "*") from line 2, elsewhere (64 CPUs, "*") from line 4): the medians mix them"* ]]
    [[ "$output" == *"Warnings:"*"the runs come from 2 machines"* ]]
    # The runs of one machine: not a word of it.
    head -n 3 "$dir/runs.csv" >"$dir/one.csv"
    run -0 --separate-stderr "$LAB_TOP/scripts/summarize" --runs "$dir/one.csv" --out "$dir/one-summary.csv"
    [[ "$stderr$output" != *"machines"* ]]
}

@test "a crafted summary cannot make scripts/plot run a command" {
    dir=$BATS_TEST_TMPDIR
    cp "$LAB_COPY/results/summary.csv" "$dir/crafted.csv"
    # Names that close gnuplot's string and call system(), or the shell's.
    mlr -I --icsv --ocsv put 'NR == 2 { $model = "shm\";system(\"touch '"$dir"'/X\");x=\"" }' "$dir/crafted.csv"
    mlr -I --icsv --ocsv put '$experiment == "cpu_sync" { $workload = "sumsq'"'"';touch '"$dir"'/Y;'"'"'" }' "$dir/crafted.csv"
    run -0 --separate-stderr "$LAB_TOP/scripts/plot" --summary "$dir/crafted.csv" --out "$dir/plots"
    [ ! -e "$dir/X" ] && [ ! -e "$dir/Y" ]
    [[ "$stderr" == *"crafted.csv:3: model \"shm\";system("*"is not a plain name: row left out"* ]]
    [[ "$stderr" == *"workload \"sumsq';touch"* ]]
    is_png "$dir/plots/io_workers.png"
}

@test "a workload that cannot name a gnuplot setting is left out of the CPU chart; the other charts are still drawn" {
    dir=$BATS_TEST_TMPDIR
    mlr --icsv --ocsv put '$experiment =~ "^cpu_" && $workload == "sumsq" { $workload = "sum-sq" }' \
        "$LAB_COPY/results/summary.csv" >"$dir/summary.csv"
    run -0 --separate-stderr "$LAB_TOP/scripts/plot" --summary "$dir/summary.csv" --out "$dir/plots"
    [[ "$stderr" == *"summary.csv:"*": workload \"sum-sq\" is not a lower-case word: row left out of cpu_speedup"* ]]
    # (The quick profile's CPU rows are all sumsq: the CPU chart has none left.)
    [[ "$stderr" == *"no rows for cpu_speedup"* ]]
    for chart in io_models io_workers manager race; do
        is_png "$dir/plots/$chart.png"
    done
}

@test "zero and missing figures in a summary: those rows are left out of the charts, and gnuplot never fails" {
    dir=$BATS_TEST_TMPDIR
    # (Each stopped gnuplot on a log axis, a division or an empty setting,
    # and with it every chart after it.)
    mlr --icsv --ocsv put '
        $experiment == "io_threads" && $workers == 5 { $median_s = "0" }
        $experiment == "io_async" { $tasks = "" }
        $experiment == "cpu_threads" && $workers == 1 { $workers = "0" }
        $experiment == "cpu_sync" { $median_s = "0.000000" }
        $experiment == "sum_chunks_manager" && $chunks == 4 { $chunks = "" }
        $experiment == "race" && $workers == 2 { $workers = "0" }' \
        "$LAB_COPY/results/summary.csv" >"$dir/summary.csv"
    run -0 --separate-stderr "$LAB_TOP/scripts/plot" --summary "$dir/summary.csv" --out "$dir/plots" --data "$dir/data"
    [[ "$stderr" != *'.gp" line'* ]]
    [ "$(grep -c 'a figure of io_.* is 0 or missing: row left out of the I/O charts' <<<"$stderr")" -eq 4 ]
    [[ "$stderr" == *'workers "0" is not 1 or more: row left out of cpu_speedup'* ]]
    # Without its sequential time the GIL chart has no bars.
    [[ "$stderr" == *"no rows for gil in $dir/summary.csv: skipped"* ]]
    for chart in io_models io_workers cpu_speedup manager race; do
        is_png "$dir/plots/$chart.png"
    done
    [ "$(cat "$dir/data/manager_manager.dat" "$dir/data/manager_shared-memory.dat" | wc -l)" -eq 2 ]
    [ "$(cut -f1 "$dir/data/race_plain.dat")" = 1 ]
}

@test "a figure with a leading zero reaches gnuplot as the number it is (010 was octal there, 08 an error)" {
    dir=$BATS_TEST_TMPDIR
    mlr --icsv --ocsv put '$experiment =~ "^io_" { $tasks = "0" . $tasks } $experiment == "sum_chunks_manager" && $chunks == 4 { $chunks = "08" }' \
        "$LAB_COPY/results/summary.csv" >"$dir/summary.csv"
    run -0 --separate-stderr "$LAB_TOP/scripts/plot" --summary "$dir/summary.csv" --out "$dir/plots" --data "$dir/data"
    grep -qx 'requests=20' "$dir/data/settings.txt"
    grep -qx 'max_chunks=8' "$dir/data/settings.txt"
    grep -q '>20 downloads, each answered after 10 ms' "$dir/plots/io_models.svg"
    is_png "$dir/plots/manager.png"
}

@test "a chart gnuplot fails on keeps its old files, and the charts after it are still drawn" {
    dir=$BATS_TEST_TMPDIR
    mkdir -p "$dir/fake" "$dir/plots"
    echo old >"$dir/plots/io_models.png"
    printf '#!/bin/sh\ncase "$*" in *io_models.gp*) echo "io_models.gp: broken" >&2; exit 1 ;; esac\nexec %s "$@"\n' \
        "$(command -v gnuplot)" >"$dir/fake/gnuplot"
    chmod +x "$dir/fake/gnuplot"
    PATH=$dir/fake:$PATH run -1 --separate-stderr "$LAB_TOP/scripts/plot" --summary "$LAB_COPY/results/summary.csv" --out "$dir/plots"
    [[ "$stderr" == *"gnuplot failed on plots/io_models.gp: $dir/plots/io_models.png and .svg are left as they were"* ]]
    [ "${stderr_lines[-1]}" = "scripts/plot: 1 charts failed" ]
    [ "$(cat "$dir/plots/io_models.png")" = old ]
    for chart in io_workers cpu_speedup manager gil race; do
        is_png "$dir/plots/$chart.png"
    done
}

@test "a chart is replaced only once the new one is whole" {
    dir=$BATS_TEST_TMPDIR
    mkdir -p "$dir/plots" "$dir/fake"
    cp "$LAB_COPY"/plots/*.png "$LAB_COPY"/plots/*.svg "$dir/plots/"
    before=$(md5sum "$dir"/plots/*)
    # A gnuplot that writes half a chart, then fails.
    printf '#!/bin/sh\nfor a; do out=$a; done\necho half >"${TMPDIR:-/tmp}/half.png"\nexit 1\n' >"$dir/fake/gnuplot"
    chmod +x "$dir/fake/gnuplot"
    PATH=$dir/fake:$PATH run -1 --separate-stderr "$LAB_TOP/scripts/plot" --summary "$LAB_COPY/results/summary.csv" --out "$dir/plots"
    [[ "$stderr" == *"gnuplot failed on plots/io_models.gp"*"left as they were"* ]]
    [ "$(md5sum "$dir"/plots/*)" = "$before" ]
}

@test "--out: a device is written in place, a link out of its folder refused, the umask kept" {
    dir=$BATS_TEST_TMPDIR
    runs=$LAB_COPY/results/runs.csv
    if [ "$(id -u)" -eq 0 ]; then
        mknod "$dir/null" c 1 3
        run -0 --separate-stderr "$LAB_TOP/scripts/summarize" --runs "$runs" --out "$dir/null" --quiet
        [ -c "$dir/null" ]
    fi
    mkdir -p "$dir/results" "$dir/elsewhere"
    echo mine >"$dir/elsewhere/file.csv"
    ln -s "$dir/elsewhere/file.csv" "$dir/results/summary.csv"
    run -1 --separate-stderr "$LAB_TOP/scripts/summarize" --runs "$runs" --out "$dir/results/summary.csv" --quiet
    [[ "$stderr" == *"is a link out of its folder"* ]]
    [ "$(cat "$dir/elsewhere/file.csv")" = mine ]
    (umask 022 && "$LAB_TOP/scripts/summarize" --runs "$runs" --out "$dir/own.csv" --quiet)
    [ "$(stat -c %a "$dir/own.csv")" = 644 ]
    [ "$(stat -c %a "$dir/own.md")" = 644 ]
    # The runs file itself, a folder, or nothing: refused, the runs untouched.
    cp "$runs" "$dir/runs.csv"
    for out in "$dir/runs.csv" "$dir" ""; do
        run -2 --separate-stderr "$LAB_TOP/scripts/summarize" --runs "$dir/runs.csv" --out "$out" --quiet
    done
    cmp "$runs" "$dir/runs.csv"
    # Nor may the table beside the summary (SUMMARY.md) land on the runs.
    cp "$runs" "$dir/runs.md"
    run -2 --separate-stderr "$LAB_TOP/scripts/summarize" --runs "$dir/runs.md" --out "$dir/runs.csv" --quiet
    [ "${stderr_lines[0]}" = "scripts/summarize: --out puts its table, $dir/runs.md, over the runs file (see scripts/summarize --help)" ]
    cmp "$runs" "$dir/runs.md"
}

# A plan of one slow configuration, for the runs that overlap below.
slow_plan() {
    printf '%s\n' "repeat test 1" "test io_sync --requests $2 --url \$URL/delay?s=0.2&bytes=10" >"$1"
}

@test "two measurements into one folder: the second refuses with one line; sharing a server, neither stops it under the other" {
    dir=$BATS_TEST_TMPDIR
    export LAB_SERVER_DIR=$dir/server
    slow_plan "$dir/long" 10
    slow_plan "$dir/short" 2
    "$LAB_TOP/scripts/matrix" --plan "$dir/long" --profile test --bin "$LAB_BIN" --out "$dir/a/runs.csv" \
        >"$dir/a.out" 2>"$dir/a.err" 3>&- &
    pid=$!
    wait_until "grep -q 'runs, server' '$dir/a.err'" 20
    run -1 --separate-stderr "$LAB_TOP/scripts/matrix" --plan "$dir/short" --profile test --bin "$LAB_BIN" --out "$dir/a/runs.csv"
    [ "${#stderr_lines[@]}" -eq 1 ]
    [[ "$stderr" == *"another measurement is writing to $dir/a"* ]]
    # Another folder, the same server: this one ends first and must leave it up.
    run -0 --separate-stderr "$LAB_TOP/scripts/matrix" --plan "$dir/short" --profile test --bin "$LAB_BIN" --out "$dir/b/runs.csv"
    run -0 "$LAB_TOP/scripts/labserver" status
    wait "$pid"
    [ "$(($(wc -l <"$dir/a/runs.csv") - 1))" -eq 1 ]
    [ "$(csv_get "$dir/a/runs.csv" exit 1)" = 0 ]
    rows_are_whole "$dir/a/runs.csv"
    run -3 "$LAB_TOP/scripts/labserver" status
}

# The README's copy of a generated table: the lines between its markers.
readme_copy() {
    awk -v name="results/$2" '$0 == "<!-- end of " name " -->" { f = 0 } f; $0 == "<!-- " name " -->" { f = 1 }' "$1/README.md"
}

@test "make all puts results/summary.md into the README between its markers" {
    grep -qxF "<!-- results/summary.md -->" "$LAB_COPY/README.md"
    [ "$(readme_copy "$LAB_COPY" summary.md)" = "$(cat "$LAB_COPY/results/summary.md")" ]
    grep -q '^| io_threads | 20 x 10 ms |' "$LAB_COPY/results/summary.md"
}

@test "the README's generated tables are the committed results/*.md" {
    for md in summary.md reproduce.md bench.md; do
        grep -qxF "<!-- results/$md -->" "$LAB_TOP/README.md"
        grep -qxF "<!-- end of results/$md -->" "$LAB_TOP/README.md"
        [ -s "$LAB_TOP/results/$md" ]
        [ "$(readme_copy "$LAB_TOP" "$md")" = "$(cat "$LAB_TOP/results/$md")" ] || { echo "README's copy of $md differs" >&2; false; }
    done
}

@test "a plan's launch line runs a lesson under a launcher, with its worker count put in" {
    dir=$BATS_TEST_TMPDIR
    printf '%s\n' "repeat test 1" "launch cpu_s* env LAB_WORKERS=@workers @bin/@lesson" \
        "test cpu_sync --tasks 2 --size 1000 --workers 3" "test cpu_threads --tasks 2 --size 1000 --workers 2" >"$dir/plan"
    run -0 --separate-stderr "$LAB_TOP/scripts/matrix" --plan "$dir/plan" --profile test --bin "$LAB_BIN" --out "$dir/runs.csv"
    [ "$(csv_get "$dir/runs.csv" command 1)" = "env LAB_WORKERS=3 $LAB_BIN/cpu_sync --tasks 2 --size 1000 --workers 3" ]
    [ "$(csv_get "$dir/runs.csv" experiment 1)" = cpu_sync ]
    [ "$(csv_get "$dir/runs.csv" command 2)" = "$LAB_BIN/cpu_threads --tasks 2 --size 1000 --workers 2" ]
}
