#!/usr/bin/env bats
# The emulated GIL: exact results under the lock, no deadlock, the convoy.

load helpers

setup_file() { lab_server_start; }
teardown_file() { lab_server_stop; }

@test "io_convoy: with the GIL, each answer waits about one switch interval" {
    # A real 5 ms wait per request, during which the CPU thread takes the lock.
    run -0 --separate-stderr "$LAB_BIN/io_convoy" --url "$LAB_BASE/delay?s=0.005&bytes=10" \
        --requests 20 --gil --switch-interval-us 20000
    [ "$(record gil)" = 1 ]
    [ "$(record bytes)" = 400 ]
    [ "$(record done)" = 40 ]
    # A waiter only asks the holder to let go after a whole interval (20 ms).
    awk -v ms="$(record beside_cpu_ms)" 'BEGIN { exit !(ms >= 18) }'
}

@test "io_convoy: without the GIL the CPU thread does not slow the I/O thread" {
    run -0 --separate-stderr "$LAB_BIN/io_convoy" --url "$LAB_BASE/delay?s=0.005&bytes=10" \
        --requests 20 --switch-interval-us 20000
    [ "$(record gil)" = 0 ]
    awk -v ms="$(record beside_cpu_ms)" 'BEGIN { exit !(ms < 15) }'
}

@test "io_convoy: refuses a zero switch interval and --workers above 1" {
    run -2 --separate-stderr "$LAB_BIN/io_convoy" --url "$LAB_BASE/" --gil --switch-interval-us 0
    [ "${#stderr_lines[@]}" = 1 ]
    run -2 --separate-stderr "$LAB_BIN/io_convoy" --url "$LAB_BASE/" --workers 2
    [ "${#stderr_lines[@]}" = 1 ]
}

@test "cpu_threads --gil: results stay exact and identical to cpu_sync's" {
    for workload in sumsq fib sha256 prime; do
        run -0 --separate-stderr "$LAB_BIN/cpu_sync" --workload "$workload" --tasks 6 --size 30
        expected=$(record result)
        run -0 --separate-stderr "$LAB_BIN/cpu_threads" --workload "$workload" --tasks 6 --size 30 \
            --workers 3 --gil --switch-interval-us 50
        [ "$(record result)" = "$expected" ]
        [ "$(record gil)" = 1 ]
        [ "$(record done)" = 6 ]
    done
}

@test "cpu_threads --gil: no deadlock with 1, 2 and 16 threads, at 1 us and at 100 ms" {
    run -0 --separate-stderr "$LAB_BIN/cpu_sync" --workload sha256 --tasks 16 --size 20_000
    expected=$(record result)
    for workers in 1 2 16; do
        for interval in 1 100000; do
            run -0 --separate-stderr timeout 120 "$LAB_BIN/cpu_threads" --workload sha256 \
                --tasks 16 --size 20_000 --workers "$workers" --gil --switch-interval-us "$interval"
            [ "$(record result)" = "$expected" ]
            # Every thread took the lock at least once to run its first task.
            [ "$(record gil_switches)" -ge "$workers" ]
        done
    done
}

@test "cpu_threads --gil: two threads never compute at once (CPU time within wall time)" {
    [ -z "${LAB_SANITIZED:-}" ] || skip "sanitizers add their own threads' work"
    run -0 --separate-stderr /usr/bin/time -f 'cpu_util %U %S %e' "$LAB_BIN/cpu_threads" \
        --workload sumsq --tasks 4 --size 300_000_000 --workers 2 --gil
    read -r _ user sys wall <<<"${stderr_lines[-1]}"
    # One core's worth at most (load can only lower it); without the lock,
    # two threads on two cores would use close to twice the wall time.
    awk -v u="$user" -v s="$sys" -v w="$wall" 'BEGIN { exit !((u + s) <= 1.25 * w + 0.02) }'
}

@test "cpu_threads --gil: SIGINT ends every thread and exits 130" {
    interrupt_lesson "exec '$LAB_BIN/cpu_threads' --workload sumsq --tasks 40 --size 50_000_000 --workers 4 --gil" 0 INT
    [ "$status" = 130 ]
    [ "$(record gil)" = 1 ]
    [ "$(record done)" -lt 40 ]
}
