#!/usr/bin/env bats
# The CPU lessons: exact results against values computed another way, the
# same result from every model, bad usage, signals and a worker killed.

# shellcheck disable=SC2154  # bats sets stderr and stderr_lines
load helpers

CPU_LESSONS=(cpu_sync cpu_threads cpu_multiprocessing)

# sum over tasks i of sum(j*j for 0 <= j < size+i), by the closed form.
sumsq_expected() {
    python3 -c 'import sys; s, t = int(sys.argv[1]), int(sys.argv[2])
print(sum((n - 1) * n * (2 * n - 1) // 6 for n in range(s, s + t)))' "$1" "$2"
}

# XOR of the tasks' hash chains, by Python's hashlib.
sha256_expected() {
    python3 -c 'import hashlib, sys; size, tasks = int(sys.argv[1]), int(sys.argv[2])
total = 0
for i in range(tasks):
    block = i.to_bytes(32, "big")
    for _ in range(size):
        block = hashlib.sha256(block).digest()
    total ^= int.from_bytes(block, "big")
print("%064x" % total)' "$1" "$2"
}

# Run every model with the arguments given; each must print $want.
all_models_give() {
    local want=$1 lesson
    shift
    for lesson in "${CPU_LESSONS[@]}"; do
        run -0 --separate-stderr "$LAB_BIN/$lesson" "$@"
        if [ "$(record result)" != "$want" ] || [ "$(record "done")" != "$(record tasks)" ]; then
            echo "$lesson $*: want result=$want, got: ${lines[-1]}" >&2
            return 1
        fi
    done
}

@test "sumsq: every model gives the closed form, for 1, 2 and more workers than tasks" {
    want=$(sumsq_expected 100000 7)
    for workers in 1 2 50; do
        all_models_give "$want" --workload sumsq --tasks 7 --size 100_000 --workers "$workers"
    done
    [ "$(record workers)" = 7 ]     # 50 was clamped to the tasks
    record_has_keys experiment workload tasks size workers seconds result "done" failed
}

@test "sumsq: the default run (20 tasks of 5_000_000) is exact" {
    run -0 --separate-stderr "$LAB_BIN/cpu_sync"
    [ "$(record workload)" = sumsq ]
    [ "$(record tasks)" = 20 ]
    [ "$(record size)" = 5000000 ]
    [ "$(record result)" = "$(sumsq_expected 5000000 20)" ]
    [ "$(record result)" = 833337833344750010830 ]
    [[ "${lines[0]}" == "Ran 20 of 20 sumsq tasks (size 5000000) in "* ]]
}

@test "sha256: every model gives hashlib's chains" {
    want=$(sha256_expected 1000 3)
    for workers in 1 2 9; do
        all_models_give "$want" --workload sha256 --tasks 3 --size 1000 --workers "$workers"
    done
    all_models_give "$(sha256_expected 1 300)" --workload sha256 --tasks 300 --size 1
}

@test "fib: every model gives the sum of fib(n) computed another way" {
    want=$(python3 -c 'a, b = 0, 1
for _ in range(20): a, b = b, a + b
print(5 * a)')
    [ "$want" = 33825 ]
    for workers in 1 2 8; do
        all_models_give "$want" --workload fib --tasks 5 --size 20 --workers "$workers"
    done
    run -0 --separate-stderr "$LAB_BIN/cpu_sync" --workload fib --tasks 1 --size 1
    [ "$(record result)" = 1 ]
}

@test "prime: the Mersenne primes among 2^1-1 .. 2^63-1 are counted" {
    # Exponents 1..40 hold 2, 3, 5, 7, 13, 17, 19 and 31.
    for workers in 1 2 41; do
        all_models_give 8 --workload prime --tasks 40 --size 1 --workers "$workers"
    done
    all_models_give 0 --workload prime --tasks 1 --size 1
    # 32..63 hold only 61, the one task that takes a second or more.
    run -0 --separate-stderr "$LAB_BIN/cpu_multiprocessing" --workload prime --tasks 32 --size 32
    [ "$(record result)" = 1 ]
}

@test "each workload gives one result in every model at its default size, but prime" {
    for workload in fib sha256; do
        want=$("$LAB_BIN/cpu_sync" --workload "$workload" --tasks 4 | tail -1)
        want=${want##*result=}
        want=${want%% *}
        all_models_give "$want" --workload "$workload" --tasks 4 --workers 3
    done
}

@test "bad usage: exit 2 with one line on stderr, before any work" {
    bad_args=(
        "--workload nope" "--tasks 0" "--size 1x" "--size 0" "--workers 0"
        "--workers 99999999999999999999" "--workers 5000" "--tasks -3"
        "--workload prime --size 50 --tasks 15" "--workload prime --size 64 --tasks 1"
        "--workload fib --size 93" "--workload sumsq --size 4_000_000_000_000 --tasks 20"
        "stray" "--nope" "--size"
    )
    for lesson in "${CPU_LESSONS[@]}"; do
        for args in "${bad_args[@]}"; do
            # shellcheck disable=SC2086  # the words split on purpose
            run -2 --separate-stderr "$LAB_BIN/$lesson" $args
            if [ "${#stderr_lines[@]}" -ne 1 ] || [ -n "$output" ]; then
                echo "$lesson $args: ${stderr_lines[*]}" >&2
                return 1
            fi
        done
        run -2 --separate-stderr "$LAB_BIN/$lesson" --workload nope
        [[ "$stderr" == *"sumsq, fib, sha256, prime"* ]]
        # The most that can work is still accepted.
        run -0 --separate-stderr "$LAB_BIN/$lesson" --workload prime --size 63 --tasks 1 --workers 1
        run -0 --separate-stderr "$LAB_BIN/$lesson" --workload fib --size 1 --tasks 2
    done
}

@test "no process is left behind after a run" {
    # Distinct arguments, so pgrep finds this run's processes and no other's.
    args=(--workload sumsq --tasks 13 --size 123_457 --workers 3)
    run -0 --separate-stderr "$LAB_BIN/cpu_multiprocessing" "${args[@]}"
    [ "$(record "done")" = 13 ]
    run -1 pgrep -f "cpu_multiprocessing ${args[*]}"
}

@test "multiprocessing: SIGINT ends the children, prints what finished, exits 130" {
    interrupt_lesson "exec '$LAB_BIN/cpu_multiprocessing' --workload sumsq --tasks 200 --size 200_000_000 --workers 2" 2 INT
    [ "$status" = 130 ]
    [ "$(record experiment)" = cpu_multiprocessing ]
    [ "$(record "done")" -lt 200 ]
}

@test "multiprocessing: SIGTERM ends the children and exits 143" {
    interrupt_lesson "exec '$LAB_BIN/cpu_multiprocessing' --workload sha256 --tasks 200 --size 5_000_000 --workers 3" 3 TERM
    [ "$status" = 143 ]
    [ "$(record "done")" -lt 200 ]
}

@test "threads and sync: a signal stops a long task within moments" {
    for lesson in cpu_threads cpu_sync; do
        for sig in INT:130 TERM:143; do
            SECONDS=0
            # One task of 10^11 squares would run for minutes.
            interrupt_lesson "exec '$LAB_BIN/$lesson' --workload sumsq --tasks 2 --size 100_000_000_000" 0 "${sig%:*}"
            [ "$status" = "${sig#*:}" ]
            [ "$(record "done")" = 0 ]
            [ "$SECONDS" -lt 20 ]
        done
    done
    interrupt_lesson "exec '$LAB_BIN/cpu_threads' --workload prime --tasks 1 --size 61" 0 INT
    [ "$status" = 130 ]
    interrupt_lesson "exec '$LAB_BIN/cpu_threads' --workload fib --tasks 2 --size 60" 0 INT
    [ "$status" = 130 ]
}

@test "multiprocessing: a worker killed with SIGKILL is reported, its task failed, exit 1" {
    out=$BATS_TEST_TMPDIR/killed
    "$LAB_BIN/cpu_multiprocessing" --workload sumsq --tasks 6 --size 300_000_000 --workers 2 \
        >"$out.out" 2>"$out.err" 3>&- &
    pid=$!
    wait_until "[ \$(descendants $pid | wc -l) -ge 2 ]" 10
    sleep 0.2
    victim=$(descendants "$pid" | head -1)
    kill -KILL "$victim"
    status=0
    wait "$pid" || status=$?
    output=$(cat "$out.out")
    [ "$status" = 1 ]
    grep -q "worker .* (pid $victim) died: Killed" "$out.err"
    [ "$(record failed)" -ge 1 ]
    [ $(( $(record "done") + $(record failed) )) = 6 ]
    all_gone "$victim"
}

@test "--trace: one task span per task, on the lane of the thread or child that ran it" {
    trace=$BATS_TEST_TMPDIR/trace.json
    args=(--workload sumsq --tasks 12 --size 2_000_000)
    run -0 --separate-stderr "$LAB_BIN/cpu_sync" "${args[@]}" --trace "$trace"
    run -0 trace_ok task "$trace" 12
    [[ "$output" == *" lanes=1 "* ]]
    # The run takes about 10 ms: on a busy machine a thread, or the third
    # child, may start after the others have taken every task.
    run -0 --separate-stderr "$LAB_BIN/cpu_threads" "${args[@]}" --workers 3 --trace "$trace"
    run -0 trace_ok task "$trace" 12
    [[ "$output" == *" lanes=2 "* || "$output" == *" lanes=3 "* ]]
    run -0 --separate-stderr "$LAB_BIN/cpu_threads" "${args[@]}" --workers 2 --gil --trace "$trace"
    run -0 trace_ok task "$trace" 12
    run -0 --separate-stderr "$LAB_BIN/cpu_multiprocessing" "${args[@]}" --workers 3 --trace "$trace"
    run -0 trace_ok task "$trace" 12 2-3
    grep -q '"workload":"sumsq"' "$trace"
}

@test "SIGINT mid-run: killed by the signal within 150 ms, a trace of what finished, no temporary file" {
    trace=$BATS_TEST_TMPDIR/trace.json
    for lesson in "${CPU_LESSONS[@]}"; do
        # Tasks of about 60 ms each on 2 workers: some done, some cut short.
        interrupt_after 0.7 "$LAB_BIN/$lesson" --workload sumsq --tasks 1000 \
            --size 30_000_000 --workers 2 --trace "$trace"
        [ "$returncode" = -2 ] || { echo "$lesson: returncode $returncode" >&2; false; }
        below "$stop_ms" 150 || { echo "$lesson: stopped after $stop_ms ms" >&2; false; }
        below 0 "$(record "done")"
        below "$(record "done")" 1000
        run -0 trace_ok task "$trace" 1000
        run -0 find "$BATS_TEST_TMPDIR" -name 'trace.json.*'
        [ -z "$output" ]
    done
}

@test "a record that cannot be written: >/dev/full, a closed stdout or a reader gone is exit 1 with one line" {
    for lesson in "${CPU_LESSONS[@]}"; do
        record_unwritable task "$lesson" --tasks 3 --size 1000
    done
}

@test "--progress counts the tasks done of N on stderr; --no-progress draws nothing" {
    for lesson in "${CPU_LESSONS[@]}"; do
        run -0 --separate-stderr "$LAB_BIN/$lesson" --tasks 7 --size 1000 --workers 2 --progress
        [[ "$stderr" == *"] 7/7"* ]] || { echo "$lesson: $stderr" >&2; false; }
        run -0 --separate-stderr "$LAB_BIN/$lesson" --tasks 7 --size 1000 --progress --no-progress
        [ -z "$stderr" ]
    done
}
