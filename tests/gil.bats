#!/usr/bin/env bats
# The emulated GIL: exact results under the lock, no deadlock, the convoy.

load helpers

setup_file() { lab_server_start; }
teardown_file() { lab_server_stop; }

@test "io_convoy: with the GIL, each answer waits about one switch interval" {
    run -0 --separate-stderr "$LAB_BIN/io_convoy" --url "$LAB_BASE/delay?bytes=10" \
        --requests 20 --gil --switch-interval-us 20000
    [ "$(record gil)" = 1 ]
    [ "$(record bytes)" = 400 ]
    [ "$(record done)" = 40 ]
    # A waiter only asks the holder to let go after a whole interval (20 ms).
    awk -v ms="$(record beside_cpu_ms)" 'BEGIN { exit !(ms >= 18) }'
}

@test "io_convoy: without the GIL the CPU thread does not slow the I/O thread" {
    run -0 --separate-stderr "$LAB_BIN/io_convoy" --url "$LAB_BASE/delay?bytes=10" \
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
