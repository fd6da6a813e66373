#!/usr/bin/env bats
# cpu_mpi on Open MPI, started as the lab starts it (scripts/mpirun): exact
# results for 1, 2 and 4 worker ranks over shared memory and TCP, bad usage
# in one line, a worker rank killed, and mpirun interrupted.

# shellcheck disable=SC2154  # bats sets stderr and stderr_lines
load helpers

MPIRUN=$LAB_TOP/scripts/mpirun

setup() {
    command -v mpirun >/dev/null || skip "mpirun is missing (scripts/deps installs openmpi-bin)"
    command -v mpicc >/dev/null || skip "mpicc is missing (scripts/deps installs libopenmpi-dev)"
    [ -x "$LAB_BIN/cpu_mpi" ] || skip "$LAB_BIN/cpu_mpi was not built (no Open MPI when make ran)"
    # Open MPI's plugins leave their start-up allocations behind at exit
    # (unloaded, so nothing can suppress them by name): look for every other
    # error, not for leaks.
    [ "${LAB_SANITIZED:-}" != asan ] || export ASAN_OPTIONS="${ASAN_OPTIONS:-}:detect_leaks=0"
    cd "$BATS_TEST_TMPDIR" || return 1   # the ranks' folder: how we find them
}

# The cpu_mpi processes started from this test's folder (zombies count too).
our_ranks() {
    local pid
    for pid in $(pgrep -x cpu_mpi); do
        [ "$(readlink "/proc/$pid/cwd" 2>/dev/null)" != "$BATS_TEST_TMPDIR" ] || echo "$pid"
    done
}

no_ranks_left() { [ -z "$(our_ranks)" ]; }

# Start scripts/mpirun in the background under timeout ($pid), which kills
# it after 60 s (a hang then fails the test with 137) and passes SIGTERM
# on, and wait until its three ranks are up and at work.
start_three_ranks() {
    timeout -s KILL 60 "$MPIRUN" -np 3 "$LAB_BIN/cpu_mpi" --workload sumsq --tasks 400 --size 40_000_000 \
        >"$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/err" 3>&- &
    pid=$!
    # shellcheck disable=SC2016  # wait_until evaluates it
    wait_until '[ "$(our_ranks | wc -l)" -eq 3 ]' 20
    sleep 0.5                               # tasks under way
}

# The rank of a running cpu_mpi, from the environment mpirun gave it.
rank_of() {
    tr '\0' '\n' <"/proc/$1/environ" 2>/dev/null | sed -n 's/^OMPI_COMM_WORLD_RANK=//p'
}

@test "sumsq: 1, 2 and 4 worker ranks give cpu_sync's exact result" {
    run -0 --separate-stderr "$LAB_BIN/cpu_sync" --workload sumsq --tasks 7 --size 100_000
    want=$(record result)
    [ "$want" = "$(python3 -c 'print(sum((n - 1) * n * (2 * n - 1) // 6 for n in range(100000, 100007)))')" ]
    for np in 2 3 5; do
        run -0 --separate-stderr "$MPIRUN" -np "$np" "$LAB_BIN/cpu_mpi" --workload sumsq --tasks 7 --size 100_000
        [ "$(record result)" = "$want" ]
        [ "$(record workers)" = $((np - 1)) ]
        [ "$(record "done")" = 7 ]
        [ "$(record failed)" = 0 ]
        [ "$(record mode)" = shm ]
        [[ "${lines[0]}" == "Ran 7 of 7 sumsq tasks (size 100000) on $((np - 1)) worker ranks in "*" s: result $want" ]]
        [ "${#lines[@]}" -eq 2 ]              # rank 0 alone prints
    done
    record_has_keys experiment workload tasks size workers seconds result "done" failed mode roundtrip_us
}

@test "sha256 and fib: every worker count gives hashlib's and the closed result, over TCP too" {
    want=$(python3 -c 'import hashlib
total = 0
for i in range(5):
    block = i.to_bytes(32, "big")
    for _ in range(1000):
        block = hashlib.sha256(block).digest()
    total ^= int.from_bytes(block, "big")
print("%064x" % total)')
    for np in 2 3 5; do
        run -0 --separate-stderr "$MPIRUN" -np "$np" "$LAB_BIN/cpu_mpi" --workload sha256 --tasks 5 --size 1000
        [ "$(record result)" = "$want" ]
        run -0 --separate-stderr "$MPIRUN" --tcp -np "$np" "$LAB_BIN/cpu_mpi" --workload sha256 --tasks 5 --size 1000
        [ "$(record result)" = "$want" ]
        [ "$(record mode)" = tcp ]
        run -0 --separate-stderr "$MPIRUN" -np "$np" "$LAB_BIN/cpu_mpi" --workload fib --tasks 5 --size 20
        [ "$(record result)" = 33825 ]     # 5 x fib(20)
    done
}

@test "more worker ranks than tasks: the idle ones are told to stop at once" {
    run -0 --separate-stderr "$MPIRUN" -np 5 "$LAB_BIN/cpu_mpi" --workload prime --tasks 2 --size 2
    [ "$(record result)" = 2 ]              # 2^2-1 and 2^3-1 are both prime
    [ "$(record workers)" = 4 ]
    [ "$(record "done")" = 2 ]
}

@test "many tiny tasks: every one handed out once, and the round trip is reported" {
    run -0 --separate-stderr "$LAB_BIN/cpu_sync" --workload sha256 --tasks 3000 --size 1
    want=$(record result)
    for transport in "" --tcp; do
        run -0 --separate-stderr "$MPIRUN" $transport -np 3 "$LAB_BIN/cpu_mpi" --workload sha256 --tasks 3000 --size 1
        [ "$(record result)" = "$want" ]
        [ "$(record "done")" = 3000 ]
        awk -v us="$(record roundtrip_us)" 'BEGIN { exit !(us > 0 && us < 1000000) }'
    done
}

@test "--workers must agree with mpirun -np: a mismatch is one line, exit 2" {
    run -0 --separate-stderr "$MPIRUN" -np 3 "$LAB_BIN/cpu_mpi" --workers 2 --tasks 2 --size 10
    [ "$(record workers)" = 2 ]
    run -2 --separate-stderr "$MPIRUN" -np 3 "$LAB_BIN/cpu_mpi" --workers 4
    [ "$stderr" = "cpu_mpi: --workers 4 does not match mpirun -np 3 (one coordinator and 2 workers)" ]
    [ -z "$output" ]
    run -2 --separate-stderr "$MPIRUN" -np 1 "$LAB_BIN/cpu_mpi"
    [ "${#stderr_lines[@]}" -eq 1 ]
    [ "$stderr" = "cpu_mpi: needs 2 ranks or more: start it with mpirun -np N" ]
}

@test "bad options: one line from rank 0, not one per rank, or from scripts/mpirun; exit 2" {
    for args in "--tasks x" "--workload nope" "--size 0" "--frobnicate" "--tasks" "stray"; do
        # shellcheck disable=SC2086  # the words of args are the options
        run -2 --separate-stderr "$MPIRUN" -np 4 "$LAB_BIN/cpu_mpi" $args
        [ "${#stderr_lines[@]}" -eq 1 ] || { echo "$args: $stderr" >&2; return 1; }
        [[ "$stderr" == "cpu_mpi: "* ]]
        [ -z "$output" ]
    done
    run -0 --separate-stderr "$MPIRUN" -np 3 "$LAB_BIN/cpu_mpi" --help
    [ "$(grep -c '^Usage: cpu_mpi' <<<"$output")" -eq 1 ]
    run -2 --separate-stderr "$MPIRUN"
    [ "$stderr" = "scripts/mpirun: no program to run (see scripts/mpirun --help)" ]
    # An option neither scripts/mpirun nor mpirun knows: one line, exit 2.
    run -2 --separate-stderr "$MPIRUN" --frobnicate -np 2 "$LAB_BIN/cpu_mpi"
    [ "$stderr" = "scripts/mpirun: unknown option '--frobnicate' (neither this script's nor mpirun's)" ]
    [ -z "$output" ]
}

@test "-np N PROGRAM checked first: a bad count, no program or one not there is one line, exit 2, not a rank 'killed by SIGILL'" {
    for np in x -3 2x ""; do
        run -2 --separate-stderr "$MPIRUN" -np "$np" "$LAB_BIN/cpu_mpi"
        [ "$stderr" = "scripts/mpirun: -np '$np' is not a number of ranks" ] || { echo "$np: $stderr" >&2; false; }
    done
    run -2 --separate-stderr "$MPIRUN" -np 2
    [ "$stderr" = "scripts/mpirun: no program to run (see scripts/mpirun --help)" ]
    for program in "$LAB_BIN/no_such_lesson" "$BATS_TEST_TMPDIR" cpu_mpi; do
        run -2 --separate-stderr "$MPIRUN" -np 2 "$program"
        [ "$stderr" = "scripts/mpirun: '$program' is not a program that can be run here" ] ||
            { echo "$program: $stderr" >&2; false; }
        [ -z "$output" ]
    done
    run -0 --separate-stderr "$MPIRUN" -n 2 "$LAB_BIN/cpu_mpi" --tasks 2 --size 10
    [ "$(record result)" = 670 ]
}

@test "a worker rank killed with SIGKILL: reported in one line, exit 1, no hang, no rank left" {
    start_three_ranks
    victim=
    for rank in $(our_ranks); do
        [ "$(rank_of "$rank")" != 2 ] || victim=$rank
    done
    [ -n "$victim" ]
    kill -KILL "$victim"
    status=0
    wait "$pid" || status=$?
    cat "$BATS_TEST_TMPDIR/err" >&2
    [ "$status" -eq 1 ]
    grep -q "^scripts/mpirun: a rank was killed (signal 9, SIGKILL), so Open MPI ended the job" "$BATS_TEST_TMPDIR/err"
    [ "$(grep -c . "$BATS_TEST_TMPDIR/err")" -eq 1 ]
    wait_until no_ranks_left 10
}

# (A background job of a script starts with SIGINT ignored, so scripts/mpirun
# gets SIGTERM here; with job control, as scripts/matrix runs it, SIGINT.)
@test "SIGINT to mpirun ends every rank; SIGTERM to scripts/mpirun too, exit 143" {
    for target in mpirun launcher; do
        start_three_ranks
        if [ "$target" = mpirun ]; then
            kill -INT "$(for p in $(descendants "$pid"); do pgrep -x mpirun | grep -x "$p"; done)"
        else
            kill -TERM "$pid"
        fi
        status=0
        wait "$pid" || status=$?
        [ "$status" -ne 137 ]               # ended, not by the timeout
        [ "$status" -ne 0 ]                 # stopped, not finished
        [ "$target" = mpirun ] || [ "$status" -eq 143 ]
        wait_until no_ranks_left 10
    done
}

@test "--trace: rank 0 writes one file, a task span per task on its worker rank's lane" {
    mkdir "$BATS_TEST_TMPDIR/traces"
    trace=$BATS_TEST_TMPDIR/traces/trace.json
    run -0 --separate-stderr "$MPIRUN" -np 4 "$LAB_BIN/cpu_mpi" --workload fib --tasks 30 --size 18 --trace "$trace"
    [ "$(record "done")" = 30 ]
    /usr/bin/python3 - "$trace" <<'PY'
import json, sys
events = json.load(open(sys.argv[1]))["traceEvents"]
tasks = [e for e in events if e.get("cat") == "task"]
assert sorted(e["args"]["task"] for e in tasks) == list(range(30)), tasks
assert all(e["tid"] == e["args"]["rank"] and 1 <= e["tid"] <= 3 for e in tasks)
assert all(e["dur"] >= 0 and e["ts"] >= 0 for e in tasks)
assert len({e["pid"] for e in events}) == 1           # written by rank 0 alone
lanes = {e["tid"]: e["args"]["name"] for e in events if e["name"] == "thread_name"}
assert lanes == {1: "worker rank 1", 2: "worker rank 2", 3: "worker rank 3"}, lanes
PY
    [ "$(ls "$BATS_TEST_TMPDIR/traces")" = trace.json ]  # no rank's temporary file left
    run -2 --separate-stderr "$MPIRUN" -np 3 "$LAB_BIN/cpu_mpi" --trace "$BATS_TEST_TMPDIR/no/such/folder/t.json"
    [ "${#stderr_lines[@]}" -eq 1 ]
    [[ "$stderr" == "cpu_mpi: --trace: cannot write "* ]]
}
