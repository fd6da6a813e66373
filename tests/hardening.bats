#!/usr/bin/env bats
# Hostile input for every program, and the checks around the code itself:
# shellcheck, memcheck, the fuzzer's corpus.

load helpers

IO_LESSONS=(io_sync io_threads io_multiprocessing io_async io_convoy)
CPU_LESSONS=(cpu_sync cpu_threads cpu_multiprocessing)
ALL_LESSONS=("${IO_LESSONS[@]}" "${CPU_LESSONS[@]}" sum_chunks_manager)

# Numbers no option may take: signs, junk, exponents, overflow, bad separators.
BAD_NUMBERS=(-1 10x 1e9 99999999999999999999 "" _5 5_ 5__0 " 5" 0x10 1.5 +3)

# Run a program expecting exit 2 with exactly one line on stderr, no stdout.
refused() {
    run -2 --separate-stderr "$@"
    if [ "${#stderr_lines[@]}" -ne 1 ] || [ -n "$output" ]; then
        echo "not one clean line for: $*" >&2
        printf 'stderr: %s\n' "${stderr_lines[@]}" >&2
        return 1
    fi
}

@test "every program prints its usage with --help and exits 0" {
    for lesson in "${ALL_LESSONS[@]}"; do
        run -0 --separate-stderr "$LAB_BIN/$lesson" --help
        [[ "$output" == *"Usage: $lesson"* ]]
    done
}

@test "every script prints its usage with --help; an unknown option is named in one line, exit 2" {
    local script name
    for script in "$LAB_TOP"/scripts/*; do
        [ -f "$script" ] && [ -x "$script" ] || continue
        name=scripts/${script##*/}
        run -0 --separate-stderr "$script" --help
        [[ "${lines[0]}" == "Usage: $name "* ]] || { echo "$name --help: ${lines[0]}" >&2; false; }
        # scripts/mpirun hands every word after its own options to mpirun,
        # which must be there to refuse it.
        [ "$name" != scripts/mpirun ] || command -v mpirun >/dev/null || continue
        run -2 --separate-stderr "$script" --no-such-option
        [[ "${stderr_lines[0]}" == *"--no-such-option"* ]] || { echo "$name: ${stderr_lines[0]}" >&2; false; }
        [ "${#stderr_lines[@]}" -eq 1 ] || { echo "$name: ${#stderr_lines[@]} lines" >&2; false; }
    done
}

@test "I/O lessons refuse every bad number, URL and argument with exit 2" {
    export LAB_URL=http://127.0.0.1:9/
    for lesson in "${IO_LESSONS[@]}"; do
        for n in "${BAD_NUMBERS[@]}"; do
            refused "$LAB_BIN/$lesson" --requests "$n"
            refused "$LAB_BIN/$lesson" --timeout-ms "$n"
            refused "$LAB_BIN/$lesson" --retries "$n"
        done
        refused "$LAB_BIN/$lesson" --requests 0
        refused "$LAB_BIN/$lesson" --timeout-ms 0
        refused "$LAB_BIN/$lesson" --workers 0
        refused "$LAB_BIN/$lesson" --workers 1000000 --requests 1000000
        for url in "" "ftp://x/" "http://" "https:///x" "example.org" "http://a b/"; do
            refused "$LAB_BIN/$lesson" --url "$url"
        done
        refused "$LAB_BIN/$lesson" --bogus
        refused "$LAB_BIN/$lesson" stray
        refused "$LAB_BIN/$lesson" --requests
        refused env -u LAB_URL "$LAB_BIN/$lesson"
    done
}

# URLs that pass a glance (http://, a host) but that libcurl refuses at every
# request: each would be a counted error and exit 1, as if the server failed.
BAD_URLS=("http://127.0.0.1:99999/" "http://127.0.0.1:0/" "http://127.0.0.1:-1/"
          "http://[::1" "http://[zz]/" "http://:80/" "http://@/" "http://a!b/"
          "http://127.0.0.1/x"$'\x01' "http://127.0.0.1/x"$'\n'"y")

@test "every I/O lesson refuses a URL libcurl cannot use, in one line naming --url or LAB_URL" {
    for lesson in "${IO_LESSONS[@]}" io_coroutines io_hybrid; do
        for url in "${BAD_URLS[@]}"; do
            refused "$LAB_BIN/$lesson" --url "$url" --requests 1
            [[ "$stderr" == *"--url: "* ]] || { echo "$lesson '$url': $stderr" >&2; false; }
            refused env LAB_URL="$url" "$LAB_BIN/$lesson" --requests 1
            [[ "$stderr" == *"LAB_URL: "* ]] || { echo "$lesson '$url': $stderr" >&2; false; }
        done
    done
    # What libcurl takes still runs: a user, an empty port, a port of 65535.
    for url in "http://u:p@127.0.0.1:9/" "http://127.0.0.1:/" "http://127.0.0.1:65535/" \
               "http://[::1]:9/" "http://x_y.invalid/"; do
        run -1 --separate-stderr "$LAB_BIN/io_sync" --url "$url" --requests 1 --timeout-ms 2000
        [ "$(record errors)" = 1 ]
    done
}

@test "CPU lessons refuse every bad number and workload with exit 2" {
    for lesson in "${CPU_LESSONS[@]}"; do
        for n in "${BAD_NUMBERS[@]}"; do
            refused "$LAB_BIN/$lesson" --tasks "$n"
            refused "$LAB_BIN/$lesson" --size "$n"
            refused "$LAB_BIN/$lesson" --workers "$n"
        done
        refused "$LAB_BIN/$lesson" --tasks 0
        refused "$LAB_BIN/$lesson" --size 0
        refused "$LAB_BIN/$lesson" --workers 0
        refused "$LAB_BIN/$lesson" --workers 1000000
        refused "$LAB_BIN/$lesson" --workload nope
        refused "$LAB_BIN/$lesson" --workload ""
        refused "$LAB_BIN/$lesson" --workload prime --size 60 --tasks 20
        refused "$LAB_BIN/$lesson" --bogus
        refused "$LAB_BIN/$lesson" stray
    done
}

@test "the manager lesson refuses bad numbers and impossible splits with exit 2" {
    for n in "${BAD_NUMBERS[@]}"; do
        refused "$LAB_BIN/sum_chunks_manager" --numbers "$n"
        refused "$LAB_BIN/sum_chunks_manager" --chunks "$n"
        refused "$LAB_BIN/sum_chunks_manager" --ops "$n"
    done
    refused "$LAB_BIN/sum_chunks_manager" --numbers 0
    refused "$LAB_BIN/sum_chunks_manager" --chunks 0
    refused "$LAB_BIN/sum_chunks_manager" --numbers 3 --chunks 4
    refused "$LAB_BIN/sum_chunks_manager" --numbers 1000000000001
    refused "$LAB_BIN/sum_chunks_manager" --shared-memory=yes
    refused "$LAB_BIN/sum_chunks_manager" stray
}

@test "the scripts are shellcheck-clean and use no fixed temporary paths" {
    local scripts=("$LAB_TOP/.ci/run" "$LAB_TOP/tests/helpers.bash") f
    for f in "$LAB_TOP"/scripts/*; do      # the plan files there are data
        head -1 "$f" | grep -q '^#!.*sh' && scripts+=("$f")
    done
    [ "${#scripts[@]}" -ge 10 ]
    run -0 shellcheck -x "${scripts[@]}"
    # A path that starts at /tmp (not one under a folder of ours, like $dir/tmp).
    run -1 grep -nE "(^|[[:space:]\"'=(])/tmp/" "${scripts[@]}"
}

@test "the fuzzer's corpus, every case it ever found included, replays clean" {
    [ -z "${LAB_SANITIZED:-}" ] || skip "the fuzzer has its own sanitizers"
    command -v clang >/dev/null || skip "clang is needed for libFuzzer"
    run -0 make -s -C "$LAB_TOP" build/fuzz/fuzz_lab
    run -0 "$LAB_TOP/build/fuzz/fuzz_lab" -close_fd_mask=3 "$LAB_TOP"/tests/fuzz/corpus/*
}

@test "a bounded fuzzing run of lab_options.c's parsers finds nothing" {
    [ -z "${LAB_SANITIZED:-}" ] || skip "the fuzzer has its own sanitizers"
    command -v clang >/dev/null || skip "clang is needed for libFuzzer"
    run -0 make -s -C "$LAB_TOP" fuzz FUZZ_SECONDS="${LAB_FUZZ_SECONDS:-10}"
}

@test "memcheck: every lesson at a small size has no memory errors and no leaks" {
    [ -z "${LAB_SANITIZED:-}" ] || skip "valgrind cannot run sanitized programs"
    run -0 env LAB_BIN="$LAB_BIN" "$LAB_TOP/scripts/memcheck"
    [ "$(grep -c ': clean$' <<<"$output")" -ge 16 ]
}

@test "memcheck fails on a program that leaks" {
    [ -z "${LAB_SANITIZED:-}" ] || skip "valgrind cannot run sanitized programs"
    mkdir -p "$BATS_TEST_TMPDIR/bin"
    printf '#include <stdlib.h>\nint main(void) { volatile char *p = malloc(64); p[0] = 1; p = 0; return 0; }\n' \
        >"$BATS_TEST_TMPDIR/leak.c"
    cc -g -o "$BATS_TEST_TMPDIR/bin/io_sync" "$BATS_TEST_TMPDIR/leak.c"
    run -1 env LAB_BIN="$BATS_TEST_TMPDIR/bin" "$LAB_TOP/scripts/memcheck" io_sync
    [[ "$output" == *"definitely lost"* ]]
}

@test "memcheck: a name that is no lesson in the folder is one line, exit 2 (it read as a lesson that FAILED)" {
    for name in no_such_lesson ../bin/io_sync /bin/true; do
        run -2 --separate-stderr env LAB_BIN="$LAB_BIN" "$LAB_TOP/scripts/memcheck" "$name"
        [ "$stderr" = "scripts/memcheck: no lesson '$name' in $LAB_BIN" ] || { echo "$name: $stderr" >&2; false; }
        [ -z "$output" ]
    done
}

@test "limits that cannot work are refused up front: more workers than open files allow" {
    export LAB_URL=http://127.0.0.1:9/
    for cmd in "io_threads --workers 200 --requests 400" \
               "io_multiprocessing --workers 200 --requests 400" \
               "io_async --workers 200 --requests 400" \
               "cpu_multiprocessing --workers 200 --tasks 300" \
               "sum_chunks_manager --chunks 200 --numbers 1000"; do
        run -2 --separate-stderr bash -c "ulimit -n 64 && ulimit -Hn 64 && exec $LAB_BIN/$cmd"
        [ "${#stderr_lines[@]}" = 1 ]
        [[ "$stderr" == *"open files"* ]]
    done
}

@test "--trace replaces an existing file whole, through a temporary name" {
    export LAB_URL=http://127.0.0.1:9/   # refused at once: every request fails
    trace=$BATS_TEST_TMPDIR/trace.json
    for cmd in "io_sync --requests 3" "io_threads --requests 3" "io_multiprocessing --requests 3 --workers 2" \
               "cpu_sync --tasks 3 --size 1000" "cpu_threads --tasks 3 --size 1000" \
               "cpu_multiprocessing --tasks 3 --size 1000"; do
        head -c 1000000 /dev/zero | tr '\0' x >"$trace"     # longer than any trace here
        # shellcheck disable=SC2086   # the words split on purpose
        run --separate-stderr "$LAB_BIN"/$cmd --trace "$trace"
        [ "$status" -le 1 ]
        run -0 /usr/bin/python3 -c 'import json, sys
t = json.load(open(sys.argv[1]))
print(sum(e["ph"] == "X" for e in t["traceEvents"]))' "$trace"
        [ "$output" = 3 ] || { echo "$cmd: $output spans" >&2; false; }
        [ "$(find "$BATS_TEST_TMPDIR" -name 'trace.json.*' | wc -l)" = 0 ]
    done
}

@test "a lesson stopped by SIGINT dies of it, for the shell and for python's subprocess alike" {
    for lesson in cpu_sync cpu_threads cpu_multiprocessing; do
        run -0 /usr/bin/python3 -c '
import signal, subprocess, sys, time
p = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
time.sleep(0.5)
p.send_signal(signal.SIGINT)
print(p.wait())' "$LAB_BIN/$lesson" --tasks 4 --size 100_000_000_000 --workers 2 3>&-
        [ "$output" = -2 ] || { echo "$lesson: returncode $output" >&2; false; }
        run -130 bash -c '"$@" & sleep 0.5; kill -INT $!; wait $!' _ \
            "$LAB_BIN/$lesson" --tasks 4 --size 100_000_000_000 --workers 2
    done
}

@test "a forked child never runs the exit handlers: the parent's run once, or not at all when a signal ends it" {
    preload_library atexit <<'C'
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
static void said(void) { fprintf(stderr, "exit handler in %d\n", (int)getpid()); }
__attribute__((constructor)) static void hook(void) { atexit(said); }
C
    export LAB_URL=http://127.0.0.1:9/   # every request refused: the failure paths too
    for cmd in "io_multiprocessing --requests 6 --workers 3" \
               "cpu_multiprocessing --tasks 6 --size 1000 --workers 3"; do
        # shellcheck disable=SC2086   # the words split on purpose
        run --separate-stderr env LD_PRELOAD="$BATS_TEST_TMPDIR/atexit.so" "$LAB_BIN"/$cmd
        [ "$(grep -c 'exit handler in' <<<"$stderr")" = 1 ] || { echo "$cmd: $stderr" >&2; false; }
    done
    run -130 --separate-stderr bash -c '"$@" & sleep 0.5; kill -INT $!; wait $!' _ \
        env LD_PRELOAD="$BATS_TEST_TMPDIR/atexit.so" "$LAB_BIN/cpu_multiprocessing" \
        --tasks 4 --size 100_000_000_000 --workers 2
    [ "$(grep -c 'exit handler in' <<<"$stderr")" = 0 ]
}
