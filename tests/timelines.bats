#!/usr/bin/env bats
# The timeline charts: scripts/timelines runs the traced lessons of
# plans/timelines.plan and draws them; scripts/trace2gantt reads a trace
# strictly and refuses anything trace.c would not write; a hostile name never
# reaches gnuplot as code; a failed draw leaves the previous chart whole.

load helpers

# The charts of the plan: io cpu gil convoy manager, and those of newer lessons.
CHARTS=$(awk '$1 == "chart" { print $2 }' "$LAB_TOP/plans/timelines.plan")
T2G="$LAB_TOP/scripts/trace2gantt"

is_png() {
    [ "$(od -An -tx1 -N8 "$1" | tr -d ' \n')" = 89504e470d0a1a0a ]
}

# Width and height of a PNG, from its IHDR chunk.
png_size() {
    od -An -tu1 -j16 -N8 "$1" |
        awk '{ print $1 * 16777216 + $2 * 65536 + $3 * 256 + $4 "x" $5 * 16777216 + $6 * 65536 + $7 * 256 + $8 }'
}

is_svg() {
    head -c 200 "$1" | grep -q '<svg' && [ "$(tail -c 20 "$1" | tr -d '\n' | tail -c 6)" = '</svg>' ]
}

# A real PNG of at least 600x150 and 5 kB, and a whole SVG beside it.
real_chart() {
    local base=$1 size w h
    is_png "$base.png" || { echo "$base.png is not a PNG" >&2; return 1; }
    size=$(png_size "$base.png")
    w=${size%x*}
    h=${size#*x}
    if [ "$w" -lt 600 ] || [ "$h" -lt 150 ]; then echo "$base.png is $size" >&2; return 1; fi
    [ "$(stat -c %s "$base.png")" -ge 5000 ] || { echo "$base.png is tiny" >&2; return 1; }
    is_svg "$base.svg" || { echo "$base.svg is not a whole SVG" >&2; return 1; }
}

# Write a one-lane trace whose pieces the caller chooses: make_trace FILE
# LANE_NAME_JSON TS_JSON [EXTRA_EVENT_JSON]
make_trace() {
    cat >"$1" <<JSON
{"traceEvents":[
{"name":"process_name","ph":"M","pid":7,"tid":0,"args":{"name":"io_sync"}},
{"name":"thread_name","ph":"M","pid":7,"tid":1,"args":{"name":$2}},
{"name":"request 0","cat":"request","ph":"X","ts":$3,"dur":50000,"pid":7,"tid":1,"args":{"request":0,"bytes":17,"ok":true}}${4:+,
$4}
],"displayTimeUnit":"ms"}
JSON
}

# The converter on a trace: must fail with exit 2 and exactly one line.
refused() {
    run -2 "$T2G" "$1" "$BATS_TEST_TMPDIR"
    [ "${#lines[@]}" -eq 1 ] || { echo "want one line, got: $output" >&2; return 1; }
    [[ "${lines[0]}" == "trace2gantt: $1: "* ]] || { echo "unexpected: $output" >&2; return 1; }
}

@test "scripts/timelines runs the plan: real PNG and SVG charts, valid JSON traces, the server stopped" {
    export LAB_SERVER_DIR="$BATS_FILE_TMPDIR/server"
    out=$BATS_FILE_TMPDIR/plots
    traces=$BATS_FILE_TMPDIR/traces
    started=$SECONDS
    run "$LAB_TOP/scripts/timelines" --bin "$LAB_BIN" --traces "$traces" --out "$out"
    echo "$output"
    [ "$status" -eq 0 ]
    # The plan's runs are small: `make all plots` draws these too.
    [ $((SECONDS - started)) -lt 60 ]
    [[ "$(tr '\n' ' ' <<<"$CHARTS")" == "io cpu gil convoy manager "* ]]
    for chart in $CHARTS; do
        real_chart "$out/timeline_$chart"
    done
    # No temporary file left beside the charts or the traces.
    [ -z "$(find "$out" "$traces" -name '.timeline_*' -o -name '*.json.*')" ]
    # Every run of the plan left a trace: JSON with events, which the
    # strict reader takes whole.
    n=0
    for trace in "$traces"/*.json; do
        /usr/bin/python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); assert isinstance(d["traceEvents"], list) and d["traceEvents"]' "$trace"
        "$T2G" "$trace" "$BATS_TEST_TMPDIR"
        [ "$(sed -n 's/^spans=//p' "$BATS_TEST_TMPDIR/meta.txt")" -gt 0 ]
        n=$((n + 1))
    done
    [ "$n" -eq "$(grep -c '^run ' "$LAB_TOP/plans/timelines.plan")" ]
    # The lab server it started is stopped again.
    run "$LAB_TOP/scripts/labserver" status
    [ "$status" -eq 3 ]
}

@test "the GIL chart's numbers come from the trace: a row and a line of numbers per thread, only the window drawn" {
    traces=$BATS_FILE_TMPDIR/traces
    [ -s "$traces/gil_2.json" ] || skip "needs the first test's traces"
    for n in 2 4; do
        dir=$BATS_TEST_TMPDIR/$n
        mkdir -p "$dir"
        # 50 ms from the first wait for the lock: on a loaded machine the
        # second thread may start late, so the plan's fixed 20-70 could
        # hold no wait at all.
        from=$(/usr/bin/python3 -c 'import json, sys
events = json.load(open(sys.argv[1]))["traceEvents"]
print(int(min(e["ts"] for e in events if e.get("cat") == "gil-wait") // 1000))' "$traces/gil_$n.json")
        to=$((from + 50))
        "$T2G" --stats --from "$from" --to "$to" "$traces/gil_$n.json" "$dir"
        [ "$(wc -l <"$dir/lanes.dat")" -eq "$n" ]
        [ "$(wc -l <"$dir/stats.dat")" -eq "$n" ]
        # Everything drawn lies inside the window.
        awk -F'\t' -v from="$from" -v to="$to" '$2 < from || $3 > to { bad = 1 } END { exit bad }' "$dir/events.dat"
        [ "$(sed -n 's/^n_gil=//p' "$dir/meta.txt")" -gt 0 ]
        [ "$(sed -n 's/^n_gil_wait=//p' "$dir/meta.txt")" -gt 0 ]
        grep -Eq '^1	held [0-9]+%  waited [0-9]+%  took over [0-9]+x  badness [0-9]+/[1-9][0-9]* = [0-9.]+$' "$dir/stats.dat"
    done
}

@test "the fixtures draw: real PNG and SVG from hand-written traces, lanes named as the trace names them" {
    out=$BATS_TEST_TMPDIR/plots
    run "$LAB_TOP/scripts/timelines" --draw-only --plan "$LAB_TOP/tests/data/timelines.plan" \
        --traces "$LAB_TOP/tests/data" --out "$out"
    echo "$output"
    [ "$status" -eq 0 ]
    real_chart "$out/timeline_io"
    real_chart "$out/timeline_gil"
    grep -q '>thread 2<' "$out/timeline_io.svg"
    grep -q '>child 1<' "$out/timeline_io.svg"
    # The fixture's GIL: 6 holds each, every one after a failed wake-up.
    grep -q 'badness 6/6 = 1.00' "$out/timeline_gil.svg"
}

@test "trace2gantt: the fixtures' tables, exactly" {
    run "$T2G" "$LAB_TOP/tests/data/trace_threads.json" "$BATS_TEST_TMPDIR"
    [ "$status" -eq 0 ]
    [ "$(cat "$BATS_TEST_TMPDIR/lanes.dat")" = "$(printf '1\tthread 1\n2\tthread 2')" ]
    [ "$(wc -l <"$BATS_TEST_TMPDIR/events.dat")" -eq 6 ]
    [ "$(head -n1 "$BATS_TEST_TMPDIR/events.dat")" = "$(printf '1\t1.0000\t51.2000\t1\t0.38')" ]
    grep -qx 'last_ms=152.200' "$BATS_TEST_TMPDIR/meta.txt"
    # A window keeps what overlaps it, cut at its edges.
    run "$T2G" --from 60 --to 70 "$LAB_TOP/tests/data/trace_threads.json" "$BATS_TEST_TMPDIR"
    [ "$status" -eq 0 ]
    [ "$(cat "$BATS_TEST_TMPDIR/events.dat")" = "$(printf '1\t60.0000\t70.0000\t1\t0.38\n2\t60.0000\t70.0000\t1\t0.38')" ]
}

@test "trace2gantt refuses a crafted trace with one line and exit 2" {
    t=$BATS_TEST_TMPDIR/bad.json
    make_trace "$t" '"thread \"1"' 1000;               refused "$t"
    # shellcheck disable=SC2016  # a backquote and a dollar, literally
    make_trace "$t" '"thread `id`"' 1000;              refused "$t"
    make_trace "$t" '"thread\n1"' 1000;                refused "$t"
    # shellcheck disable=SC2016  # a backquote and a dollar, literally
    make_trace "$t" '"thread $(id)"' 1000;             refused "$t"
    make_trace "$t" '"thread 1"' '"1000"';             refused "$t"
    make_trace "$t" '"thread 1"' 'true';               refused "$t"
    make_trace "$t" '"thread 1"' 'NaN';                refused "$t"
    make_trace "$t" '"thread 1"' '1e400';              refused "$t"
    make_trace "$t" '"thread 1"' '-5';                 refused "$t"
    # (A whole number of 5000 digits was a traceback: Python reads 4300 at most.)
    make_trace "$t" '"thread 1"' "1$(printf '0%.0s' {1..5000})"; refused "$t"
    make_trace "$t" '"thread 1"' '1000, "ts": 2000';   refused "$t"
    make_trace "$t" '"thread 1"' '1000, "cmd": "x"';   refused "$t"
    make_trace "$t" '"thread 1"' 1000 '{"name":"gil","cat":"gil\"x","ph":"X","ts":1,"dur":1,"pid":7,"tid":1}'
    refused "$t"
    make_trace "$t" '"thread 1"' 1000 '{"name":"gil","cat":"gil","ph":"X","ts":1,"dur":"1","pid":7,"tid":1}'
    refused "$t"
    make_trace "$t" '"thread 1"' 1000 '{"name":"gil","cat":"gil","ph":"X","ts":1,"dur":1,"pid":7.5,"tid":1}'
    refused "$t"
    make_trace "$t" '"thread 1"' 1000 '{"name":"gil","cat":"gil","ph":"B","ts":1,"pid":7,"tid":1}'
    refused "$t"
    printf '{"traceEvents":[' >"$t";                   refused "$t"
    printf '[1, 2]' >"$t";                             refused "$t"
    printf '\377\376' >"$t";                           refused "$t"
    # The good one, for contrast.
    make_trace "$t" '"thread 1"' 1000
    run "$T2G" "$t" "$BATS_TEST_TMPDIR"
    [ "$status" -eq 0 ]
}

@test "trace2gantt on 100 mangled traces: exit 0 or 2 with one line, never a crash" {
    /usr/bin/python3 - "$T2G" "$LAB_TOP/tests/data/trace_gil.json" "$BATS_TEST_TMPDIR" <<'PY'
import os, random, subprocess, sys
reader, source, tmp = sys.argv[1:]
good = open(source, "rb").read()
random.seed(12)
path = os.path.join(tmp, "mangled.json")
for i in range(100):
    b = bytearray(good)
    for _ in range(random.randint(1, 5)):
        at = random.randrange(len(b))
        pick = random.random()
        if pick < 0.4:
            b[at] = random.choice(b'"\\{}[],:0123456789-.eE\n\x00\xff tnfa`$\'')
        elif pick < 0.7:
            del b[at:at + random.randint(1, 20)]
        else:
            b[at:at] = b[random.randrange(len(b)):][:random.randint(1, 30)]
    open(path, "wb").write(b)
    r = subprocess.run([reader, "--stats", path, tmp], capture_output=True)
    if r.returncode not in (0, 2) or b"Traceback" in r.stderr or \
            (r.returncode == 2 and r.stderr.count(b"\n") != 1):
        sys.exit("mangled trace %d: exit %d: %r" % (i, r.returncode, r.stderr[-300:]))
PY
}

@test "trace2gantt on 200,000 lock spans over 2,000 threads, and on 100,000 processes: seconds, not minutes" {
    # (The statistics summed every span once per lane: about a minute here.)
    /usr/bin/python3 -c 'import json, sys
events = [{"name": "gil", "cat": "gil", "ph": "X", "ts": i * 10, "dur": 5, "pid": 7, "tid": 1 + i % 2000}
          for i in range(200000)]
json.dump({"traceEvents": events}, open(sys.argv[1], "w"))' "$BATS_TEST_TMPDIR/long.json"
    run -0 timeout 20 "$T2G" --stats "$BATS_TEST_TMPDIR/long.json" "$BATS_TEST_TMPDIR"
    [ "$(wc -l <"$BATS_TEST_TMPDIR/stats.dat")" -eq 2000 ]
    [ "$(head -n1 "$BATS_TEST_TMPDIR/stats.dat")" = "$(printf '1\theld 0%%  waited 0%%  took over 99x  badness 0/100 = 0.00')" ]
    # (The lanes of each process were looked up among all lanes: minutes.)
    /usr/bin/python3 -c 'import json, sys
events = [{"name": "r", "cat": "request", "ph": "X", "ts": i, "dur": 1, "pid": 1 + i, "tid": 1} for i in range(100000)]
json.dump({"traceEvents": events}, open(sys.argv[1], "w"))' "$BATS_TEST_TMPDIR/pids.json"
    run -0 timeout 20 "$T2G" "$BATS_TEST_TMPDIR/pids.json" "$BATS_TEST_TMPDIR"
    [ "$(wc -l <"$BATS_TEST_TMPDIR/lanes.dat")" -eq 100000 ]
    [ "$(sed -n 2p "$BATS_TEST_TMPDIR/lanes.dat")" = "$(printf '2\tpid 2')" ]
}

@test "a hostile name never reaches gnuplot as code: refused, or drawn as plain text" {
    data=$BATS_TEST_TMPDIR/data
    out=$BATS_TEST_TMPDIR/plots
    mkdir -p "$data" "$out"
    cd "$BATS_TEST_TMPDIR"
    canary=$BATS_TEST_TMPDIR/CANARY
    cat >"$data/plan" <<PLAN
run    hostile  io_sync
run    plain    io_sync
chart  a  A chart
panel  a  hostile  all  hostile
chart  b  B chart
panel  b  plain  all  plain
PLAN
    # Quotes to break out of a gnuplot string: refused before gnuplot runs.
    make_trace "$data/hostile.json" "\"x'; system('touch $canary'); print '\"" 1000
    # No quotes, but gnuplot words: shown as a label, not run.
    make_trace "$data/plain.json" '"exit gnuplot(1)"' 1000
    run "$LAB_TOP/scripts/timelines" --draw-only --plan "$data/plan" --traces "$data" --out "$out"
    echo "$output"
    [ "$status" -eq 1 ]
    [ ! -e "$canary" ]
    [ ! -e "$out/timeline_a.png" ]
    [[ "$output" == *"hostile.json cannot be drawn"* ]]
    real_chart "$out/timeline_b"
    grep -q '>exit gnuplot(1)<' "$out/timeline_b.svg"
    # The plan's own text is held to the same rule.
    printf 'run x io_sync\nchart a A title with a quote\x27 in it\n' >"$data/plan"
    run -2 "$LAB_TOP/scripts/timelines" --draw-only --plan "$data/plan" --traces "$data" --out "$out"
    [[ "$output" == *"not plain text"* ]]
}

@test "a failed draw leaves the previous chart intact and no temporary file" {
    out=$BATS_TEST_TMPDIR/plots
    args=(--draw-only --plan "$LAB_TOP/tests/data/timelines.plan" --traces "$LAB_TOP/tests/data" --out "$out")
    "$LAB_TOP/scripts/timelines" "${args[@]}"
    before=$(md5sum "$out"/timeline_io.png "$out"/timeline_io.svg "$out"/timeline_gil.png)
    # A gnuplot that writes half a chart, then dies.
    mkdir -p "$BATS_TEST_TMPDIR/fake"
    cat >"$BATS_TEST_TMPDIR/fake/gnuplot" <<'SH'
#!/bin/sh
for word in "$@"; do
    out=$(printf '%s' "$word" | sed -n "s/.* out='\([^']*\)'.*/\1/p")
    [ -z "$out" ] || printf '\211PNG\r\n\032\ntruncated' >"$out.png"
done
echo "gnuplot: killed half-way" >&2
exit 1
SH
    chmod +x "$BATS_TEST_TMPDIR/fake/gnuplot"
    PATH="$BATS_TEST_TMPDIR/fake:$PATH" run "$LAB_TOP/scripts/timelines" "${args[@]}"
    echo "$output"
    [ "$status" -eq 1 ]
    [[ "$output" == *"gnuplot failed on plots/timeline.gp: $out/timeline_io.png and .svg are left as they were"* ]]
    [ "$(md5sum "$out"/timeline_io.png "$out"/timeline_io.svg "$out"/timeline_gil.png)" = "$before" ]
    [ -z "$(find "$out" -name '.timeline_*')" ]
}

@test "a chart of 1500 lanes is refused in one line, its old file kept, the next chart drawn" {
    dir=$BATS_TEST_TMPDIR
    mkdir -p "$dir/plots"
    echo old >"$dir/plots/timeline_wide.png"
    # (A PNG past 32767 pixels tall: cairo refused it in words of its own.)
    /usr/bin/python3 -c 'import json, sys
events = [{"name": "r", "cat": "request", "ph": "X", "ts": t, "dur": 1, "pid": 7, "tid": t} for t in range(1, 1501)]
json.dump({"traceEvents": events}, open(sys.argv[1], "w"))' "$dir/wide.json"
    make_trace "$dir/narrow.json" '"thread 1"' 1000
    printf '%s\n' "run wide io_sync" "run narrow io_sync" "chart wide W" "panel wide wide all w" \
        "chart narrow N" "panel narrow narrow all n" >"$dir/plan"
    run -1 --separate-stderr "$LAB_TOP/scripts/timelines" --draw-only --plan "$dir/plan" --traces "$dir" --out "$dir/plots"
    [ "${stderr_lines[0]}" = "scripts/timelines: chart wide: 1500 lanes, more than a chart can hold (1000): $dir/plots/timeline_wide.png left as it was" ]
    [ "$(cat "$dir/plots/timeline_wide.png")" = old ]
    real_chart "$dir/plots/timeline_narrow"
}

@test "scripts/timelines: bad usage and a bad plan exit 2 with a message" {
    run -2 "$LAB_TOP/scripts/timelines" --bogus
    [[ "${lines[0]}" == "scripts/timelines: unknown argument '--bogus' (see scripts/timelines --help)" ]]
    printf 'panel io x all t\n' >"$BATS_TEST_TMPDIR/plan"
    run -2 "$LAB_TOP/scripts/timelines" --plan "$BATS_TEST_TMPDIR/plan" --draw-only
    [[ "$output" == *"before its chart line"* ]]
    printf 'run x io_sync\nchart io T\npanel io x 5-x t\n' >"$BATS_TEST_TMPDIR/plan"
    run -2 "$LAB_TOP/scripts/timelines" --plan "$BATS_TEST_TMPDIR/plan" --draw-only
    [[ "$output" == *"neither all, FROM-TO nor busiest"* ]]
    # Refused at their line, before any run: a window that trace2gantt would
    # refuse after the runs, and a lesson that is not a program of --bin.
    for line in "panel io x 70-20 t" "panel io x 5-5 t" "panel io x busiest:0 t"; do
        printf 'run x io_sync\nchart io T\n%s\n' "$line" >"$BATS_TEST_TMPDIR/plan"
        run -2 "$LAB_TOP/scripts/timelines" --plan "$BATS_TEST_TMPDIR/plan" --draw-only
        [[ "$output" == "scripts/timelines: $BATS_TEST_TMPDIR/plan:3: window '"* ]]
    done
    printf 'run x ../scripts/labserver stop\nchart io T\n' >"$BATS_TEST_TMPDIR/plan"
    run -2 "$LAB_TOP/scripts/timelines" --plan "$BATS_TEST_TMPDIR/plan" --draw-only
    [ "$output" = "scripts/timelines: $BATS_TEST_TMPDIR/plan:1: '../scripts/labserver' is not a lesson name" ]
    run -2 "$T2G" --from 5 "$LAB_TOP/tests/data/trace_gil.json" "$BATS_TEST_TMPDIR"
    [ "${#lines[@]}" -eq 1 ]
}

@test "make timelines runs scripts/timelines after the build; make all plots draws them after the matrix" {
    cd "$LAB_TOP"
    run -0 make -n --no-print-directory timelines LAB_NO_DEPS=1
    [[ "${lines[-1]}" == "scripts/timelines --bin $LAB_TOP/bin" ]]
    run -0 make -n --no-print-directory all plots LAB_NO_DEPS=1
    order=$(printf '%s\n' "${lines[@]}" | grep -nE '^scripts/(matrix|timelines|plot)( |$)' | cut -d: -f2 | cut -d' ' -f1)
    [ "$order" = "$(printf 'scripts/matrix\nscripts/timelines\nscripts/plot')" ]
    # make plots alone still runs nothing.
    run -0 make -n plots LAB_NO_DEPS=1
    [[ "$output" != *scripts/timelines* ]]
}
