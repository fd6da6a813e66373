#!/usr/bin/env bats
# sum_chunks_manager: children store partial sums in a manager process's dict
# (or in shared memory); exact totals, refusals, and no process left behind.

load helpers

LESSON="$LAB_BIN/sum_chunks_manager"

# N(N+1)/2 exactly (beyond 64 bits for N = 10^12).
closed_form() {
    echo "$1 * ($1 + 1) / 2" | BC_LINE_LENGTH=0 bc
}

# The part lines of $output, "part-<i> <sum>", one a line.
parts() {
    grep '^part-' <<<"$output"
}

# How many sockets process $1 holds open.
sockets() {
    find "/proc/$1/fd" -lname 'socket:*' 2>/dev/null | wc -l
}

# Start the lesson in the background with these arguments; sets $pid.
start_lesson() {
    "$LESSON" "$@" >"$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/err" 3>&- &
    pid=$!
}

# True once process $1 has ended (a zombie waiting to be reaped, or gone).
ended() {
    local state
    state=$(ps -o stat= -p "$1") || return 0
    [[ "$state" == Z* ]]
}

# Wait for the background lesson, killing it after 60 s (so a hang fails the
# test with 137, not forever); sets $status, $output and $stderr.
finish_lesson() {
    wait_until "ended $pid" 60 || kill -KILL "$pid"
    status=0
    wait "$pid" || status=$?
    output=$(cat "$BATS_TEST_TMPDIR/out")
    stderr=$(cat "$BATS_TEST_TMPDIR/err")
}

# The pid among the lesson's children that holds $1 sockets (the manager
# holds one per child plus the parent's, a child only its own).
child_with_sockets() {
    local child
    for child in $(pgrep -P "$pid"); do
        if [ "$(sockets "$child")" -eq "$1" ]; then
            echo "$child"
            return 0
        fi
    done
    return 1
}

@test "the default run: 1..100 in 4 chunks, parts in order, total 5050" {
    run -0 --separate-stderr "$LESSON"
    [ "$(parts)" = "$(printf 'part-0 325\npart-1 950\npart-2 1575\npart-3 2200')" ]
    [[ "$output" == *$'\ntotal 5050\n'* ]]
    record_has_keys experiment numbers chunks mode ops spin_us seconds total ops_per_s failed
    [ "$(record experiment)" = sum_chunks_manager ]
    [ "$(record numbers)" = 100 ]
    [ "$(record chunks)" = 4 ]
    [ "$(record mode)" = manager ]
    [ "$(record total)" = 5050 ]
    [ "$(record failed)" = 0 ]
    [ -z "$stderr" ]
}

@test "totals are exact: N(N+1)/2 for many N and K, up to N = 10^12" {
    for case in 1:1 5:5 10:3 100:1 101:4 1000:7 999_999:13 4294967296:3 \
                1_000_000_000_000:1 1_000_000_000_000:7 1_000_000_000_000:1024; do
        n=${case%%:*} k=${case#*:}
        run -0 --separate-stderr "$LESSON" --numbers "$n" --chunks "$k"
        want=$(closed_form "${n//_/}")
        [ "$(record total)" = "$want" ] || { echo "N=$n K=$k: $(record total), not $want" >&2; false; }
        [ "$(parts | wc -l)" = "$k" ]
        sum=$(parts | awk '{ print $2 }' | paste -sd+ | BC_LINE_LENGTH=0 bc)
        [ "$sum" = "$want" ]
    done
}

@test "chunks are contiguous: K not dividing N, and K = N" {
    run -0 --separate-stderr "$LESSON" --numbers 10 --chunks 3
    [ "$(parts)" = "$(printf 'part-0 6\npart-1 15\npart-2 34')" ]
    run -0 --separate-stderr "$LESSON" --numbers 5 --chunks 5
    [ "$(parts | awk '{ print $2 }' | paste -sd' ')" = "1 2 3 4 5" ]
}

@test "--shared-memory gives the same parts and total as the manager" {
    for args in "" "--numbers 1_000_000_000_000 --chunks 7" "--numbers 10 --chunks 3"; do
        # shellcheck disable=SC2086
        run -0 --separate-stderr "$LESSON" $args
        manager_parts=$(parts) manager_total=$(record total)
        # shellcheck disable=SC2086
        run -0 --separate-stderr "$LESSON" $args --shared-memory
        [ "$(parts)" = "$manager_parts" ]
        [ "$(record total)" = "$manager_total" ]
        [ "$(record mode)" = shared-memory ]
    done
}

@test "--spin: sleeping at once (the default), or looking first, gives the same parts and total" {
    run -0 --separate-stderr "$LESSON"
    [ "$(record spin_us)" = 0 ]
    want_parts=$(parts)
    for spin in 0 1 50 1_000_000; do
        run -0 --separate-stderr "$LESSON" --spin "$spin" --ops 300
        [ "$(parts)" = "$want_parts" ]
        [ "$(record total)" = 5050 ]
        [ "$(record spin_us)" = "${spin//_/}" ]
        [ "$(record failed)" = 0 ]
        [ -z "$stderr" ]
    done
}

@test "--ops 1000 reports a positive ops_per_s in both modes" {
    for mode in "" --shared-memory; do
        run -0 --separate-stderr "$LESSON" --chunks 2 --ops 1000 $mode
        [ "$(record ops)" = 1000 ]
        [ "$(record total)" = 5050 ]
        rate=$(record ops_per_s)
        [[ "$rate" =~ ^[0-9]+$ ]] && [ "$rate" -gt 0 ]
    done
    run -0 --separate-stderr "$LESSON"
    [ "$(record ops_per_s)" = 0 ]
}

@test "bad options: exit 2, one line on stderr, nothing on stdout" {
    for args in "--chunks 0" "--numbers 0" "--numbers 3 --chunks 4" "--numbers 10x" \
                "--chunks 1025 --numbers 2000" "--numbers 1_000_000_000_001" "--ops -1" "--bogus" \
                "stray" "--chunks" "--spin -1" "--spin 1_000_001" "--spin 5us"; do
        # shellcheck disable=SC2086
        run -2 --separate-stderr "$LESSON" $args
        [ "${#stderr_lines[@]}" = 1 ] || { echo "[$args]: $stderr" >&2; false; }
        [ -z "$output" ]
    done
}

@test "every child and the manager are reaped after a run" {
    # Enough sets for a second or so in each mode, to see the processes.
    for args in "--ops 50_000 3" "--ops 10_000_000 --shared-memory 2"; do
        want=${args##* }
        # shellcheck disable=SC2086
        start_lesson --chunks 2 ${args% *}
        wait_until "[ \$(pgrep -P $pid | wc -l) -ge $want ]" 10
        kids=$(pgrep -P "$pid" | tr '\n' ' ')
        finish_lesson
        [ "$status" = 0 ]
        [ "$(record total)" = 5050 ]
        # shellcheck disable=SC2086
        all_gone $kids
    done
}

@test "SIGINT mid-run ends every process: exit 130" {
    interrupt_lesson "exec '$LESSON' --chunks 2 --ops 1_000_000_000" 3 INT
    [ "$status" = 130 ]
    [ "$(record experiment)" = sum_chunks_manager ]
    interrupt_lesson "exec '$LESSON' --chunks 2 --ops 1_000_000_000 --shared-memory" 2 INT
    [ "$status" = 130 ]
}

@test "SIGTERM mid-run ends every process: exit 143" {
    interrupt_lesson "exec '$LESSON' --chunks 3 --ops 1_000_000_000" 4 TERM
    [ "$status" = 143 ]
    interrupt_lesson "exec '$LESSON' --chunks 2 --ops 1_000_000_000 --shared-memory" 2 TERM
    [ "$status" = 143 ]
}

@test "a killed child is reported: exit 1, its part kept, no hang" {
    # The child holds its own socket to the manager; with shared memory, none.
    for mode in "" --shared-memory; do
        own=1
        [ -z "$mode" ] || own=0
        start_lesson --chunks 1 --ops 1_000_000_000 $mode
        wait_until "child_with_sockets $own >/dev/null" 10
        sleep 0.2                   # its part is stored by the first set
        kill -KILL "$(child_with_sockets "$own")"
        finish_lesson
        [ "$status" = 1 ]
        [[ "$stderr" == *"child 0 (pid "*") died: Killed"* ]]
        [ "$(parts)" = "part-0 5050" ]
        [ "$(record failed)" = 1 ]
    done
}

@test "a killed manager is reported: exit 1, parts missing, no hang" {
    start_lesson --chunks 2 --ops 1_000_000_000
    wait_until "child_with_sockets 3 >/dev/null" 10
    kill -KILL "$(child_with_sockets 3)"
    finish_lesson
    [ "$status" = 1 ]
    [[ "$stderr" == *"manager 0 (pid "*") died: Killed"* ]]
    [ "$(parts)" = "$(printf 'part-0 missing\npart-1 missing')" ]
    [ "$(record total)" = 0 ]
}

@test "a child killed holding the shared dict's lock: reported, its store undone, no hang" {
    # The child spends much of its time inside the lock; kill it until one
    # death lands there (each try has about a one in six chance).
    local tries=0 held=0
    while [ "$held" = 0 ] && [ "$tries" -lt 40 ]; do
        tries=$((tries + 1))
        start_lesson --chunks 1 --ops 1_000_000_000 --shared-memory
        wait_until "pgrep -P $pid >/dev/null" 10
        sleep 0.1
        kill -KILL "$(pgrep -P "$pid")"
        finish_lesson
        [ "$status" = 1 ]
        [ "$(parts)" = "part-0 5050" ]          # repaired, or never torn
        [ "$(record failed)" = 1 ]
        [[ "$stderr" == *"child 0 (pid "*") died: Killed"* ]]
        if [[ "$stderr" == *"died holding the lock"* ]]; then
            held=1
        fi
    done
    echo "tries: $tries" >&2
    [ "$held" = 1 ]
}

@test "--progress: the children's sets done of all, ending at the total" {
    run -0 --separate-stderr "$LESSON" --chunks 2 --ops 1000 --progress
    [[ "$stderr" == *"] 2002/2002" ]]
    run -0 --separate-stderr "$LESSON" --chunks 2 --ops 1000 --shared-memory --progress
    [[ "$stderr" == *"] 2002/2002" ]]
    run -0 --separate-stderr "$LESSON" --chunks 2 --ops 1000
    [ -z "$stderr" ]
}

@test "--trace: a set span per round trip on each child's lane; the manager's lane serves them" {
    for mode in "" --shared-memory; do
        run -0 --separate-stderr "$LESSON" --chunks 3 --ops 200 --trace "$BATS_TEST_TMPDIR/t.json" $mode
        run -0 /usr/bin/python3 - "$BATS_TEST_TMPDIR/t.json" "$mode" <<'PY'
import collections, json, sys
events = json.load(open(sys.argv[1]))["traceEvents"]
shared = sys.argv[2] == "--shared-memory"
names = {e["pid"]: e["args"]["name"] for e in events if e["name"] == "process_name"}
sets = [e for e in events if e["ph"] == "X" and e["cat"] == "set"]
per_child = collections.Counter(names[e["pid"]] for e in sets)
assert per_child == {"child 0": 201, "child 1": 201, "child 2": 201}, per_child
assert all(e["tid"] == 1 for e in sets)
ops = collections.defaultdict(list)
for e in sets:
    ops[e["pid"]].append(e["args"]["op"])
assert all(sorted(v) == list(range(201)) for v in ops.values()), "op numbers"
serves = [e for e in events if e["ph"] == "X" and e["cat"] == "serve"]
managers = [p for p, n in names.items() if n == "manager"]
if shared:
    assert not managers and not serves
else:
    assert len(managers) == 1
    assert all(e["pid"] == managers[0] for e in serves)
    assert len(serves) == 3 * 201 + 3, len(serves)       # the sets, the parent's gets
for lane in set((e["pid"], e["tid"]) for e in sets + serves):
    spans = sorted((e["ts"], e["ts"] + e["dur"]) for e in sets + serves
                   if (e["pid"], e["tid"]) == lane)
    assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:])), "overlap"
PY
    done
}
