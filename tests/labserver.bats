#!/usr/bin/env bats
# The lab server: real nginx on loopback, in a folder of its own.

load helpers

setup_file() { lab_server_start; }
teardown_file() { lab_server_stop; }

@test "start prints a loopback URL, and a second start reuses the server" {
    [[ "$LAB_BASE" =~ ^http://127\.0\.0\.1:[0-9]+$ ]]
    run -0 "$LAB_TOP/scripts/labserver" start
    [ "$output" = "$LAB_BASE" ]
    run -0 "$LAB_TOP/scripts/labserver" url
    [ "$output" = "$LAB_BASE" ]
}

@test "nginx listens on 127.0.0.1 only" {
    port=${LAB_BASE##*:}
    run -0 grep -c "listen 127.0.0.1:$port" "$LAB_SERVER_DIR/nginx.conf"
    run -0 grep -c "listen" "$LAB_SERVER_DIR/nginx.conf"
    [ "$output" = 1 ]
}

@test "/delay answers the body size asked for, after the latency asked for" {
    start=$(date +%s%N)
    run -0 curl -fsS "$LAB_BASE/delay?s=0.3&bytes=17"
    elapsed_ms=$(( ($(date +%s%N) - start) / 1000000 ))
    [ "$output" = "xxxxxxxxxxxxxxxxx" ]
    [ "$elapsed_ms" -ge 300 ]
    run -0 curl -fsS -o /dev/null -w '%{size_download}' "$LAB_BASE/delay?bytes=100000"
    [ "$output" = 100000 ]
}

@test "the cats are 20 files of 100000+i bytes, and cat 21 is missing" {
    for cat_id in 1 7 20; do
        run -0 curl -fsS -o /dev/null -w '%{size_download}' "$LAB_BASE/cats/$cat_id.jpg"
        [ "$output" = $((100000 + cat_id)) ]
    done
    run -0 curl -sS -o /dev/null -w '%{http_code}' "$LAB_BASE/cats/21.jpg"
    [ "$output" = 404 ]
}

@test "the throttled location answers 503 past its limit" {
    codes=$(for i in $(seq 12); do curl -s -o /dev/null -w '%{http_code}\n' "$LAB_BASE/throttled?s=0.3" & done; wait)
    [ "$(grep -c 200 <<<"$codes")" -ge 1 ]
    [ "$(grep -c 503 <<<"$codes")" -ge 1 ]
}

@test "status and drop locations fail as asked" {
    run -0 curl -sS -o /dev/null -w '%{http_code}' "$LAB_BASE/status/503"
    [ "$output" = 503 ]
    run -52 curl -sS "$LAB_BASE/drop"     # 52: empty reply from server
}

@test "a port in use is not fatal, and stop leaves no process behind" {
    export LAB_SERVER_DIR="$BATS_TEST_TMPDIR/second"
    run -0 "$LAB_TOP/scripts/labserver" start
    second=$output
    [ "$second" != "$LAB_BASE" ]
    pid=$(cat "$LAB_SERVER_DIR/nginx.pid")
    kids=$(pgrep -P "$pid")
    run -0 "$LAB_TOP/scripts/labserver" stop
    all_gone "$pid" $kids
    run -3 "$LAB_TOP/scripts/labserver" status
    [ "$output" = stopped ]
}

@test "a stale pid file is handled" {
    export LAB_SERVER_DIR="$BATS_TEST_TMPDIR/stale"
    mkdir -p "$LAB_SERVER_DIR"
    echo 999999 >"$LAB_SERVER_DIR/nginx.pid"
    run -3 "$LAB_TOP/scripts/labserver" status
    run -0 "$LAB_TOP/scripts/labserver" start
    [[ "$output" =~ ^http://127\.0\.0\.1: ]]
    run -0 "$LAB_TOP/scripts/labserver" stop
}

@test "bad usage exits 2" {
    run -2 "$LAB_TOP/scripts/labserver" launch
}

@test "a word after the command is refused, exit 2, and starts nothing" {
    export LAB_SERVER_DIR="$BATS_TEST_TMPDIR/extra"
    run --separate-stderr "$LAB_TOP/scripts/labserver" start "$BATS_TEST_TMPDIR/other"
    local started=0
    "$LAB_TOP/scripts/labserver" status >/dev/null || started=$?
    "$LAB_TOP/scripts/labserver" stop 3>&-     # whatever happened, none is left
    [ "$status" -eq 2 ]
    [[ "${stderr_lines[0]}" == *"unexpected argument '$BATS_TEST_TMPDIR/other' after start"* ]]
    [ -z "$output" ]
    [ "$started" -eq 3 ]                        # status: stopped
}

@test "a LAB_SERVER_DIR that cannot be a folder is one line naming it, exit 2" {
    touch "$BATS_TEST_TMPDIR/file"
    long=$BATS_TEST_TMPDIR/$(printf 'x%.0s' {1..300})
    for dir in "$BATS_TEST_TMPDIR/file" "$BATS_TEST_TMPDIR/file/sub" "$long"; do
        for command in start status stop; do
            run -2 --separate-stderr env LAB_SERVER_DIR="$dir" "$LAB_TOP/scripts/labserver" "$command"
            [ "${#stderr_lines[@]}" = 1 ] || { echo "$dir $command: $stderr" >&2; false; }
            [[ "$stderr" == "scripts/labserver: LAB_SERVER_DIR: "* ]] || { echo "$dir $command: $stderr" >&2; false; }
        done
    done
    # A folder it may not write in (root may write anywhere: run as nobody).
    if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null; then
        mkdir "$BATS_TEST_TMPDIR/ro"
        run -2 --separate-stderr env LAB_SERVER_DIR="$BATS_TEST_TMPDIR/ro" \
            setpriv --reuid=65534 --regid=65534 --clear-groups "$LAB_TOP/scripts/labserver" start
        # "cannot write in" it, or "cannot use" it when a folder above is closed to nobody.
        [ "${#stderr_lines[@]}" = 1 ] && [[ "$stderr" == "scripts/labserver: LAB_SERVER_DIR: cannot "* ]]
    fi
}

# ---- A hostile user -----------------------------------------------------------------

# The pids of the nginx processes that hold folder $1's error log open.
nginx_of() {
    local pid fd
    for pid in $(pgrep -x nginx); do
        for fd in /proc/"$pid"/fd/*; do
            [ "$(readlink "$fd" 2>/dev/null)" != "$1/error.log" ] || { echo "$pid"; break; }
        done
    done
}

@test "three starts at once make one server, and stop stops it" {
    export LAB_SERVER_DIR="$BATS_TEST_TMPDIR/three"
    for i in 1 2 3; do "$LAB_TOP/scripts/labserver" start >"$BATS_TEST_TMPDIR/url.$i" 3>&- & done
    wait
    [ "$(sort -u "$BATS_TEST_TMPDIR"/url.* | wc -l)" -eq 1 ]
    [ "$(nginx_of "$LAB_SERVER_DIR" | wc -l)" -eq 2 ]     # a master and its worker
    run -0 "$LAB_TOP/scripts/labserver" stop
    [ -z "$(nginx_of "$LAB_SERVER_DIR")" ]
}

@test "stop in a copy of the server's folder leaves the original running" {
    cp -a "$LAB_SERVER_DIR" "$BATS_TEST_TMPDIR/copy"
    LAB_SERVER_DIR="$BATS_TEST_TMPDIR/copy" run -0 "$LAB_TOP/scripts/labserver" stop
    run -0 curl -fsS "$LAB_BASE/"
    run -0 "$LAB_TOP/scripts/labserver" status
}

@test "after a kill -9 of the master, stop also ends its orphaned worker" {
    export LAB_SERVER_DIR="$BATS_TEST_TMPDIR/orphan"
    run -0 "$LAB_TOP/scripts/labserver" start
    base=$output
    master=$(cat "$LAB_SERVER_DIR/nginx.pid")
    worker=$(pgrep -P "$master")
    kill -9 "$master"
    wait_until "! kill -0 $master 2>/dev/null" 5
    run -0 curl -fsS "$base/"          # the worker still serves
    run -0 "$LAB_TOP/scripts/labserver" stop
    wait_until "all_gone $worker" 5
    run -7 curl -sS "$base/"
}

@test "a folder with spaces, quotes or a @NAME@ of server/nginx.conf in its path serves and stops" {
    for folder in "with space/lab server" 'a "quoted\ name' "lab @PORT@ @LETTERS@"; do
        export LAB_SERVER_DIR="$BATS_TEST_TMPDIR/$folder"
        run -0 "$LAB_TOP/scripts/labserver" start
        run -0 curl -fsS -o /dev/null -w '%{size_download}' "$output/cats/3.jpg"
        [ "$output" = 100003 ]
        run -0 "$LAB_TOP/scripts/labserver" stop
        [ -z "$(nginx_of "$(cd "$LAB_SERVER_DIR" && pwd -P)")" ]
    done
    # A $ would be an nginx variable: refused in one line, nothing started.
    export LAB_SERVER_DIR="$BATS_TEST_TMPDIR/cost \$5"
    run -1 --separate-stderr "$LAB_TOP/scripts/labserver" start
    [[ "$stderr" == *"holds a \$ or a line break, which nginx cannot take" ]]
    [ "${#stderr_lines[@]}" -eq 1 ]
    [ -z "$(nginx_of "$LAB_SERVER_DIR")" ]
}
