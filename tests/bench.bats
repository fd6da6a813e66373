#!/usr/bin/env bats
# make bench: runs every measurement, writes a row with numbers and a verdict
# for each, draws the chart, and its reference programs compute what the
# lessons compute. Behaviour only: the speeds themselves are the bench's
# business, not the suite's (this machine is shared and busy).

load helpers

# One quick round of the whole bench, into folders of this file's own; the
# tests below read what it left.
setup_file() {
    export BENCH_TOOLS_DIR="$LAB_TOP/build/bench"
    make -s -C "$LAB_TOP" bench-tools >/dev/null 3>&-
    export BENCH_OUT="$BATS_FILE_TMPDIR/out"
    export LAB_SERVER_DIR="$BATS_FILE_TMPDIR/labserver"
    local status=0
    LAB_RESULTS_DIR="$BENCH_OUT/results" LAB_PLOTS_DIR="$BENCH_OUT/plots" \
        LAB_BENCH_TOOLS="$BENCH_TOOLS_DIR" BENCH_QUICK=1 BENCH_REPEAT=1 \
        "$LAB_TOP/scripts/bench" >"$BENCH_OUT.stdout" 2>"$BENCH_OUT.stderr" 3>&- </dev/null || status=$?
    echo "$status" >"$BENCH_OUT.status"
}

# Column $1 (by header name) of every data row of bench.csv, one a line.
column() { csv_column "$BENCH_OUT/results/bench.csv" "$1"; }

@test "a quick bench run succeeds and stops the server it started" {
    [ "$(cat "$BENCH_OUT.status")" = 0 ] || { cat "$BENCH_OUT.stderr"; false; }
    run -3 "$LAB_TOP/scripts/labserver" status
    [ -s "$BENCH_OUT/results/bench-runs.csv" ]
}

@test "bench.csv has one row per measurement, each with numbers and a verdict" {
    rows=$(($(wc -l <"$BENCH_OUT/results/bench.csv") - 1))
    # Every row of plans/bench-targets.csv: I/O 8, scale 6, CPU 10 + 3,
    # MPI hand-outs 3, manager 5, memory 10, start-up 5, tracing 4.
    [ "$rows" -eq 54 ]
    [ "$rows" -eq $(($(wc -l <"$LAB_TOP/plans/bench-targets.csv") - 1)) ]
    run -0 column verdict
    [ "$(grep -cvxE 'pass|miss|info|skip' <<<"$output")" -eq 0 ]
    # bench.md, the README's copy of the table, has every row too.
    [ "$(grep -c '^| ' "$BENCH_OUT/results/bench.md")" -eq $((rows + 2)) ]
    # Every row but a skipped one has a numeric value, min <= value <= max
    # (a median of the rounds, or a ratio of best rounds, which lies between
    # the rounds' own ratios). min and max are rounded, and a value that
    # rounds to its target keeps more digits (0.97996 in 0.980 .. 0.980):
    # half a last digit of slack.
    run -0 column estimate
    [ "$(grep -cvxE 'median|best' <<<"$output")" -eq 0 ]
    [ "$(grep -cx best <<<"$output")" -eq 12 ]
    paste -d, <(column value) <(column min) <(column max) <(column verdict) |
        while IFS=, read -r median min max verdict; do
            [ "$verdict" != skip ] || continue
            [[ "$median" =~ ^-?[0-9]+(\.[0-9]+)?$ ]] || { echo "median '$median'"; false; }
            awk -v a="$min" -v b="$median" -v c="$max" '
                function slack(x) { return index(x, ".") ? 0.5 / 10 ^ (length(x) - index(x, ".")) : 0.5 }
                BEGIN { exit !(a - slack(a) <= b && b <= c + slack(c)) }'
        done
    # A target row has a target and a direction; an information row has neither.
    paste <(column target) <(column better) <(column verdict) |
        while IFS=$'\t' read -r target better verdict; do
            case "$verdict" in
                pass|miss) [[ "$target" =~ ^[0-9.]+$ && "$better" =~ ^(\>=|\<=)$ ]] ;;
                info) [ -z "$target" ] ;;
            esac
        done
}

@test "bench.csv names the machine on every row" {
    run -0 column cpus
    [ "$(sort -u <<<"$output")" = "$(getconf _NPROCESSORS_ONLN)" ]
    run -0 column libcurl
    [ "$(sort -u <<<"$output")" = "$(pkg-config --modversion libcurl)" ]
    run -0 column kernel
    [ "$(sort -u <<<"$output")" = "$(uname -sr)" ]
    grep -q "^Machine: .* CPUs, .*libcurl .*OpenSSL" "$BENCH_OUT.stdout"
}

@test "the table prints every measurement with its verdict, and the chart is a real PNG" {
    for name in "io_sync 8 requests" "io_async steady state" "cpu_threads sha256" \
        "sum_chunks_manager --spin 50, tuned" "scripts/run around cpu_sync"; do
        grep -qF "$name" "$BENCH_OUT.stdout"
    done
    grep -qE '^[0-9]+ of [0-9]+ targets met' "$BENCH_OUT.stdout"
    [ "$(head -c 8 "$BENCH_OUT/plots/bench.png" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ]
    grep -q "<svg" "$BENCH_OUT/plots/bench.svg"
}

@test "the tracing rows: traced against untraced seconds, or skipped with the reason" {
    paste -d'|' <(column measurement) <(column lesson) <(column verdict) <(column note) <(column target) |
        grep -E '^(threads|processes|event loop|GIL): ' >"$BATS_TEST_TMPDIR/trace"
    [ "$(wc -l <"$BATS_TEST_TMPDIR/trace")" -eq 4 ]
    while IFS='|' read -r name lesson verdict note target; do
        [ "$target" = 1.05 ]
        if "$LAB_BIN/$lesson" --help | grep -q -- '--trace'; then
            [[ "$verdict" =~ ^(pass|miss)$ ]] || { echo "$name: $verdict $note" >&2; false; }
        else
            [ "$verdict" = skip ]
            [[ "$note" == *"skipped: $lesson does not take --trace yet" ]]
        fi
    done <"$BATS_TEST_TMPDIR/trace"
}

@test "the bare sha256 loop computes the chain that cpu_sync computes" {
    for rounds in 1 1000; do
        run -0 "$BENCH_TOOLS_DIR/sha256_loop" "$rounds"
        loop=$(record result)
        run -0 "$LAB_BIN/cpu_sync" --workload sha256 --tasks 1 --size "$rounds"
        [ "$(record result)" = "$loop" ]
    done
    # One SHA-256 of 32 zero bytes.
    run -0 "$BENCH_TOOLS_DIR/sha256_loop" 1 0
    [ "$(record result)" = 66687aadf862bd776c8fc18b8e9f8e20089714856ee233b3902a591d0d5f2925 ]
    run -2 "$BENCH_TOOLS_DIR/sha256_loop" 12x
}

@test "the floors and the cores' own rows are measured, not left blank" {
    run -0 column measurement
    for name in "the cores' own: two cpu_sync sumsq at once" \
        "the floor: libcurl loaded and started, nothing else" \
        "the floor: only loading and starting libcurl" \
        "sum_chunks_manager, the default: sleeps at once"; do
        grep -qxF "$name" <<<"$output" || { echo "no row '$name'" >&2; false; }
    done
    # Two copies of cpu_sync at once, against one alone: a ratio near 1 on
    # two free cores, near 0.5 on one, lower on a host busy with other work
    # (these sizes take milliseconds); one for each of the three workloads.
    paste <(column measurement) <(column value) | awk -F'\t' '
        $1 ~ /^the cores. own/ { n++; print; if (!($2 > 0.1 && $2 < 2)) bad++ }
        END { exit !(n == 3 && !bad) }'
}

# The row named $1 of bench.csv, as "column|column|..." for columns $2...
bench_row() {
    local name=$1
    shift
    mlr --icsv --onidx --ofs '|' filter -s name="$name" '$measurement == @name' then cut -o -f "$(IFS=,; echo "$*")" \
        "$BENCH_OUT/results/bench.csv"
}
# The field NAME of the run tagged TAG in bench-runs.csv.
run_field() {
    mlr --icsv --onidx filter -s tag="$1" '$tag == @tag' then cut -f "$2" "$BENCH_OUT/results/bench-runs.csv"
}

@test "the manager's target row runs the tuned manager (--spin 50), the sleeping default beside it" {
    IFS='|' read -r args target verdict <<<"$(bench_row "sum_chunks_manager --spin 50, tuned: polls, then sleeps" args target verdict)"
    [[ "$args" == *"--spin 50"* ]]
    [ "$target" = 3 ]
    [[ "$verdict" =~ ^(pass|miss)$ ]]
    [[ "$(run_field manager command)" == *"sum_chunks_manager --chunks 2 --ops 2000 --spin 50" ]]
    [ "$(run_field manager exit)" = 0 ]
    # The default sleeps at once: no --spin on its command line.
    [[ "$(run_field manager_sleep command)" == *"sum_chunks_manager --chunks 2 --ops 500" ]]
    IFS='|' read -r value verdict <<<"$(bench_row "sum_chunks_manager, the default: sleeps at once" value verdict)"
    [ "$verdict" = info ]
    # What the tuning gains: the tuned sets per second over the default's.
    IFS='|' read -r gain verdict <<<"$(bench_row "what a tuned manager gains: --spin 50 / the default" value verdict)"
    [ "$verdict" = info ]
    tuned=$(run_field manager ops_per_s)
    default=$(run_field manager_sleep ops_per_s)
    awk -v g="$gain" -v t="$tuned" -v d="$default" 'BEGIN { exit !(d > 0 && g > 0 && (g - t / d) ^ 2 < 0.001 * (t / d) ^ 2) }'
}

@test "cpu_mpi: efficiency on the worker ranks against two cpu_sync at once, run through scripts/mpirun" {
    command -v mpirun >/dev/null || skip "mpirun is not installed"
    cpus=$(getconf _NPROCESSORS_ONLN)
    IFS='|' read -r value target estimate limit verdict <<<"$(bench_row "cpu_mpi sumsq, $cpus worker ranks (mpirun -np $cpus+1)" value target estimate limit verdict)"
    [ "$target" = 0.95 ]
    [ "$estimate" = best ]
    [[ "$verdict" =~ ^(pass|miss)$ ]]
    [[ "$value" =~ ^[0-9.]+$ ]]
    # The limit is the cores' own, from the same round's two cpu_sync at once.
    [ "$limit" = "$(bench_row "the cores' own: two cpu_sync sumsq at once" value)" ]
    # The launch line: mpirun with the workers + 1 ranks; TCP for cpu_mpi+tcp.
    [[ "$(run_field cpu_mpi_sumsq command)" == "$LAB_TOP/scripts/mpirun -np $((cpus + 1)) $LAB_BIN/cpu_mpi --workload sumsq "* ]]
    [ "$(run_field cpu_mpi_sumsq model)" = mpi-shm ]
    [[ "$(run_field mpi_handout_tcp command)" == "$LAB_TOP/scripts/mpirun --tcp -np 2 $LAB_BIN/cpu_mpi --workload sha256 "* ]]
    [ "$(run_field mpi_handout_tcp model)" = mpi-tcp ]
}

@test "cpu_mpi: a task hand-out over shared memory and over TCP, in microseconds, from the records" {
    command -v mpirun >/dev/null || skip "mpirun is not installed"
    declare -A us=()
    for path in shm:"cpu_mpi over shared memory (one host's default)" tcp:"cpu_mpi+tcp over TCP, as between hosts"; do
        IFS='|' read -r value unit detail verdict <<<"$(bench_row "${path#*:}" value unit detail verdict)"
        [ "$verdict" = info ]
        [ "$unit" = µs ]
        # The value is the record's roundtrip_us (one round: its median).
        record=$(run_field "mpi_handout_${path%%:*}" extra | sed -n 's/.*roundtrip_us=\([0-9.]*\).*/\1/p')
        [ -n "$record" ]
        awk -v v="$value" -v r="$record" 'BEGIN { exit !(v > 0 && (v - r) ^ 2 < 0.0001 * r * r) }'
        # With one worker every task waits for its hand-out: the time per
        # task (seconds / tasks) is not far under the round trip.
        awk -v d="$detail" -v v="$value" 'BEGIN { exit !(d > 0 && d >= v * 0.5) }'
        us[${path%%:*}]=$value
    done
    # TCP through the loopback costs more per round trip than shared memory.
    awk -v s="${us[shm]}" -v t="${us[tcp]}" 'BEGIN { exit !(t > s) }'
}

@test "libcurl_load starts libcurl and reports its version" {
    run -0 "$BENCH_TOOLS_DIR/libcurl_load"
    [ "$(record experiment)" = libcurl_load ]
    [ "$(record version)" = "$(pkg-config --modversion libcurl)" ]
    [[ "$(record seconds)" =~ ^[0-9]+\.[0-9]+$ ]]
}

@test "spawn_loop times a command and stops at the first failure" {
    run -0 "$BENCH_TOOLS_DIR/spawn_loop" 3 true
    [ "$(record runs)" = 3 ]
    [[ "$(record ms_per_run)" =~ ^[0-9]+\.[0-9]+$ ]]
    run -1 "$BENCH_TOOLS_DIR/spawn_loop" 3 false
    run -2 "$BENCH_TOOLS_DIR/spawn_loop" 0 true
}

@test "raw_burst sends a burst at once and counts what is not a 200 as an error" {
    export LAB_SERVER_DIR="$BATS_TEST_TMPDIR/labserver"
    base=$("$LAB_TOP/scripts/labserver" start 3>&-)
    run -0 "$BENCH_TOOLS_DIR/raw_burst" "$base/delay?s=0.2&bytes=17" 50
    [ "$(record errors)" = 0 ]
    # All at once: one latency, not fifty (3x slack for a busy machine).
    awk -v s="$(record seconds)" 'BEGIN { exit !(s >= 0.2 && s < 0.6) }'
    run -1 "$BENCH_TOOLS_DIR/raw_burst" "$base/status/503" 3
    [ "$(record errors)" = 3 ]
    run -2 "$BENCH_TOOLS_DIR/raw_burst" "http://localhost:1/" 1
}

teardown() {
    [ ! -d "$BATS_TEST_TMPDIR/labserver" ] ||
        LAB_SERVER_DIR="$BATS_TEST_TMPDIR/labserver" "$LAB_TOP/scripts/labserver" stop 3>&-
}

@test "the Python manager reference prints its sets per second" {
    command -v python3 >/dev/null || skip "python3 is not installed"
    run -0 python3 "$LAB_TOP/bench/python_manager.py" 2 50
    [ "$(record chunks)" = 2 ]
    [ "$(record failed)" = 0 ]
    [[ "$(record ops_per_s)" =~ ^[0-9]+$ ]]
    run -2 python3 "$LAB_TOP/bench/python_manager.py" 0
}

@test "a bad target is refused before any run, with its line; nothing in it runs" {
    targets=$BATS_TEST_TMPDIR/targets.csv
    python3 - "$LAB_TOP/plans/bench-targets.csv" "$targets" "$BATS_TEST_TMPDIR/ran" <<'PY'
import csv, sys
rows = list(csv.reader(open(sys.argv[1], newline="")))
value, target = rows[0].index("value"), rows[0].index("target")
rows[3][value] = f'system("touch {sys.argv[3]}")'
rows[5][value] = "$s_io_sync_small ** 2"
rows[7][target] = "abc"
rows[9][value] = "$s_io_sync_smal / 2"
rows[11][rows[0].index("estimate")] = "worst"
rows[12][rows[0].index("better")] = "=>"
rows[13][rows[0].index("measurement")] = "two\nlines"
csv.writer(open(sys.argv[2], "w", newline="")).writerows(rows)
PY
    run -2 --separate-stderr "$LAB_TOP/scripts/bench" --targets "$targets" \
        --results-dir "$BATS_TEST_TMPDIR/out" --plots-dir "$BATS_TEST_TMPDIR/out"
    [[ "$stderr" == *"targets.csv:4: value is not an expression"* ]]
    [[ "$stderr" == *"targets.csv:6: value is not an expression"* ]]
    [[ "$stderr" == *"targets.csv:8: target \"abc\" is not a number"* ]]
    [[ "$stderr" == *"targets.csv:10: value names \$s_io_sync_smal, which no run of the plan makes"* ]]
    [[ "$stderr" == *"targets.csv:12: estimate \"worst\" is not median or best: row left out"* ]]
    [[ "$stderr" == *"targets.csv:13: better \"=>\" is not >= or <=: row left out"* ]]
    [[ "$stderr" == *"targets.csv:14: measurement holds a tab, a line break or another control character: row left out"* ]]
    [ "$(wc -l <<<"$stderr")" -eq 7 ]
    [ ! -e "$BATS_TEST_TMPDIR/ran" ]
    [ ! -e "$BATS_TEST_TMPDIR/out/bench-runs.csv" ]
    run -2 "$LAB_TOP/scripts/bench" --targets "$BATS_TEST_TMPDIR/none.csv"
}

@test "a target whose run was skipped says skip and why, for an \$e_ name too; one whose run failed, error" {
    work=$BATS_TEST_TMPDIR/work
    mkdir -p "$work"
    printf '%s\n' mpi_handout_shm io_sync_small >"$work/ids"
    printf 'mpi_handout_shm\tits launcher is not installed\n' >"$work/skipped.tsv"
    : >"$work/sizes.tsv"
    echo round,name,value >"$work/samples.csv"
    {
        head -n 1 "$LAB_TOP/plans/bench-targets.csv"
        echo 'MPI,a hand-out,cpu_mpi,,us,$e_mpi_handout_shm_roundtrip_us,100,<=,us,,,,median'
        echo 'I/O,io_sync,io_sync,,s,$s_io_sync_small,1,<=,s,,,,median'
    } >"$work/targets.csv"
    run -0 --separate-stderr python3 "$LAB_TOP/scripts/report/bench.py" "$work" "$work/targets.csv"
    # The same file behind a byte-order mark passes the check too; without a target it does not.
    { printf '\357\273\277'; cat "$work/targets.csv"; } >"$work/bom.csv"
    run -0 --separate-stderr python3 "$LAB_TOP/scripts/report/bench.py" "$work" "$work/bom.csv"
    head -n 1 "$work/targets.csv" >"$work/none.csv"
    run -2 --separate-stderr python3 "$LAB_TOP/scripts/report/bench.py" "$work" "$work/none.csv"
    [[ "$stderr" == *"none.csv has no target" ]]
    run -0 --separate-stderr python3 "$LAB_TOP/scripts/report/bench.py" "$work" "$work/targets.csv" \
        "$work/no-runs.csv" 1 0.00 0.00
    [ "$(csv_column "$work/bench.csv" verdict | paste -sd,)" = skip,error ]
    [ "$(csv_column "$work/bench.csv" note | head -n 1)" = "mpi_handout_shm skipped: its launcher is not installed" ]
}

@test "bad usage exits 2 before running anything" {
    run -2 "$LAB_TOP/scripts/bench" --repeat 0
    run -2 env BENCH_QUICK=yes "$LAB_TOP/scripts/bench"
    run -2 "$LAB_TOP/scripts/bench" --bogus
    run -0 "$LAB_TOP/scripts/bench" --list
    [[ "$output" == *"io_async_steady io_async"* ]]
    BENCH_QUICK=1 run -0 "$LAB_TOP/scripts/bench" --list
    [[ "$output" == *"io_sync_small io_sync --url \$URL --requests 8"$'\n'* ]]
}

@test "a bench.plan line the bench cannot take is refused with the line, before any run; a CRLF plan reads as LF" {
    # A copy of the scripts and plans: plans/bench.plan is always the project's.
    copy=$BATS_TEST_TMPDIR/lab
    mkdir -p "$copy"
    cp -a "$LAB_TOP/scripts" "$LAB_TOP/plans" "$copy/"
    plan=$copy/plans/bench.plan
    bad_line() {   # bad_line LINE MESSAGE: the plan with LINE added is refused with MESSAGE
        { cat "$LAB_TOP/plans/bench.plan"; echo "$1"; } >"$plan"
        run -2 --separate-stderr "$copy/scripts/bench" --list
        [ "$stderr" = "scripts/bench: $plan: '$1': $2" ] || { echo "got: $stderr" >&2; return 1; }
    }
    size="wants size NAME QUICK FULL: a name (a-z, _) and two numbers"
    # Each was a bash error, a sed error, or an empty {size} put in without a word.
    bad_line "size" "$size"
    bad_line "size foo" "$size"
    bad_line "size lat_ms 5" "$size"
    bad_line "size a/b 1 2" "$size"
    bad_line "size foo 1/2 3&4" "$size"
    bad_line "size foo 1 2 3" "$size"
    bad_line "launch" "wants launch GLOB WORDS..."
    bad_line "launch io_sync" "wants launch GLOB WORDS..."
    bad_line "zz :pair" "wants ID PROGRAM ARG... (:pair LESSON ARG...)"
    bad_line "zz" "wants ID PROGRAM ARG... (:pair LESSON ARG...)"
    bad_line "io_sync_small io_sync --requests 1" "a run's ID wants a-z, 0-9 and _, and to be given once"
    bad_line $'z\x1fz io_sync' "a run's ID wants a-z, 0-9 and _, and to be given once"
    grep -v '^size lat_ms ' "$LAB_TOP/plans/bench.plan" >"$plan"
    run -2 --separate-stderr "$copy/scripts/bench" --list
    [ "$stderr" = "scripts/bench: $plan has no size lat_ms" ]
    sed 's/$/\r/' "$LAB_TOP/plans/bench.plan" >"$plan"
    run -0 "$copy/scripts/bench" --list
    [ "$output" = "$("$LAB_TOP/scripts/bench" --list)" ]
}

@test "a targets file that is a folder, or has a row not in UTF-8 or with a NUL, is refused with one line; an inf or NaN value is shown, not charted" {
    run -2 --separate-stderr "$LAB_TOP/scripts/bench" --targets "$BATS_TEST_TMPDIR"
    [ "$stderr" = "scripts/bench: cannot read $BATS_TEST_TMPDIR: [Errno 21] Is a directory: '$BATS_TEST_TMPDIR'" ]
    targets=$BATS_TEST_TMPDIR/targets.csv
    { cat "$LAB_TOP/plans/bench-targets.csv"; printf 'S,m\377,l,a,x,$s_io_sync_small,1,>=,r,,,,median\n'; } >"$targets"
    run -2 --separate-stderr "$LAB_TOP/scripts/bench" --targets "$targets"
    [ "$stderr" = "scripts/bench: $targets:56: bytes that are not UTF-8: row left out" ]
    # A NUL in a measurement stopped gnuplot after every round.
    { cat "$LAB_TOP/plans/bench-targets.csv"; printf 'S,m\0,l,a,x,$s_io_sync_small,1,>=,r,,,,median\n'; } >"$targets"
    run -2 --separate-stderr "$LAB_TOP/scripts/bench" --targets "$targets"
    [ "$stderr" = "scripts/bench: $targets:56: measurement holds a tab, a line break or another control character: row left out" ]
    # ceil() of a number near the float limit, times another: once an int no float holds.
    work=$BATS_TEST_TMPDIR/work
    mkdir -p "$work"
    echo io_sync_small >"$work/ids"
    : >"$work/skipped.tsv"
    : >"$work/sizes.tsv"
    echo round,name,value >"$work/samples.csv"
    printf '%s\n' tag,repeat,exit,errors,seconds,max_rss_kb,ops_per_s,extra io_sync_small,1,0,0,2,100,, >"$work/runs.csv"
    {
        head -n 1 "$LAB_TOP/plans/bench-targets.csv"
        echo 'S,huge,l,a,x,ceil(1e154 * $s_io_sync_small) * ceil(1e154 * $s_io_sync_small),1,>=,r,,,,median'
        echo 'S,nan,l,a,x,$s_io_sync_small * 1e300 * 1e300 - $s_io_sync_small * 1e300 * 1e300,1,>=,r,,,,median'
        echo 'S,plain,l,a,x,$s_io_sync_small,1,>=,r,,,$s_io_sync_small,median'
    } >"$targets"
    run -0 python3 "$LAB_TOP/scripts/report/bench.py" "$work" "$targets"
    run -0 --separate-stderr python3 "$LAB_TOP/scripts/report/bench.py" "$work" "$targets" "$work/runs.csv" 1 0.00 0.00
    [ "$(csv_column "$work/bench.csv" value | paste -sd,)" = inf,nan,2.000 ]
    [ "$(csv_column "$work/bench.csv" verdict | paste -sd,)" = pass,miss,pass ]
    # The chart leaves the infinity and the NaN out (an inf stretched its axis to 1e301, hiding every bar).
    run -0 cut -f 2-4 "$work/chart.dat"
    [ "${lines[*]}" = $'NaN\tNaN\tNaN \t\t \t\t 2\t2\t2' ]
    (cd "$LAB_TOP/plots" && gnuplot -e "data='$work/chart.dat'; machine='m'; fmt='png'; out='$work/bench'" bench.gp)
    [ -s "$work/bench.png" ]
}

@test "the chart is drawn when no target has a limit, and when no score is a number" {
    # gnuplot's stats over a column without one number leave no STATS_min:
    # bench.gp read it anyway and failed, so a targets file without limits
    # (or with every value infinite) got no chart after all its rounds.
    head=$'S\tNaN\tNaN\tNaN\thead\t\tNaN'
    printf '%s\n' "$head" $'a\t1.2\t1.1\t1.3\tpass\t1.2 (>= 1)\tNaN' $'b\t0.8\t0.7\t0.9\tmiss\t0.8 (>= 1)\tNaN' \
        >"$BATS_TEST_TMPDIR/no-limit.dat"
    printf '%s\n' "$head" $'a\t\t\t\tpass\tinf (>= 1)\tNaN' >"$BATS_TEST_TMPDIR/no-score.dat"
    for data in no-limit no-score; do
        (cd "$LAB_TOP/plots" &&
            gnuplot -e "data='$BATS_TEST_TMPDIR/$data.dat'; machine='m'; fmt='png'; out='$BATS_TEST_TMPDIR/$data'" bench.gp)
        [ "$(head -c 8 "$BATS_TEST_TMPDIR/$data.png" | od -An -tx1 | tr -d ' ')" = 89504e470d0a1a0a ]
    done
}
