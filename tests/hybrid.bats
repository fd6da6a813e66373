#!/usr/bin/env bats
# io_hybrid against the lab server's /letters: the letter and its count
# computed here from the same strings, every file whole, nothing partial
# after a signal, bad --out refused before any work.

# shellcheck disable=SC2154   # bats sets status, output, lines, stderr...
load helpers

setup_file() { lab_server_start; }
teardown_file() { lab_server_stop; }

# The /letters answers for numbers 0 .. $1-1, one a line, as scripts/labserver
# makes them: x = n + 1, then 100 times x = x * 16807 mod (2^31 - 1) and the
# letter 'a' + x mod 26.
letters_for() {
    /usr/bin/python3 -c '
import sys
for n in range(int(sys.argv[1])):
    x, s = n + 1, ""
    for _ in range(100):
        x = x * 16807 % 2147483647
        s += chr(97 + x % 26)
    print(s)' "$1"
}

hybrid_exits() {
    local want=$1
    shift
    run --separate-stderr "$LAB_BIN/io_hybrid" "$@"
    [ "$status" = "$want" ] || { echo "want exit $want, got $status; stderr: $stderr" >&2; return 1; }
    record_has_keys experiment requests workers seconds bytes errors "done" iterations processes threads letter count
    [ "$(record experiment)" = io_hybrid ]
}

expect() {
    [ "$(record "$1")" = "$2" ] || { echo "want $1=$2, got ${lines[-1]}" >&2; return 1; }
}

# Fail unless file $1 is iteration $2's whole file: $3 requests, each line
# "request N <its letters>" in order, then the counts of those letters.
whole_file() {
    local file=$1 i=$2 r=$3
    [ -f "$file" ] || { echo "missing: $file" >&2; return 1; }
    /usr/bin/python3 - "$file" "$i" "$r" "$BATS_TEST_TMPDIR/letters" <<'PY'
import collections, sys
path, i, r, table = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
want = open(table).read().split("\n")
lines = open(path).read().split("\n")
assert lines[-1] == "", "no final newline: " + path
assert len(lines) == r + 2, (path, len(lines))
counts = collections.Counter()
for k in range(r):
    n = i * r + k
    assert lines[k] == "request %d %s" % (n, want[n]), (path, lines[k])
    counts.update(want[n])
expect = "letters " + " ".join("%s=%d" % (c, counts[c]) for c in "abcdefghijklmnopqrstuvwxyz")
assert lines[r] == expect, (path, lines[r], expect)
PY
}

@test "the most common letter and its count are those of the strings the server sends" {
    letters_for 4096 >"$BATS_TEST_TMPDIR/letters"
    out="$BATS_TEST_TMPDIR/out"
    hybrid_exits 0 --url "$LAB_BASE/letters?n={n}" --iterations 4 --processes 2 --threads 5 \
        --requests 25 --out "$out"
    want=$(head -100 "$BATS_TEST_TMPDIR/letters" | fold -w1 | sort | uniq -c |
           sort -k1,1nr -k2,2 | head -1)
    expect letter "$(awk '{ print $2 }' <<<"$want")"
    expect count "$(awk '{ print $1 }' <<<"$want")"
    expect bytes 10000
    expect "done" 100
    expect requests 100
    expect errors 0
    expect iterations 4
    expect processes 2
    expect threads 5
    expect workers 5
    [[ "${lines[0]}" == "The most common letter over 4 iterations: '$(record letter)', $(record count) times" ]]
    for i in 0 1 2 3; do whole_file "$out/iteration-$i.txt" "$i" 25; done
    [ "$(ls -A "$out" | wc -l)" = 4 ]     # nothing else: no temporary file
}

@test "the defaults: 5 iterations of 30 requests, 2 processes, 5 threads, results/io_hybrid" {
    letters_for 4096 >"$BATS_TEST_TMPDIR/letters"
    cd "$BATS_TEST_TMPDIR"
    hybrid_exits 0 --url "$LAB_BASE/letters?n={n}"
    expect "done" 150
    expect iterations 5
    expect processes 2
    expect threads 5
    for i in 0 1 2 3 4; do whole_file results/io_hybrid/iteration-$i.txt "$i" 30; done
}

@test "one process or ten, one thread or thirty: the same letter and count" {
    letters_for 4096 >"$BATS_TEST_TMPDIR/letters"
    hybrid_exits 0 --url "$LAB_BASE/letters?n={n}" --iterations 6 --processes 1 --threads 1 \
        --requests 10 --out "$BATS_TEST_TMPDIR/a"
    first="$(record letter) $(record count)"
    hybrid_exits 0 --url "$LAB_BASE/letters?n={n}" --iterations 6 --processes 10 --workers 30 \
        --requests 10 --out "$BATS_TEST_TMPDIR/b"
    [ "$(record letter) $(record count)" = "$first" ]
    expect processes 6              # no more processes than iterations ...
    expect threads 10               # ... nor threads than requests
    diff -r "$BATS_TEST_TMPDIR/a" "$BATS_TEST_TMPDIR/b"
}

@test "a URL of 3 kB, its {n} at the end: the same answers (a 2 kB buffer cut it, and every request was a 404)" {
    letters_for 4096 >"$BATS_TEST_TMPDIR/letters"
    pad=$(printf 'p%.0s' {1..3000})
    hybrid_exits 0 --url "$LAB_BASE/letters?pad=$pad&n={n}" --iterations 2 --processes 2 --threads 2 \
        --requests 5 --out "$BATS_TEST_TMPDIR/long"
    expect errors 0
    expect bytes 1000
    for i in 0 1; do whole_file "$BATS_TEST_TMPDIR/long/iteration-$i.txt" "$i" 5; done
}

@test "failed requests are counted, exit 1, and their files still whole" {
    out="$BATS_TEST_TMPDIR/out"
    hybrid_exits 1 --url "$LAB_BASE/letters?n={n}" --url "$LAB_BASE/status/404" --iterations 2 \
        --requests 6 --out "$out"
    expect errors 6
    expect bytes 600
    expect "done" 12
    [ "$(grep -c '^request [0-9]* -$' "$out/iteration-0.txt")" = 3 ]
}

@test "SIGINT mid-run: exit 130, every file left is whole, none partial, no child left" {
    out="$BATS_TEST_TMPDIR/out"
    "$LAB_BIN/io_hybrid" --url "$LAB_BASE/delay?s=0.2&bytes=5" --iterations 20 --processes 2 \
        --threads 2 --requests 4 --out "$out" >"$BATS_TEST_TMPDIR/stdout" 2>/dev/null 3>&- &
    pid=$!
    wait_until "[ \$(descendants $pid | wc -l) -ge 2 ]" 10
    sleep 0.7
    kids=$(descendants "$pid")
    kill -INT "$pid"
    status=0
    wait "$pid" || status=$?
    [ "$status" = 130 ]
    # shellcheck disable=SC2086
    all_gone $kids
    output=$(cat "$BATS_TEST_TMPDIR/stdout")
    [ "$(record "done")" -lt 80 ]
    files=$(ls -A "$out")
    [ -n "$files" ]
    for f in $files; do
        [[ "$f" =~ ^iteration-[0-9]+\.txt$ ]] || { echo "left behind: $f" >&2; false; }
        [ "$(grep -c '^request [0-9]* xxxxx$' "$out/$f")" = 4 ]
        [ "$(tail -1 "$out/$f" | grep -o 'x=[0-9]*')" = x=20 ]
    done
}

@test "SIGTERM to one child alone: the parent says it died, exit 1 (it exited 0, an iteration it had begun lost unseen)" {
    out="$BATS_TEST_TMPDIR/out"
    "$LAB_BIN/io_hybrid" --url "$LAB_BASE/delay?s=0.2&bytes=5" --iterations 6 --processes 2 \
        --threads 2 --requests 4 --out "$out" >"$BATS_TEST_TMPDIR/stdout" 2>"$BATS_TEST_TMPDIR/stderr" 3>&- &
    pid=$!
    wait_until "[ \$(pgrep -P $pid | wc -l) -ge 2 ]" 10
    sleep 0.3
    kids=$(pgrep -P "$pid")
    victim=$(head -n 1 <<<"$kids")
    kill -TERM "$victim"
    status=0
    wait "$pid" || status=$?
    [ "$status" = 1 ]
    grep -q "^io_hybrid: child [01] (pid $victim) died: Terminated$" "$BATS_TEST_TMPDIR/stderr"
    # shellcheck disable=SC2086
    all_gone $kids
    output=$(cat "$BATS_TEST_TMPDIR/stdout")
    record_has_keys "done" errors       # the record is still printed
}

@test "bad --out: refused before any work, exit 2, one line, nothing made" {
    touch "$BATS_TEST_TMPDIR/a-file"
    for bad in "$BATS_TEST_TMPDIR/a-file" "$BATS_TEST_TMPDIR/a-file/below" "" "/proc/no/such"; do
        run -2 --separate-stderr "$LAB_BIN/io_hybrid" --url "$LAB_BASE/letters?n={n}" --out "$bad"
        [ "${#stderr_lines[@]}" = 1 ] && [ -z "$output" ] || { echo "'$bad': '$stderr' '$output'" >&2; false; }
    done
    for bad in "--iterations 0" "--processes 0" "--threads 0" "--threads 513" "--out" "--workers 0"; do
        # shellcheck disable=SC2086   # split the option from its value
        run -2 --separate-stderr "$LAB_BIN/io_hybrid" --url "$LAB_BASE/letters?n={n}" \
            --out "$BATS_TEST_TMPDIR/unused" $bad
        [ "${#stderr_lines[@]}" = 1 ] && [ -z "$output" ] || { echo "$bad: '$stderr' '$output'" >&2; false; }
    done
    [ ! -e "$BATS_TEST_TMPDIR/unused/iteration-0.txt" ]
}

@test "--trace: every request a span in its child's process, on a thread lane" {
    trace="$BATS_TEST_TMPDIR/hybrid.json"
    hybrid_exits 0 --url "$LAB_BASE/letters?n={n}" --iterations 4 --processes 2 --threads 3 \
        --requests 9 --out "$BATS_TEST_TMPDIR/out" --trace "$trace"
    run -0 /usr/bin/python3 - "$trace" <<'PY'
import json, sys
events = json.load(open(sys.argv[1]))["traceEvents"]
spans = [e for e in events if e["ph"] == "X"]
assert sorted(e["args"]["request"] for e in spans) == list(range(36)), spans
assert all(e["cat"] == "request" and e["args"]["bytes"] == 100 for e in spans)
assert len({e["pid"] for e in spans}) <= 2 and all(1 <= e["tid"] <= 3 for e in spans)
procs = {e["pid"]: e["args"]["name"] for e in events if e["ph"] == "M" and e["name"] == "process_name"}
assert all(procs.get(e["pid"], "").startswith("child ") for e in spans), procs
PY
}

@test "the lab server's /letters: the strings computed here, 404 past the last" {
    letters_for 4096 >"$BATS_TEST_TMPDIR/letters"
    for n in 0 1 2 99 4095; do
        run -0 curl -fsS "$LAB_BASE/letters?n=$n"
        [ "$output" = "$(sed -n "$((n + 1))p" "$BATS_TEST_TMPDIR/letters")" ]
    done
    for bad in "n=4096" "n=" "n=-1" "n=x" ""; do
        run -0 curl -sS -o /dev/null -w '%{http_code}' "$LAB_BASE/letters?$bad"
        [ "$output" = 404 ] || { echo "'$bad': $output" >&2; false; }
    done
}

@test "fork failing part-way (io_hybrid and the manager, lab/procs.c): one line, exit 1, the children started stopped" {
    preload_library failfork <<'C'
#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>
/* fork() fails with EAGAIN from its FAIL_FORK_AT-th call on. */
pid_t fork(void)
{
    static int calls;
    const char *at = getenv("FAIL_FORK_AT");
    if (at && ++calls >= atoi(at)) {
        errno = EAGAIN;
        return -1;
    }
    pid_t (*real_fork)(void) = (pid_t (*)(void))dlsym(RTLD_NEXT, "fork");
    return real_fork();
}
C
    # The children started first would wait 2 s per request, or work on for
    # seconds. Their output goes to files, not to bats (which would wait for
    # them): stopped, none is left once the lesson has exited.
    for at in 2 3; do
        out=$BATS_TEST_TMPDIR/out-$at
        for cmd in "io_hybrid --iterations 4 --processes 3 --threads 2 --requests 4 --out $out --url $LAB_BASE/delay?s=2" \
                   "sum_chunks_manager --numbers 4321$at --chunks 4 --ops 200000"; do
            status=0
            # shellcheck disable=SC2086   # the words split on purpose
            FAIL_FORK_AT=$at LD_PRELOAD="$BATS_TEST_TMPDIR/failfork.so" "$LAB_BIN"/$cmd \
                >"$BATS_TEST_TMPDIR/stdout" 2>"$BATS_TEST_TMPDIR/stderr" || status=$?
            [ "$status" -eq 1 ]
            [ "$(cat "$BATS_TEST_TMPDIR/stderr")" = "${cmd%% *}: fork: Resource temporarily unavailable" ]
            [ ! -s "$BATS_TEST_TMPDIR/stdout" ]
            # Its command line, without the URL (a ? there is a pattern's).
            run -1 pgrep -f -- "${cmd%% --url*}"
        done
        # No file of an iteration, whole or half.
        [ -z "$(ls -A "$out")" ]
    done
}
