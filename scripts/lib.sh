#!/usr/bin/env bash
# The core every script in scripts/ sources: messages and options, the
# results folder's lock, the lab server's lifecycle, a lesson's command
# under its plan's launcher, a job list run in interleaved rounds, files
# written whole, a report step started. CSV is read by Python's csv module
# in the report steps (scripts/report/), and by miller in scripts/reproduce
# for its table on stdout: no script splits or quotes a CSV line by hand
# but scripts/run, which writes the rows. Fd 8 holds the results lock;
# what starts from here closes it.

# The project's folder, without a subshell (scripts/run starts often).
top=${BASH_SOURCE[0]%/*}
[[ "$top" == /* ]] || top=$PWD/$top
top=${top%/.}
top=${top%/scripts}
[ "$top" != "${BASH_SOURCE[0]%/*}" ] || top=$(cd "$top/.." && pwd)
me=scripts/${0##*/}

# A script's usage is the comment block at its top, up to a line "#".
usage() { sed -n '2,/^#$/{/^#$/q;s/^# \{0,1\}//;p}' "$0"; }
say() { echo "$me: $*" >&2; }
die() { say "$*"; exit 1; }
die_usage() { say "$* (see $me --help)"; exit 2; }
# options "NAME FLAG! LIST+ ..." "$@": --NAME VALUE sets $NAME (a - in NAME
# is a _ in the variable), --FLAG sets $FLAG to 1, each --LIST VALUE adds a
# word to $LIST; --help prints the usage; anything else is refused. A
# spec ending in " --" stops at the first word that is not an option (or
# after a --): that word and the rest are a command, left in the array rest.
options() {
    local spec=" $1 " opt name
    shift
    while [ $# -gt 0 ]; do
        opt=${1#--}
        name=${opt//-/_}
        case "$1" in
            -h|--help) usage; exit 0 ;;
            --) [[ "$spec" != *" -- "* ]] || { shift; break; } ;;
            --*) ;;
            *) [[ "$spec" != *" -- "* || "$1" == -* ]] || break; opt=- ;;
        esac
        if [[ "$spec" == *" $opt! "* ]]; then printf -v "$name" 1; shift; continue; fi
        [[ "$spec" == *" $opt "* || "$spec" == *" $opt+ "* ]] || die_usage "unknown argument '$1'"
        [ $# -ge 2 ] || die_usage "$1 needs a value"
        if [[ "$spec" == *" $opt+ "* ]]; then printf -v "$name" '%s %s' "${!name}" "$2"; else printf -v "$name" %s "$2"; fi
        shift 2
    done
    rest=("$@")
}

work=$(mktemp -d "${TMPDIR:-/tmp}/lab.XXXXXX")
lab_cleanup() {
    server_down
    rm -rf "$work"
}
trap lab_cleanup EXIT

# One measurement at a time per results folder (a second would mix its rows
# with the first's): the second refuses, with one line.
lock_results() {   # lock_results DIR
    mkdir -p "$1"
    exec 8<"$1"
    flock -n 8 || die "another measurement is writing to $1: wait for it to end, or give another folder"
}

# ---- The lab server ----------------------------------------------------------
# server_up starts it unless it runs and exports its URL in LAB_URL. Every
# run that uses it leaves its pid in the server folder's users/; at the end,
# the last one out stops it, and only if one of them started it (a server
# started by hand stays up).
server_dir=
server_up() {
    server_dir=${LAB_SERVER_DIR:-$top/.lab/server}
    mkdir -p "$server_dir/users"
    : >"$server_dir/users/$$"
    if ! "$top/scripts/labserver" status >/dev/null 2>&1 8<&-; then
        : >"$server_dir/started-by-run"
    fi
    LAB_URL=$("$top/scripts/labserver" start 8<&-) || exit 1
    export LAB_URL
}
server_down() {
    local user
    [ -n "$server_dir" ] || return 0
    rm -f "$server_dir/users/$$"
    for user in "$server_dir"/users/*; do
        [ -e "$user" ] || continue
        if kill -0 "${user##*/}" 2>/dev/null; then server_dir=; return 0; fi
        rm -f "$user"
    done
    if [ -e "$server_dir/started-by-run" ]; then
        "$top/scripts/labserver" stop 8<&- || true
        rm -f "$server_dir/started-by-run"
    fi
    server_dir=
}

# ---- Running a job list ------------------------------------------------------
# A job is a line TAG LATENCY_MS REPEAT PROGRAM ARG... ('-': none), its
# words apart by \x1f (job_line writes it: a path may hold spaces).
# run_jobs runs them in interleaved rounds: round r runs every job whose
# REPEAT is r or more, so a slow minute of the machine spreads over every
# job instead of spoiling the repeats of one. Each run goes through
# scripts/run into RUNS_CSV, in a process group of its own; a PROGRAM :NAME
# calls the caller's take_NAME TAG ARG... instead (LAB_ROUND: the round).
# A signal gives the run under way a ^C (SIGINT to its group): the lesson
# stops and reports, scripts/run records it, then this exits 128+signal.
# jobs_failed counts the runs that failed.
job_line() { local IFS=$'\x1f'; echo "$*"; }
on_signal() {
    stop_signal=$1
    [ -z "$child" ] || kill -INT -- "-$child" 2>/dev/null || true
}
# Run a command as the run under way (of run_jobs): in a process group of
# its own, so that a signal reaches it as a ^C (on_signal); its status.
run_child() {   # run_child COMMAND...
    local status
    "$@" </dev/null 8<&- &
    child=$!
    # wait returns early when a signal is trapped: wait again until the
    # run has really ended, to learn its status.
    while :; do
        wait "$child" && status=0 || status=$?
        kill -0 "$child" 2>/dev/null || break
    done
    child=
    return "$status"
}
run_jobs() {   # run_jobs JOBS RUNS_CSV
    local jobs=$1 out=$2 rounds=0 round index=0 status
    local -a job
    LAB_RUN_TOTAL=0
    while IFS=$'\x1f' read -ra job; do
        LAB_RUN_TOTAL=$((LAB_RUN_TOTAL + job[2]))
        [ "${job[2]}" -le "$rounds" ] || rounds=${job[2]}
    done <"$jobs"
    export LAB_RUN_TOTAL
    [ -n "${LAB_MACHINE:-}" ] || { LAB_MACHINE=$("$top/scripts/run" --machine); export LAB_MACHINE; }
    jobs_failed=0
    stop_signal=0
    child=
    trap 'on_signal 130' INT
    trap 'on_signal 143' TERM
    trap 'on_signal 129' HUP
    set -m
    for ((round = 1; round <= rounds; round++)); do
        while IFS=$'\x1f' read -ra job; do
            [ "${job[2]}" -ge "$round" ] || continue
            [ "$stop_signal" -eq 0 ] || break 2
            index=$((index + 1))
            status=0
            if [[ "${job[3]}" == :* ]]; then
                LAB_ROUND=$round LAB_RUN_INDEX=$index "take_${job[3]#:}" "${job[0]}" "${job[@]:4}" </dev/null || status=$?
            else
                local -a opts=(--out "$out" --repeat 1 --round "$round")
                [ "${job[0]}" = - ] || opts+=(--tag "${job[0]}")
                [ "${job[1]}" = - ] || opts+=(--latency-ms "${job[1]}")
                LAB_RUN_INDEX=$index run_child "$top/scripts/run" "${opts[@]}" -- "${job[@]:3}" || status=$?
            fi
            [ "$status" -eq 0 ] || jobs_failed=$((jobs_failed + 1))
        done <"$jobs"
    done
    set +m
    trap - INT TERM HUP
    if [ "$stop_signal" -ne 0 ]; then
        say "interrupted after $index of $LAB_RUN_TOTAL runs; what ran is in $out"
        exit "$stop_signal"
    fi
}

# Does PROGRAM take every --option among the WORDS? Its --help must name
# it; otherwise REPLY is the first option it does not take.
declare -A help_of=()
accepts() {   # accepts PROGRAM WORD...
    local program=$1 word
    shift
    [ -n "${help_of[$program]+set}" ] || help_of[$program]=$("$program" --help 2>/dev/null </dev/null) || true
    for word in "$@"; do
        REPLY=${word%%=*}
        [[ "$word" != --* ]] || grep -q -- "^ *$REPLY\b" <<<"${help_of[$program]}" || return 1
    done
}

# How a lesson is started: a plan's `launch GLOB WORDS...` lines, kept in
# launchers[GLOB] (plans/matrix.plan and plans/bench.plan have them).
declare -A launchers=()
# The command of LESSON ARG... in the array command: the launcher whose glob
# matches LESSON (@bin/@lesson when none does), with @bin ($bin), @top,
# @lesson, @workers (the --workers among the ARGs, or 1) and @ranks
# (@workers + 1) put in, then the ARGs. A lesson written LESSON+VARIANT
# runs LESSON under the launcher whose glob matches LESSON+VARIANT
# (cpu_mpi+tcp: cpu_mpi over TCP).
command_of() {   # command_of LESSON ARG...
    local lesson=$1 glob launcher='@bin/@lesson' workers=1 word
    local -a launch
    shift
    for glob in "${!launchers[@]}"; do
        # shellcheck disable=SC2053  # the plan's glob
        [[ "$lesson" != $glob ]] || launcher=${launchers[$glob]}
    done
    lesson=${lesson%%+*}
    [[ ! " $* " =~ \ --workers\ ([0-9]+)\  ]] || workers=${BASH_REMATCH[1]}
    read -ra launch <<<"$launcher"
    command=()
    for word in "${launch[@]}"; do
        word=${word//@bin/"$bin"}
        word=${word//@top/"$top"}
        word=${word//@lesson/"$lesson"}
        word=${word//@ranks/"$((workers + 1))"}
        command+=("${word//@workers/"$workers"}")
    done
    command+=("$@")
}

# The latency a /delay?s=SECONDS URL among the words asks for, in ms, or '-'.
latency_of() {
    [[ "$*" =~ /delay\?([^ ]*\&)?s=([0-9.]+) ]] || { echo -; return; }
    awk -v s="${BASH_REMATCH[2]}" 'BEGIN { printf "%g\n", s * 1000 }'
}

# Say so up front when other work on the machine will make timings spread.
warn_if_busy() {
    local load
    read -r load _ </proc/loadavg || load=0
    [ "${load%%.*}" -lt 1 ] || say "the machine is busy (load average $load on $(nproc) CPUs): expect spread"
}

# ---- Files written whole -----------------------------------------------------
# Put the finished file SRC at DEST: through a temporary file renamed over
# DEST, so a reader never sees half of it, made with the caller's umask.
# What is not a regular file (a device, a pipe) is written in place; a link
# is followed only to a file in its own folder.
place() {   # place SRC DEST
    local dest=$2 target tmp
    [[ -n "$dest" && ! -d "$dest" ]] || die "cannot write '$dest': not a file"
    if [ -L "$dest" ]; then
        target=$(readlink -f -- "$dest") || die "$dest: a broken link"
        [ "${target%/*}" = "$(cd "$(dirname -- "$dest")" && pwd -P)" ] ||
            die "$dest is a link out of its folder (to $target): not followed"
        dest=$target
    fi
    if [ -e "$dest" ] && [ ! -f "$dest" ]; then
        cat -- "$1" >"$dest" || die "cannot write $dest"
        return
    fi
    tmp=$(dirname -- "$dest")/.${dest##*/}.$$.tmp
    (set -C; cat -- "$1" >"$tmp") 2>/dev/null || { rm -f -- "$tmp"; die "cannot write $dest"; }
    mv -f -- "$tmp" "$dest"
}

# Draw plots/NAME.gp as DIR/AS.png and DIR/AS.svg (AS: NAME unless given),
# gnuplot variables given as "a=1; b='text'" (plots/style.gp sets the
# terminal from fmt). The charts in DIR are replaced only once both new ones
# are whole.
draw() {   # draw NAME DIR SETTINGS [AS]
    local fmt as=${4:-$1}
    for fmt in png svg; do
        (cd "$top/plots" && gnuplot -e "$3; fmt='$fmt'; out=$(gp_text "$work/$as")" "$1.gp" && [ -s "$work/$as.$fmt" ]) ||
            die "gnuplot failed on plots/$1.gp: $2/$as.png and .svg are left as they were"
    done
    place "$work/$as.png" "$2/$as.png"
    place "$work/$as.svg" "$2/$as.svg"
    say "$2/$as.png $2/$as.svg"
}

# Text for a gnuplot string in single quotes, where only '' is special.
gp_text() { local s=${1//\'/\'\'}; echo "'$s'"; }

# Put results/NAME.md into the README between its markers
# "<!-- results/NAME.md -->" and "<!-- end of results/NAME.md -->".
readme_include() {   # readme_include FILE.md
    local name=results/${1##*/} readme=$top/README.md
    grep -qxF "<!-- $name -->" "$readme" 2>/dev/null || return 0
    awk -v name="$name" -v md="$1" '
        $0 == "<!-- " name " -->" { print; while ((getline line < md) > 0) print line; skip = 1; next }
        $0 == "<!-- end of " name " -->" { skip = 0 }
        !skip' "$readme" >"$work/README.md"
    place "$work/README.md" "$readme"
}

# A report step, scripts/report/NAME.py, under the system's Python (the
# one scripts/deps installs), its messages under this script's name.
report() { LAB_ME=$me /usr/bin/python3 "$top/scripts/report/$1.py" "${@:2}"; }
