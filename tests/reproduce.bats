#!/usr/bin/env bats
# Reproducing the articles: results/published.csv holds their numbers exactly
# as published, and `make reproduce` re-runs every one with the lessons.
#
# The make run happens once, in setup_file, with every emulated wait and CPU
# task scaled down (LATENCY_SCALE=0.05 SIZE_SCALE=0.05, one run each) and its
# output sent to this file's own folder (LAB_RESULTS_DIR, LAB_PLOTS_DIR), so
# the project's results/ and plots/ stay as they were.

# shellcheck disable=SC2154  # bats sets output and status
load helpers

PUBLISHED=$LAB_TOP/results/published.csv

# Name, time and size of the project's own reproduction files that exist.
own_reproduction() {
    local f
    for f in "$LAB_TOP"/results/reproduce.csv "$LAB_TOP"/results/reproduce.md \
             "$LAB_TOP"/results/reproduce-runs.csv "$LAB_TOP"/plots/reproduce.png \
             "$LAB_TOP"/plots/reproduce.svg; do
        [ ! -e "$f" ] || stat -c '%n %Y %s' "$f"
    done
}

setup_file() {
    export OUT="$BATS_FILE_TMPDIR/out"
    export LAB_SERVER_DIR="$BATS_FILE_TMPDIR/labserver"
    mkdir -p "$OUT"
    # The project's own reproduction, if any, must come out untouched.
    own_reproduction >"$BATS_FILE_TMPDIR/before"
    # -o build: test the programs in $LAB_BIN as they are, never rebuild them.
    local status=0
    make -s -C "$LAB_TOP" -o build reproduce BIN="$LAB_BIN" LATENCY_SCALE=0.05 \
        SIZE_SCALE=0.05 REPEAT=1 LAB_RESULTS_DIR="$OUT" LAB_PLOTS_DIR="$OUT" \
        >"$OUT/make.out" 2>"$OUT/make.err" 3>&- || status=$?
    echo "$status" >"$OUT/make.status"
}

teardown_file() {
    "$LAB_TOP/scripts/labserver" stop 3>&- || true
}

# Exactly one row of published.csv with these year, experiment, model, seconds.
published_has() {
    python3 - "$PUBLISHED" "$@" <<'PY'
import csv, sys
path, want = sys.argv[1], tuple(sys.argv[2:])
rows = [r for r in csv.DictReader(open(path, newline=""))
        if (r["year"], r["experiment"], r["model"], r["seconds"]) == want]
if len(rows) != 1:
    sys.exit("%d rows of %s" % (len(rows), want))
PY
}

# A python check over reproduce.csv (as `rows`) and published.csv (`published`).
check_tables() {
    python3 - "$OUT/reproduce.csv" "$PUBLISHED" "$1" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1], newline="")))
published = list(csv.DictReader(open(sys.argv[2], newline="")))
exec(sys.argv[3])
PY
}

@test "published.csv: the header, and the same 11 fields on every row" {
    run -0 head -n 1 "$PUBLISHED"
    [ "$output" = "source,year,url,experiment,model,workers,tasks,workload,seconds,machine,note" ]
    run -0 python3 - "$PUBLISHED" <<'PY'
import csv, sys
rows = list(csv.reader(open(sys.argv[1], newline="")))
bad = [i + 1 for i, r in enumerate(rows) if len(r) != 11]
assert not bad, "rows without 11 fields: %s" % bad
assert len(rows) > 40, len(rows)
PY
}

@test "published.csv: the original Real Python timings, exactly as published" {
    published_has 2019 io_download sync 14.289619207382202
    published_has 2019 io_download threads 3.7238826751708984
    published_has 2019 io_download async 2.5727896690368652
    published_has 2019 io_download multiprocessing 5.718175172805786
    published_has 2019 cpu_sumsq sync 7.834432125091553
    published_has 2019 cpu_sumsq threads 10.407078266143799
    published_has 2019 cpu_sumsq multiprocessing 2.5175397396087646
    published_has 2024 io_download sync 14.289619207382202
    published_has 2024 io_download threads 3.190047219999542
    published_has 2024 io_download async 0.49083488899850636
    published_has 2024 io_download multiprocessing 3.428215079999063
    published_has 2024 cpu_fib sync 35.358853937003005
    published_has 2024 cpu_fib threads 39.86391678399741
    published_has 2024 cpu_fib async 86.50057094899967
    published_has 2024 cpu_fib multiprocessing 10.020093858998735
}

@test "published.csv: a sample of the other articles' numbers" {
    published_has "" io_download sync 40.372735023498535
    published_has "" io_download threads 10.222740650177002
    published_has "" cpu_sumsq multiprocessing 5.507646322250366
    published_has 2022 io_example_org sync 3.88
    published_has 2022 io_example_org async 0.300
    published_has 2022 cpu_fib threads 24.2
    published_has 2022 cpu_fib multiprocessing 3.446
    published_has 2022 io_api_calls sync 39.480275125
    published_has 2021 io_cats sync 1.3388052999507636
    published_has 2021 io_cats async 0.725578784942627
    published_has 2021 cpu_sha256 multiprocessing 1.9086538000265136
    # Free-threaded CPython 3.13t against the default build, on CPython's tracker.
    published_has 2025 cpu_fib threads 4.098
    published_has 2025 cpu_fib threads 1.030
    run -0 grep -c 'https://github.com/python/cpython/issues/118749,cpu_fib,threads,8,8,' "$PUBLISHED"
    [ "$output" -eq 2 ]
    # The DEV article: a result, not a timing.
    run -0 grep -F '[1575, 950, 2200, 325]' "$PUBLISHED"
    [[ "$output" == *"total 5050"* ]]
}

@test "published.csv: models, years, counts and seconds are well formed" {
    run -0 python3 - "$PUBLISHED" <<'PY'
import csv, re, sys
for n, r in enumerate(csv.DictReader(open(sys.argv[1], newline="")), 2):
    assert r["model"] in ("sync", "threads", "multiprocessing", "async", "manager"), (n, r["model"])
    assert re.fullmatch(r"(19|20)\d\d|", r["year"]), (n, r["year"])
    assert re.fullmatch(r"[1-9]\d*|", r["workers"]), (n, r["workers"])
    assert re.fullmatch(r"\d+", r["tasks"]), (n, r["tasks"])
    assert r["source"] and r["experiment"] and r["workload"] and r["machine"], n
    if r["seconds"]:
        assert float(r["seconds"]) > 0, (n, r["seconds"])
    else:   # no number: the note must say what stands there instead
        assert "NOT A" in r["note"], (n, r["note"])
PY
}

@test "make reproduce (LATENCY_SCALE=0.05 SIZE_SCALE=0.05) finishes and stops its server" {
    run -0 cat "$OUT/make.status"
    [ "$output" = 0 ] || { cat "$OUT/make.err"; false; }
    for file in reproduce-runs.csv reproduce.csv reproduce.md reproduce.png reproduce.svg; do
        [ -s "$OUT/$file" ]
    done
    run -3 "$LAB_TOP/scripts/labserver" status
}

@test "reproduce.csv: a row per published timing, measured numbers or a reason" {
    check_tables '
import re
num = re.compile(r"-?\d+(\.\d+)?(e[-+]?\d+)?$")
key = lambda r: (r["year"], r["experiment"], r["published_s"])
have = {key(r) for r in rows}
for p in published:
    # The by-example post printed checkpoints on the way to its total;
    # the total is the case.
    if not p["seconds"] or (p["experiment"] == "io_api_calls" and p["tasks"] != "150"):
        continue
    assert (p["year"], p["experiment"], p["seconds"]) in have, p
for r in rows:
    assert num.match(r["published_speedup"]), r
    if r["reason"].startswith("no C counterpart"):
        assert r["measured_s"] == "" and r["runs"] == "0", r
        continue
    for field in ("measured_s", "measured_speedup", "ratio", "runs", "workers", "tasks"):
        assert num.match(r[field]), (field, r)
    assert float(r["measured_s"]) > 0 and int(r["runs"]) >= 1, r
assert len(rows) >= 35, len(rows)
'
}

@test "reproduce.csv: every row has a Python-here value or says why not, and both ratios" {
    check_tables '
import re
num = re.compile(r"-?\d+(\.\d+)?(e[-+]?\d+)?$")
cols = list(rows[0])
for c in ("python_s", "python_speedup", "python_runs", "python_ratio", "c_over_python", "python_size"):
    assert c in cols, c
unrunnable = []
for r in rows:
    if r["python_s"] == "":
        # Not run: the reason says so, and nothing is made up.
        assert "Python not run here: " in r["reason"], r
        assert r["python_speedup"] == r["python_ratio"] == r["c_over_python"] == "" and r["python_runs"] == "0", r
        unrunnable.append((r["case"], r["model"], r["variant"]))
        continue
    for field in ("python_s", "python_speedup", "python_ratio", "python_runs", "python_workers", "python_tasks"):
        assert num.match(r[field]), (field, r)
    assert float(r["python_s"]) > 0 and int(r["python_runs"]) >= 1, r
    # The same work as C: the tasks and workers of the row.
    if r["measured_s"]:
        assert (r["python_tasks"], r["python_workers"]) == (r["tasks"], r["workers"]), r
        assert abs(float(r["c_over_python"]) - float(r["measured_speedup"]) / float(r["python_speedup"])) <= 0.01 * float(r["c_over_python"]), r
    assert abs(float(r["python_ratio"]) - float(r["python_speedup"]) / float(r["published_speedup"])) <= 0.01 * float(r["python_ratio"]), r
# Exactly two rows cannot run in Python here: asyncio over CPU work and free-threaded CPython.
assert sorted(unrunnable) == [("ft2025-cpu", "threads", "free-threaded"), ("rp2024-cpu", "async", "")], unrunnable
by = {(r["case"], r["model"], r["variant"]): r for r in rows}
# Free threading is set beside C without --gil; the GIL build is the base.
ft = by["ft2025-cpu", "threads", "free-threaded"]
assert ft["published_speedup"] == "3.979" and num.match(ft["measured_speedup"]), ft
assert "free-threaded build (3.13t)" in ft["reason"], ft
base = by["ft2025-cpu", "threads", "gil"]
assert base["published_speedup"] == base["measured_speedup"] == base["python_speedup"] == "1", base
assert not any(r["case"] == "ft2025-cpu" and r["model"] == "threads-gil" for r in rows)
# Each sequential row is 1 in both languages.
for r in rows:
    if r["model"] == "sync" and r["variant"] == "":
        assert r["python_speedup"] == "1", r
# The Python twins'"'"' CPU work is scaled by SIZE_SCALE and the case'"'"'s py-size:
# sumsq 5_000_000 x 0.05 x 0.25; fib(35) x 0.05 x 0.05 loses 12 terms.
assert (by["rp2019-cpu", "sync", ""]["size"], by["rp2019-cpu", "sync", ""]["python_size"]) == ("250000", "62500")
assert (by["rp2024-cpu", "sync", ""]["size"], by["rp2024-cpu", "sync", ""]["python_size"]) == ("29", "23")
# The --gil row'"'"'s Python twin is its threads row'"'"'s own run (CPython has its GIL).
for c in ("rp2019-cpu", "talk-cpu"):
    assert by[c, "threads-gil", ""]["python_s"] == by[c, "threads", ""]["python_s"], c
'
}

@test "reproduce-runs.csv: the Python twins ran in the same interleaved rounds as C" {
    run -0 mlr --icsv --ojson filter '$tag =~ "/py$"' then count-distinct -f experiment then sort -f experiment "$OUT/reproduce-runs.csv"
    for twin in py_io_sync py_io_threads py_io_async py_io_multiprocessing py_cpu_sync py_cpu_threads py_cpu_multiprocessing; do
        [[ "$output" == *"\"$twin\""* ]]
    done
    # ...and every other tag is a C lesson's.
    run -0 mlr --icsv --onidx filter '!($tag =~ "/py$") && $experiment =~ "^py_"' then cut -f tag "$OUT/reproduce-runs.csv"
    [ -z "$output" ]
    run -0 mlr --icsv --onidx filter '!($tag =~ "/py$")' then count "$OUT/reproduce-runs.csv"
    [ "$output" -ge 30 ]
    # The Markdown table: three speedups and two ratios per row.
    run -0 grep -c '| Published speedup | Python here s | Python here speedup | C here s | C here speedup | Python here / published | C here / Python here | Why they differ |' "$OUT/reproduce.md"
    [ "$output" -eq 1 ]
    run -0 grep -c 'Python not run here: ' "$OUT/reproduce.md"
    [ "$output" -eq 2 ]
}

@test "reproduce.csv: speedups are per task, against each source's sequential run" {
    check_tables '
by = {(r["case"], r["model"], r["variant"]): r for r in rows}
assert by["rp2019-io", "threads", ""]["published_speedup"] == "3.837", by["rp2019-io", "threads", ""]
# The talk timed asyncio over 100 downloads and its loop over 1000.
assert by["talk-cats", "async", ""]["published_speedup"] == "0.1845"
assert by["talk-cats", "async", ""]["tasks"] == "100"
assert by["talk-cats", "sync", ""]["tasks"] == "1000"
assert by["sc2022-cpu", "sync", "one-task"]["published_speedup"] == "0.997"
for r in rows:
    if r["model"] == "sync" and r["variant"] == "":
        assert r["published_speedup"] == "1" and r["measured_speedup"] == "1", r
# Identical commands run once: the 2019 and 2024 sequential downloads.
assert by["rp2019-io", "sync", ""]["measured_s"] == by["rp2024-io", "sync", ""]["measured_s"]
'
}

@test "each sequential download run waited at least requests x its emulated latency" {
    check_tables '
checked = 0
for r in rows:
    if r["model"] == "sync" and r["latency_ms"]:
        wait = int(r["tasks"]) * int(r["latency_ms"]) / 1000
        assert float(r["measured_s"]) >= wait, (r["case"], r["measured_s"], wait)
        checked += 1
assert checked >= 5, checked
# 14.289619207382202 s / 160 requests = 89 ms, times 0.05
assert {r["latency_ms"] for r in rows if r["case"] == "rp2019-io"} == {"4"}
'
}

@test "the chart is a real PNG and SVG, and the Markdown table has every row" {
    run -0 od -An -c -N 4 "$OUT/reproduce.png"
    [[ "$output" == *"211   P   N   G"* ]]
    run -0 grep -c "<svg" "$OUT/reproduce.svg"
    rows=$(($(wc -l <"$OUT/reproduce.csv") - 1))
    run -0 grep -c '^| [a-z0-9]*-[a-z]* |' "$OUT/reproduce.md"
    [ "$output" -eq "$rows" ]
}

@test "the project's own results and plots are left alone" {
    [ "$(own_reproduction)" = "$(cat "$BATS_FILE_TMPDIR/before")" ]
}

@test "an extra line runs a model again with more options, if the program takes them" {
    plan=$BATS_TEST_TMPDIR/plan
    cat >"$plan" <<'PLAN'
case rp2019-cpu urls=none repeat=1
rp2019-cpu 2019 cpu_sumsq 7.834432125091553 sync  cpu_sync --workload sumsq --tasks 20 --size 5_000_000
rp2019-cpu 2019 cpu_sumsq 10.407078266143799 threads  cpu_threads --workload sumsq --tasks 20 --size 5_000_000 --workers 5
extra threads threads-one cpu_threads --workers 1
extra threads threads-new cpu_threads --no-such-option
PLAN
    SIZE_SCALE=0.01 LAB_BIN=$LAB_BIN run -0 --separate-stderr "$LAB_TOP/scripts/reproduce" \
        --plan "$plan" --results-dir "$BATS_TEST_TMPDIR" --plots-dir "$BATS_TEST_TMPDIR"
    [[ "$stderr" == *"cpu_threads does not take"*"threads-new"* ]]
    run -0 cut -d, -f1,5,8,10 "$BATS_TEST_TMPDIR/reproduce.csv"
    [ "${lines[1]}" = "rp2019-cpu,sync,1,20" ]
    [ "${lines[2]}" = "rp2019-cpu,threads,5,20" ]
    [ "${lines[3]}" = "rp2019-cpu,threads-one,1,20" ]
    [ "${#lines[@]}" -eq 4 ]
}

@test "a plan row that matches no published number is refused before any run" {
    plan=$BATS_TEST_TMPDIR/plan
    printf '%s\n' "case x urls=none" "x 2019 cpu_sumsq 7.83 sync cpu_sync --tasks 1" >"$plan"
    run -2 --separate-stderr "$LAB_TOP/scripts/reproduce" --plan "$plan" \
        --results-dir "$BATS_TEST_TMPDIR/out" --plots-dir "$BATS_TEST_TMPDIR/out"
    [[ "$stderr" == *"published.csv has 0 rows"*"7.83"* ]]
    [ ! -e "$BATS_TEST_TMPDIR/out/reproduce-runs.csv" ]
    # A plan with no row, or a case that would repeat without end.
    : >"$plan"
    run -2 --separate-stderr "$LAB_TOP/scripts/reproduce" --plan "$plan" --report-only \
        --results-dir "$BATS_TEST_TMPDIR/out" --plots-dir "$BATS_TEST_TMPDIR/out"
    [[ "$stderr" == *"plan: no row to reproduce"* ]]
    # A folder, or a pipe (read twice: empty the second time, after the runs).
    run -2 --separate-stderr "$LAB_TOP/scripts/reproduce" --plan "$BATS_TEST_TMPDIR" --report-only
    [[ "$stderr" == *"cannot read the plan $BATS_TEST_TMPDIR (a file, not a folder or a pipe)"* ]]
    printf '%s\n' "case x urls=none" "x 2019 cpu_sumsq 7.834432125091553 sync cpu_sync --tasks 1" >"$plan"
    run -2 --separate-stderr "$LAB_TOP/scripts/reproduce" --plan <(cat "$plan") \
        --results-dir "$BATS_TEST_TMPDIR/out" --plots-dir "$BATS_TEST_TMPDIR/out"
    [[ "$stderr" == *"cannot read the plan /dev/fd/"*" (a file, not a folder or a pipe)"* ]]
    [ ! -e "$BATS_TEST_TMPDIR/out/reproduce-runs.csv" ]
    printf '%s\n' "case x urls=none repeat=99999999999999999999" >"$plan"
    run -2 --separate-stderr "$LAB_TOP/scripts/reproduce" --plan "$plan" \
        --results-dir "$BATS_TEST_TMPDIR/out" --plots-dir "$BATS_TEST_TMPDIR/out"
    [[ "$stderr" == *"plan:1: unknown setting repeat=99999999999999999999"* ]]
    [ ! -e "$BATS_TEST_TMPDIR/out/reproduce-runs.csv" ]
}

# A copy of the lab's scripts, plans, charts and published.csv in COPY, so
# that published.csv (always read from the project's results/) can be changed.
lab_copy() {
    COPY=$BATS_TEST_TMPDIR/lab
    mkdir -p "$COPY/results"
    cp -a "$LAB_TOP/scripts" "$LAB_TOP/plans" "$LAB_TOP/plots" "$COPY/"
    cp -a "$PUBLISHED" "$COPY/results/"
}

# Set COLUMN to VALUE on line LINE of the copy's published.csv; a change of
# seconds is made in the copy's plan too, so that its row still matches.
published_set() {   # published_set LINE COLUMN VALUE
    python3 - "$PUBLISHED" "$COPY/results/published.csv" "$COPY/plans/reproduce.plan" "$@" <<'PY'
import csv, sys
rows = list(csv.reader(open(sys.argv[1], newline="")))
line, column, value = int(sys.argv[4]), sys.argv[5], sys.argv[6]
old = rows[line - 1][8]
rows[line - 1][rows[0].index(column)] = value
csv.writer(open(sys.argv[2], "w", newline=""), lineterminator="\n").writerows(rows)
plan = open(sys.argv[3]).read()
open(sys.argv[3], "w").write(plan.replace(f" {old} ", f" {rows[line - 1][8]} "))
PY
}

@test "a published row the plan uses with seconds or tasks that are not a number above 0 is refused, with its line" {
    lab_copy
    plan=$COPY/plans/reproduce.plan
    mkdir -p "$BATS_TEST_TMPDIR/runs"
    cp "$OUT/reproduce-runs.csv" "$BATS_TEST_TMPDIR/runs/"
    # Line 3: the 2019 threaded download, which the plan's line 46 uses.
    sed -n 3p "$PUBLISHED" | grep -q '^Real Python: Python concurrency,2019,.*,io_download,threads,'
    for bad in tasks=abc tasks=nan tasks= tasks=0x10 tasks=0 tasks=1e3 seconds=0 seconds=1.1208e-05; do
        published_set 3 "${bad%%=*}" "${bad#*=}"
        LATENCY_SCALE=0.05 SIZE_SCALE=0.05 run -2 --separate-stderr "$COPY/scripts/reproduce" --report-only \
            --results-dir "$BATS_TEST_TMPDIR/runs" --plots-dir "$BATS_TEST_TMPDIR/plots"
        [ "$stderr" = "scripts/reproduce: $COPY/results/published.csv:3: ${bad%%=*} \"${bad#*=}\" is not a number above 0 (line 46 of $plan uses the row)" ]
        # Refused before any run: no runs file is begun.
        run -2 "$COPY/scripts/reproduce" --results-dir "$BATS_TEST_TMPDIR/out" --plots-dir "$BATS_TEST_TMPDIR/plots"
        [ ! -e "$BATS_TEST_TMPDIR/out/reproduce-runs.csv" ]
        cp "$LAB_TOP/plans/reproduce.plan" "$plan"
    done
    # The sequential row, the base of the case's speedups.
    published_set 2 tasks 0
    LATENCY_SCALE=0.05 SIZE_SCALE=0.05 run -2 --separate-stderr "$COPY/scripts/reproduce" --report-only \
        --results-dir "$BATS_TEST_TMPDIR/runs" --plots-dir "$BATS_TEST_TMPDIR/plots"
    [[ "$stderr" == *"published.csv:2: tasks \"0\" is not a number above 0 (line 45 of $plan uses the row)" ]]
    # A row the plan does not use may hold anything (line 32 holds 1.1208e-05 s for 0 tasks).
    published_set 32 tasks abc
    sed -n 32p "$COPY/results/published.csv" | grep -q ',io_api_calls,sync,1,abc,.*,1.1208e-05,'
    LATENCY_SCALE=0.05 SIZE_SCALE=0.05 run -0 --separate-stderr "$COPY/scripts/reproduce" --report-only \
        --results-dir "$BATS_TEST_TMPDIR/runs" --plots-dir "$BATS_TEST_TMPDIR/plots"
    [ -s "$BATS_TEST_TMPDIR/plots/reproduce.png" ]
}

# A plan of two small cases, x and y (sumsq in C and Python, a few ms a run;
# 2 tasks in x, 3 in y), in $plan.
small_plan() {
    plan=$BATS_TEST_TMPDIR/plan
    local id tasks=1
    for id in x y; do
        tasks=$((tasks + 1))
        echo "case $id urls=none repeat=1"
        echo "$id 2019 cpu_sumsq 7.834432125091553 sync  cpu_sync --workload sumsq --tasks $tasks --size 5_000_000"
        echo "$id 2019 cpu_sumsq 10.407078266143799 threads  cpu_threads --workload sumsq --tasks $tasks --size 5_000_000 --workers 2"
    done >"$plan"
}

@test "plan lines with odd settings, ids or characters are refused with their line, before any run" {
    small_plan
    row=$(sed -n 2p "$plan")
    threads=$(sed -n 3p "$plan")
    bad_plan() {   # bad_plan MESSAGE LINE...: the plan of the LINEs is refused with MESSAGE
        printf '%s\n' "${@:2}" >"$plan"
        SIZE_SCALE=0.01 run -2 --separate-stderr "$LAB_TOP/scripts/reproduce" --plan "$plan" \
            --results-dir "$BATS_TEST_TMPDIR/out" --plots-dir "$BATS_TEST_TMPDIR/out"
        [ "$stderr" = "scripts/reproduce: $plan:$1" ] || { echo "got: $stderr" >&2; return 1; }
        [ ! -e "$BATS_TEST_TMPDIR/out/reproduce-runs.csv" ]
    }
    # A py-size that makes an infinite size.
    huge=$(printf '9%.0s' {1..400})
    bad_plan "1: unknown setting py-size=$huge" "case x urls=none py-size=$huge" "$row"
    bad_plan "1: unknown setting py-size=1234567" "case x urls=none py-size=1234567" "$row"
    # A case given twice would lose its rows' base; a / in an id would split its tags.
    bad_plan "3: case x is given twice" "case x urls=none" "$row" "case x urls=none"
    bad_plan "1: case id x/y is not a plain name (letters, digits, _ . -)" "case x/y urls=none" "x/y ${row#x }"
    # Two jobs under one tag would mix their runs: the same row twice, or
    # an extra line whose new model a row of the case has already.
    bad_plan "3: the tag x/sync again (line 2 has it)" "case x urls=none" "$row" "$row"
    bad_plan "4: the tag x/sync again (line 3 has it)" "case x urls=none" "$threads" "extra threads sync cpu_threads --gil" "$row"
    # The job list parts its words with \x1f; a NUL cannot go through bash.
    bad_plan "1: a control character in the line" $'case x\x1fy urls=none' "$row"
    bad_plan "2: a control character in the line" "case x urls=none" "$row"$'\x01'
    printf 'case x urls=none\n%s\0 2\n' "$row" >"$BATS_TEST_TMPDIR/nul.plan"
    run -2 --separate-stderr "$LAB_TOP/scripts/reproduce" --plan "$BATS_TEST_TMPDIR/nul.plan" \
        --results-dir "$BATS_TEST_TMPDIR/out" --plots-dir "$BATS_TEST_TMPDIR/out"
    [ "$stderr" = "scripts/reproduce: $BATS_TEST_TMPDIR/nul.plan:2: a control character in the line" ]
    # A plan with CRLF line ends is read as with LF.
    small_plan
    sed -i 's/$/\r/' "$plan"
    SIZE_SCALE=0.01 LAB_BIN=$LAB_BIN run -0 --separate-stderr "$LAB_TOP/scripts/reproduce" --plan "$plan" \
        --results-dir "$BATS_TEST_TMPDIR/crlf" --plots-dir "$BATS_TEST_TMPDIR/crlf"
    run -0 cut -d, -f1,5,10,16,21 "$BATS_TEST_TMPDIR/crlf/reproduce.csv"
    [ "${lines[*]:1}" = "x,sync,2,1,1 x,threads,2,1,1 y,sync,3,1,1 y,threads,3,1,1" ]
}

@test "a run that fails before its record says so in the tables (exit 1), and a size that is no number goes as it is" {
    small_plan
    # sync: a typo in its size (the letter O); threads: a worker count the lesson refuses.
    sed -i '2s/5_000_000$/5_000_00O/; 3s/--workers 2$/--workers 0/' "$plan"
    SIZE_SCALE=0.01 LAB_BIN=$LAB_BIN run -1 --separate-stderr "$LAB_TOP/scripts/reproduce" --plan "$plan" \
        --results-dir "$BATS_TEST_TMPDIR/out" --plots-dir "$BATS_TEST_TMPDIR/out"
    [[ "$stderr" != *"give the LATENCY_SCALE"* ]]
    [[ "$stderr" == *"cpu_sync: --size: '5_000_00O'"* ]]
    run -0 grep -c -- '--size 5_000_00O,' "$BATS_TEST_TMPDIR/out/reproduce-runs.csv"
    [ "$output" -eq 2 ]
    run -0 cut -d, -f1,5,13,29 "$BATS_TEST_TMPDIR/out/reproduce.csv"
    failed="C not measured: its runs failed (see reproduce-runs.csv); Python not measured: its runs failed (see reproduce-runs.csv)"
    [ "${lines[1]}" = "x,sync,,$failed" ]
    [ "${lines[2]}" = "x,threads,,$failed" ]
    [[ "${lines[3]}" =~ ^y,sync,[0-9.]+, ]]
    [ -s "$BATS_TEST_TMPDIR/out/reproduce.md" ] && [ -s "$BATS_TEST_TMPDIR/out/reproduce.png" ]
}

@test "a lesson that is missing: the other jobs run, its rows say so, exit 1" {
    small_plan
    mkdir -p "$BATS_TEST_TMPDIR/bin"
    ln -s "$LAB_BIN"/* "$BATS_TEST_TMPDIR/bin/"
    rm "$BATS_TEST_TMPDIR/bin/cpu_threads"
    SIZE_SCALE=0.01 LAB_BIN=$BATS_TEST_TMPDIR/bin run -1 --separate-stderr "$LAB_TOP/scripts/reproduce" \
        --plan "$plan" --results-dir "$BATS_TEST_TMPDIR/out" --plots-dir "$BATS_TEST_TMPDIR/out"
    [[ "$stderr" == *"bin/cpu_threads is missing (make build): x/threads not measured"* ]]
    run -0 cut -d, -f1,5,16,21 "$BATS_TEST_TMPDIR/out/reproduce.csv"
    [ "${lines[*]:1}" = "x,sync,1,1 x,threads,0,1 y,sync,1,1 y,threads,0,1" ]
}

@test "--only: an empty case is refused; a runs file behind a BOM, or with a row not in UTF-8, keeps its other runs" {
    small_plan
    dir=$BATS_TEST_TMPDIR/out
    SIZE_SCALE=0.01 LAB_BIN=$LAB_BIN run -0 "$LAB_TOP/scripts/reproduce" --plan "$plan" --results-dir "$dir" --plots-dir "$dir"
    cp "$dir/reproduce-runs.csv" "$BATS_TEST_TMPDIR/runs.csv"
    # --only '' once ran every case again and added the runs to those there.
    SIZE_SCALE=0.01 run -2 "$LAB_TOP/scripts/reproduce" --plan "$plan" --only '' --results-dir "$dir" --plots-dir "$dir"
    cmp "$dir/reproduce-runs.csv" "$BATS_TEST_TMPDIR/runs.csv"
    { printf '\357\273\277'; cat "$BATS_TEST_TMPDIR/runs.csv"; } >"$dir/reproduce-runs.csv"
    SIZE_SCALE=0.01 LAB_BIN=$LAB_BIN run -0 --separate-stderr "$LAB_TOP/scripts/reproduce" --plan "$plan" --only x \
        --results-dir "$dir" --plots-dir "$dir"
    [ "$(wc -l <"$dir/reproduce-runs.csv")" -eq 9 ]
    [ "$(grep -c ',y/' "$dir/reproduce-runs.csv")" -eq 4 ]
    rows_are_whole "$dir/reproduce-runs.csv"
    # A row with a byte that is not UTF-8 is said with its line and left
    # out, as a torn row is; the other case's runs stay.
    { cat "$BATS_TEST_TMPDIR/runs.csv"; printf 'x\377\n'; } >"$dir/reproduce-runs.csv"
    SIZE_SCALE=0.01 LAB_BIN=$LAB_BIN run -0 --separate-stderr "$LAB_TOP/scripts/reproduce" --plan "$plan" --only x \
        --results-dir "$dir" --plots-dir "$dir"
    [[ "$stderr" == "scripts/reproduce: $dir/reproduce-runs.csv:10: bytes that are not UTF-8: row left out"$'\n'* ]]
    [ "$(wc -l <"$dir/reproduce-runs.csv")" -eq 9 ]
    [ "$(grep -c ',y/' "$dir/reproduce-runs.csv")" -eq 4 ]
    rows_are_whole "$dir/reproduce-runs.csv"
}

@test "a results folder given by a relative path, or with a quote in its name, and a TMPDIR with a quote: the chart is made" {
    mkdir -p "$BATS_TEST_TMPDIR/it's"
    cp "$OUT/reproduce-runs.csv" "$BATS_TEST_TMPDIR/it's/"
    cd "$BATS_TEST_TMPDIR"
    LATENCY_SCALE=0.05 SIZE_SCALE=0.05 run -0 "$LAB_TOP/scripts/reproduce" --report-only --results-dir "it's" \
        --plots-dir "it's"
    [ -s "it's/reproduce.png" ] && [ -s "it's/reproduce.svg" ]
    # gnuplot writes the chart into the script's temporary folder first: a
    # quote in TMPDIR must not end its string either.
    rm "it's/reproduce.png" "it's/reproduce.svg"
    TMPDIR="$BATS_TEST_TMPDIR/it's" LATENCY_SCALE=0.05 SIZE_SCALE=0.05 run -0 "$LAB_TOP/scripts/reproduce" \
        --report-only --results-dir "it's" --plots-dir "it's"
    [ -s "it's/reproduce.png" ] && [ -s "it's/reproduce.svg" ]
}

@test "a plan of one row, measured in both languages, gets its chart" {
    # No row lacks a language: every "no Py" and "no C" label was NaN, and
    # gnuplot 5.4 crashed on a label plot without one point.
    small_plan
    sed -i '3,$d' "$plan"
    dir=$BATS_TEST_TMPDIR/out
    SIZE_SCALE=0.01 LAB_BIN=$LAB_BIN run -0 "$LAB_TOP/scripts/reproduce" --plan "$plan" --results-dir "$dir" --plots-dir "$dir"
    run -0 cut -d, -f1,5,16,21 "$dir/reproduce.csv"
    [ "${lines[*]:1}" = "x,sync,1,1" ]
    [ "$(head -c 8 "$dir/reproduce.png" | od -An -tx1 | tr -d ' ')" = 89504e470d0a1a0a ]
    grep -q '</svg>' "$dir/reproduce.svg"
}

@test "a corrupted runs file: each bad row reported with its line and left out, the tables still made" {
    dir=$BATS_TEST_TMPDIR/corrupt
    mkdir -p "$dir"
    # Line 3's seconds become text; a torn last row with no newline.
    python3 - "$OUT/reproduce-runs.csv" "$dir/reproduce-runs.csv" <<'PY'
import csv, sys
rows = list(csv.reader(open(sys.argv[1], newline="")))
rows[2][rows[0].index("seconds")] = "abc"
with open(sys.argv[2], "w", newline="") as f:
    csv.writer(f, lineterminator="\n").writerows(rows)
    f.write(",".join(rows[1])[:50])
PY
    count=$(wc -l <"$dir/reproduce-runs.csv")
    LATENCY_SCALE=0.05 SIZE_SCALE=0.05 run -0 --separate-stderr "$LAB_TOP/scripts/reproduce" --report-only \
        --results-dir "$dir" --plots-dir "$dir"
    [[ "$stderr" == *"reproduce-runs.csv:3: seconds \"abc\" is not a number: row left out"* ]]
    [[ "$stderr" == *"reproduce-runs.csv:$((count + 1)): a short row (torn, or a column missing): row left out"* ]]
    [ "$(grep -c 'row left out' <<<"$stderr")" -eq 2 ]
    [ "$(wc -l <"$dir/reproduce.csv")" -eq "$(wc -l <"$OUT/reproduce.csv")" ]
    [ -s "$dir/reproduce.png" ]
}

@test "bad usage exits 2" {
    run -2 "$LAB_TOP/scripts/reproduce" --no-such-option
    LATENCY_SCALE=fast run -2 "$LAB_TOP/scripts/reproduce"
    SIZE_SCALE=0 run -2 "$LAB_TOP/scripts/reproduce"
    SIZE_SCALE=0.0000001 run -2 "$LAB_TOP/scripts/reproduce"
    LATENCY_SCALE=10000000 run -2 "$LAB_TOP/scripts/reproduce"
    REPEAT=0 run -2 "$LAB_TOP/scripts/reproduce"
}

@test "--only re-runs one case, replacing its runs, and reports the others from the runs already made" {
    before=$(wc -l <"$OUT/reproduce-runs.csv")
    others=$(grep -vc ',talk-cpu/' "$OUT/reproduce-runs.csv")
    LATENCY_SCALE=0.05 SIZE_SCALE=0.05 REPEAT=1 LAB_BIN=$LAB_BIN run -0 "$LAB_TOP/scripts/reproduce" \
        --only talk-cpu --results-dir "$OUT" --plots-dir "$OUT"
    # talk-cpu: sync, threads, threads under the GIL, multiprocessing in C and
    # the three Python twins (their --gil row shares the threads run), replaced.
    [ "$(wc -l <"$OUT/reproduce-runs.csv")" -eq "$before" ]
    run -0 grep -c ',talk-cpu/' "$OUT/reproduce-runs.csv"
    [ "$output" -eq 7 ]
    [ "$(grep -vc ',talk-cpu/' "$OUT/reproduce-runs.csv")" -eq "$others" ]
    check_tables 'assert len(rows) >= 35 and all(r["runs"] == "1" or r["measured_s"] == "" for r in rows), rows'
    # A torn row among the old runs is named and left out; the rest stay.
    dir=$BATS_TEST_TMPDIR/torn
    mkdir -p "$dir"
    cp "$OUT/reproduce-runs.csv" "$dir/"
    torn=$(($(wc -l <"$dir/reproduce-runs.csv") + 1))
    tail -n 1 "$OUT/reproduce-runs.csv" | head -c 60 >>"$dir/reproduce-runs.csv"
    LATENCY_SCALE=0.05 SIZE_SCALE=0.05 REPEAT=1 LAB_BIN=$LAB_BIN run -0 --separate-stderr \
        "$LAB_TOP/scripts/reproduce" --only talk-cpu --results-dir "$dir" --plots-dir "$dir"
    [[ "$stderr" == *"reproduce-runs.csv:$torn: a short row (torn, or a column missing): row left out"* ]]
    [ "$(wc -l <"$dir/reproduce-runs.csv")" -eq "$before" ]
    rows_are_whole "$dir/reproduce-runs.csv"
    [ "$(grep -vc ',talk-cpu/' "$dir/reproduce-runs.csv")" -eq "$others" ]
    [ -s "$dir/reproduce.md" ] && [ -s "$dir/reproduce.png" ]
    # Reporting the same runs under other settings is refused.
    SIZE_SCALE=0.5 run -1 --separate-stderr "$LAB_TOP/scripts/reproduce" --report-only \
        --results-dir "$OUT" --plots-dir "$OUT"
    [[ "$stderr" == *"give the LATENCY_SCALE and SIZE_SCALE of the run"* ]]
}
