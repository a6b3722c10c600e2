#!/usr/bin/env bash
# Run-once scale benchmark: the whole `goalkeeper --run-once` with goals (ingest, sync, alerts, time pass,
# dispatch to the file transport) at several numbers of users, with peak RSS and phase times.
#
# For each N in USER_COUNTS (default "2000 8000 32000"): generates N users x MONTHS (12) months with
# ../shared/bench/gen_snapshots.py, imports users and goals, copies the inbox, then times one
# `nice /usr/bin/time -v goalkeeper --run-once` at NOW (2026-01-02T12:00:00Z) on SQLite.
# Reports wall time, peak RSS and the phases (inbox, time pass, dispatch) from the run-once debug line.
#
# Targets (issue 16 req 2): peak RSS < 150 MB at 8,000 users, and at most +20 % from 8,000 to 32,000.
# It prints PASS/FAIL but exits 0 unless a command failed: it is a benchmark, not a test.
#
# Run from the repository root:   bench/run-once.sh
# Environment: USER_COUNTS="2000 8000 32000"  MONTHS=12  NOW=RFC3339  OUT=DIR (outside the repo; default mktemp)
#              KEEP=1 (keep OUT)  GK=PATH (use this binary instead of building)  GEN=PATH (the generator)
set -euo pipefail

USER_COUNTS=${USER_COUNTS:-"2000 8000 32000"}
MONTHS=${MONTHS:-12}
NOW=${NOW:-2026-01-02T12:00:00Z}
KEEP=${KEEP:-0}
script_dir=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$script_dir/.." && pwd)
# ../shared beside the repository (a worktree at /work/wt/NAME finds it two levels up).
gen=${GEN:-"$repo/../shared/bench/gen_snapshots.py"}
[[ -f $gen || -n ${GEN:-} ]] || gen="$repo/../../shared/bench/gen_snapshots.py"
[[ -f $gen ]] || { echo "bench: generator not found at $gen" >&2; exit 2; }
[[ -x /usr/bin/time ]] || { echo "bench: /usr/bin/time is required (apt-get install time)" >&2; exit 2; }

created_out=0
if [[ -z ${OUT:-} ]]; then
    OUT=$(mktemp -d "${TMPDIR:-/tmp}/goalkeeper-run-once.XXXXXX")
    created_out=1
fi
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd -P)
case "$OUT/" in "$(realpath -- "$repo")/"*) echo "bench: OUT must be outside the repository" >&2; exit 2 ;; esac
cleanup() { if [[ $KEEP != 1 && $created_out == 1 ]]; then rm -rf -- "$OUT"; fi; }
trap cleanup EXIT

if [[ -n ${GK:-} ]]; then
    gk=$GK
else
    echo "== building (cargo build --release)" >&2
    (cd "$repo" && nice cargo build --release --quiet)
    gk="${CARGO_TARGET_DIR:-$repo/target}/release/goalkeeper"
fi
[[ -x $gk ]] || { echo "bench: $gk was not built" >&2; exit 2; }

now() { date +%s.%N; }
phase() {
    python3 -c 'import re,sys; m=re.search(sys.argv[1]+r"=(\d+)", open(sys.argv[2]).read()); print(f"{int(m.group(1))/1000:.2f}" if m else "nan")' "$1" "$2"
}

declare -A rss_mb
rows=()
for users in $USER_COUNTS; do
    data="$OUT/data-$users"
    if [[ ! -f $data/goals.csv ]]; then
        echo "== generating --users $users --months $MONTHS" >&2
        nice python3 "$gen" --users "$users" --months "$MONTHS" --out "$data" >&2
    fi
    work="$OUT/work-$users"
    rm -rf -- "$work"
    mkdir -p "$work/inbox"
    (
        cd "$work"
        export GOALKEEPER__DATABASE__URL="sqlite://$work/gk.db"
        export GOALKEEPER__INBOX__DIR="$work/inbox"
        export GOALKEEPER__INBOX__PROCESSED_DIR="$work/processed"
        export GOALKEEPER__INBOX__FAILED_DIR="$work/failed"
        export GOALKEEPER__EMAIL__FILE__DIR="$work/outbox"
        export GOALKEEPER_NOW="$NOW"
        export RUST_LOG=warn,goalkeeper::commands::run_once=debug
        "$gk" migrate >/dev/null
        "$gk" users import "$data/users.csv" >/dev/null
        "$gk" goals import "$data/goals.csv" >/dev/null
        cp -- "$data"/inbox/*.csv "$work/inbox/"
        sync
        echo "== --run-once at $users users" >&2
        t0=$(now)
        nice /usr/bin/time -v -o "$work/time.txt" "$gk" --run-once >"$work/run.out" 2>"$work/run.err"
        t1=$(now)
        python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.2f}')" "$t0" "$t1" >"$work/seconds"
    )
    kb=$(awk -F': *' '/Maximum resident set size/ {print $2}' "$work/time.txt")
    rss_mb[$users]=$(python3 -c "print(f'{$kb / 1024:.1f}')")
    goals=$(( $(wc -l <"$data/goals.csv") - 1 ))
    rows+=("$(printf '%7s %7s %8ss %9s MB %8ss %9ss %9ss' "$users" "$goals" "$(<"$work/seconds")" "${rss_mb[$users]}" \
        "$(phase inbox_ms "$work/run.err")" "$(phase time_pass_ms "$work/run.err")" "$(phase dispatch_ms "$work/run.err")")")
    rows+=("        $(tr '\n' ' ' <"$work/run.out")")
done

echo
echo "goalkeeper run-once scale benchmark ($(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) CPUs, SQLite, file transport, NOW=$NOW)"
printf '%7s %7s %9s %12s %9s %10s %10s\n' users goals wall "peak RSS" inbox "time pass" dispatch
printf '%s\n' "${rows[@]}"
if [[ -n ${rss_mb[8000]:-} ]]; then
    r=${rss_mb[8000]}
    echo "$(python3 -c "print('PASS' if $r < 150 else 'FAIL')") peak RSS at 8,000 users: $r MB (target < 150 MB)"
    if [[ -n ${rss_mb[32000]:-} ]]; then
        g=$(python3 -c "print(f'{(${rss_mb[32000]} / $r - 1) * 100:+.0f}')")
        echo "$(python3 -c "print('PASS' if ${rss_mb[32000]} <= 1.2 * $r else 'FAIL')") RSS growth 8,000 -> 32,000 users: ${g} % (target <= +20 %)"
    fi
fi
exit 0
