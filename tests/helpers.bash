# Shared set-up for the lab's bats tests: load with `load helpers`.
# shellcheck disable=SC2034  # the variables set here are read by the .bats files
bats_require_minimum_version 1.5.0

LAB_TOP=$(cd "$BATS_TEST_DIRNAME/.." && pwd)
LAB_BIN=${LAB_BIN:-$LAB_TOP/bin}
export LAB_TOP LAB_BIN

# A port on loopback where nothing listens (the discard port is never served).
DEAD_URL=http://127.0.0.1:9/

# Start a lab server of this test file's own, in its own folder, so files
# run side by side never share one. Call from setup_file.
lab_server_start() {
    export LAB_SERVER_DIR="$BATS_FILE_TMPDIR/labserver"
    LAB_BASE=$("$LAB_TOP/scripts/labserver" start 3>&-)
    export LAB_BASE
}

lab_server_stop() {
    "$LAB_TOP/scripts/labserver" stop 3>&-
}

# The value of key in the record line (the last line of $output).
record() {
    local last=${output##*$'\n'}
    local pair
    for pair in $last; do
        if [ "${pair%%=*}" = "$1" ]; then
            echo "${pair#*=}"
            return 0
        fi
    done
    echo "no key '$1' in record: $last" >&2
    return 1
}

# Fail unless the record line has every key named.
record_has_keys() {
    local key
    for key in "$@"; do
        record "$key" >/dev/null || return 1
    done
}

# Wait (polling, up to $2 seconds) until command $1 succeeds.
wait_until() {
    local deadline=$((SECONDS + ${2:-10}))
    until eval "$1"; do
        [ "$SECONDS" -lt "$deadline" ] || { echo "timed out waiting for: $1" >&2; return 1; }
        sleep 0.05
    done
}

# The pids of every descendant of pid $1.
descendants() {
    local child
    for child in $(pgrep -P "$1" 2>/dev/null); do
        echo "$child"
        descendants "$child"
    done
}

# True when none of the given pids exists any more (not even as a zombie).
all_gone() {
    local pid
    for pid in "$@"; do
        [ ! -e "/proc/$pid" ] || return 1
    done
}

# True when process $1 has a handler for SIGTERM (bit 15 of SigCgt in
# /proc/PID/status): a Python twin sets its handlers after its imports.
catches_term() {
    local mask
    mask=$(awk '/^SigCgt:/ { print $2 }' "/proc/$1/status" 2>/dev/null)
    [ -n "$mask" ] && (((16#$mask >> 14) & 1))
}

# Start a lesson in the background, wait until it has $2 descendants (0 for
# threads), send signal $3, and check it exits 128+signal leaving nothing.
# Sets $output (its stdout) and $status.
# Usage: interrupt_lesson "cmd..." N SIG [SETTLE [READY]]
# (SETTLE: seconds to let the work get under way first, default 0.3;
# READY: a condition to wait for before that, where $pid is the lesson's).
# Begin cmd with `exec` so that the signal reaches the lesson itself rather
# than the shell that eval runs it in (which waits on, and shields, it).
interrupt_lesson() {
    local cmd=$1 want_children=$2 sig=$3 settle=${4:-0.3} ready=${5:-true} out pid kids
    out="$BATS_TEST_TMPDIR/interrupted.out"
    eval "$cmd" >"$out" 2>"$out.err" 3>&- &
    pid=$!
    wait_until "[ \$(descendants $pid | wc -l) -ge $want_children ]" 10
    wait_until "$ready" 10
    sleep "$settle"                 # let the work get under way
    kids=$(descendants "$pid" | tr '\n' ' ')     # one line, for eval below
    kill "-$sig" "$pid"
    status=0
    wait "$pid" || status=$?
    output=$(cat "$out")
    # shellcheck disable=SC2086
    wait_until "all_gone $kids" 5
}

# Column NAME of a CSV file (read by miller): every data row's value, one a
# line, or only data row ROW's (1 = the first after the header).
# Usage: csv_column FILE NAME [ROW]
csv_column() {
    mlr --icsv --otsv --headerless-tsv-output cut -f "$2" "$1" | sed -n "${3:-1,\$}p"
}

# A CSV file that RFC 4180 reads with every row as long as the header, one
# row a line, ending with a newline: no torn row anywhere.
rows_are_whole() {
    local records
    records=$(mlr --icsv --ojson put -q 'end { emit {"n": NR} }' "$1" | grep -o '[0-9]*') ||
        { echo "$1 does not read as CSV" >&2; return 1; }
    [ "$records" -eq $(($(wc -l <"$1") - 1)) ] || { echo "$1: $records records in $(wc -l <"$1") lines" >&2; return 1; }
    [ -z "$(tail -c1 "$1")" ] || { echo "$1 does not end with a newline" >&2; return 1; }
}

# Check trace file $2 against the record in $output: one span of category
# $1 per unit done (of $3), and what tests/trace_check.py holds every trace
# to; with $4, the spans come from that many child processes.
trace_ok() {   # trace_ok UNIT FILE TOTAL [CHILDREN]
    "$LAB_TOP/tests/trace_check.py" "$2" "$(record seconds)" "$1" "$(record "done")/$3" \
        ${4:+"children=$4"}
}

# Run a command, send it SIGINT after $1 seconds, and wait for it. Sets
# $output (its stdout), $returncode (python's: -2 when SIGINT killed it)
# and $stop_ms (from the signal to its end).
interrupt_after() {
    local result
    result=$(/usr/bin/python3 -c '
import signal, subprocess, sys, time
p = subprocess.Popen(sys.argv[2:], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
time.sleep(float(sys.argv[1]))
start = time.monotonic()
p.send_signal(signal.SIGINT)
out, _ = p.communicate()
print(p.returncode, "%.1f" % ((time.monotonic() - start) * 1000))
sys.stdout.write(out.decode())' "$@" 3>&-)
    read -r returncode stop_ms <<<"${result%%$'\n'*}"
    output=${result#*$'\n'}
}

# True when the decimal $1 is below $2.
below() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a < b) }'; }

# A lesson whose record cannot be written (>/dev/full, a closed stdout, a
# pipe whose reader has gone, as after `| head -n 0`) exits 1 with one line,
# and its trace still holds its 3 units of UNIT. LESSON is a name in
# $LAB_BIN, or a path (a Python twin).
# shellcheck disable=SC2154  # bats sets stderr and stderr_lines
record_unwritable() {   # record_unwritable UNIT LESSON ARG...
    local unit=$1 program=$2 redirect
    shift
    [[ "$program" == */* ]] || program=$LAB_BIN/$program
    for redirect in '>/dev/full' '>&-' 'gone'; do
        if [ "$redirect" = gone ]; then
            # The reader is closed before the lesson starts; the lesson gets
            # SIGPIPE's default action, as from a shell.
            run -1 --separate-stderr "$PY" -c 'import os, subprocess, sys
r, w = os.pipe()
os.close(r)
sys.exit(subprocess.call(sys.argv[1:], stdout=w))' "$program" "${@:2}" --trace "$BATS_TEST_TMPDIR/t.json"
        else
            run -1 --separate-stderr bash -c "exec \"\$@\" $redirect" _ "$program" "${@:2}" \
                --trace "$BATS_TEST_TMPDIR/t.json"
        fi
        [ "${#stderr_lines[@]}" = 1 ] || { echo "$1 $redirect: $stderr" >&2; return 1; }
        [[ "$stderr" == *"write error on standard output"* ]] || { echo "$1 $redirect: $stderr" >&2; return 1; }
        run -0 "$LAB_TOP/tests/trace_check.py" "$BATS_TEST_TMPDIR/t.json" 60 "$unit" 3/3 || return 1
        run -0 find "$BATS_TEST_TMPDIR" -name 't.json.*'
        [ -z "$output" ] || { echo "$1 $redirect: a temporary file left: $output" >&2; return 1; }
    done
}

# The C on stdin as a library for LD_PRELOAD, $BATS_TEST_TMPDIR/NAME.so;
# the sanitizer builds cannot take one (their runtime must come first).
preload_library() {   # preload_library NAME <C
    [ -z "${LAB_SANITIZED:-}" ] || skip "a preloaded library cannot come before the sanitizer's runtime"
    cc -shared -fPIC -x c -o "$BATS_TEST_TMPDIR/$1.so" - -ldl
}

# The Python twins: skip, saying why, unless Debian's python3 ($PY) can
# import every module named.
PY=/usr/bin/python3
need() {
    [ -x "$PY" ] || skip "$PY is missing (scripts/deps installs python3)"
    local module
    for module in "$@"; do
        "$PY" -c "import $module" 2>/dev/null ||
            skip "$PY cannot import $module (scripts/deps installs python3-$module)"
    done
}
