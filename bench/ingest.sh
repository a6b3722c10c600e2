#!/usr/bin/env bash
# Ingest benchmark: goalkeeper --run-once versus `sqlite3 .import` on the same lines.
#
# Generates the workload with ../shared/bench/gen_snapshots.py (default
# --users 8000 --months 12, about 1.2 million snapshot lines), then, in the
# same run on the same machine:
#   1. times one sqlite3 invocation that `.import`s every inbox file into a
#      fresh database with an 8-column table (the baseline);
#   2. times `goalkeeper --run-once` over all the files into a fresh SQLite
#      database, with peak RSS from /usr/bin/time -v;
#   3. runs goalkeeper again over only the first 3 months' files (fresh
#      database) to show peak RSS does not grow with the number of files.
#
# Targets: goalkeeper time <= 1.5 x sqlite3 .import time; peak RSS < 150 MB.
# Prints PASS/FAIL per target but exits 0 unless a command failed: it is a
# benchmark, not a test.
#
# Run from the repository root:   bench/ingest.sh
# Environment overrides:
#   USERS=8000  MONTHS=12     workload size
#   FILES_PER_MONTH=1         split each month into N inbox files (same lines,
#                             more files: shows whether RSS grows with files)
#   OUT=DIR                   where data and databases go (default: mktemp -d;
#                             must be outside the repository)
#   KEEP=1                    keep OUT at exit (default: removed if created here)
#   GEN=PATH                  the workload generator (default ../shared/bench/gen_snapshots.py
#                             next to the repository)
#   CARGO_TARGET_DIR          where cargo builds (the binary is taken from there)
#   GK=PATH                   benchmark this goalkeeper binary instead of building one
#   RUNS=1                    run the ingest-only and the with-goals inbox this many
#                             times each, alternating, and judge the sync ratio on
#                             their medians (single runs on a small VM vary by ±0.3 s)
#   NOW=RFC3339               the instant every goalkeeper command runs at (default
#                             2026-01-02T12:00:00Z, just after the generated months):
#                             quiet hours, caps and deadlines, and so the emails sent,
#                             do not depend on the hour the benchmark runs
set -euo pipefail

USERS=${USERS:-8000}
MONTHS=${MONTHS:-12}
FILES_PER_MONTH=${FILES_PER_MONTH:-1}
KEEP=${KEEP:-0}
RUNS=${RUNS:-1}
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || { echo "bench: RUNS must be a positive whole number, not ${RUNS@Q}" >&2; exit 2; }
NOW=${NOW:-2026-01-02T12:00:00Z}
SCALE_MONTHS=3
TARGET_RATIO=1.5
TARGET_RSS_MB=150

script_dir=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$script_dir/.." && pwd)
gen=${GEN:-"$(dirname "$0")/../../shared/bench/gen_snapshots.py"}
if [[ ! -f $gen ]]; then
    echo "bench: generator not found at $gen" >&2
    exit 2
fi
gen=$(cd "$(dirname "$gen")" && pwd)/$(basename "$gen")

# --- tools -----------------------------------------------------------------
apt_install() {
    local sudo=()
    [[ $(id -u) -eq 0 ]] || sudo=(sudo)
    echo "bench: installing $*" >&2
    "${sudo[@]}" apt-get install -y "$@" >&2 || {
        "${sudo[@]}" apt-get update >&2 && "${sudo[@]}" apt-get install -y "$@" >&2
    }
}
command -v sqlite3 >/dev/null || apt_install sqlite3
[[ -x /usr/bin/time ]] || apt_install time
command -v python3 >/dev/null || { echo "bench: python3 is required" >&2; exit 2; }

# --- output folder -----------------------------------------------------------
created_out=0
if [[ -z ${OUT:-} ]]; then
    OUT=$(mktemp -d "${TMPDIR:-/tmp}/goalkeeper-bench.XXXXXX")
    created_out=1
else
    OUT=$(realpath -m -- "$OUT")
    case "$OUT/" in
        "$(realpath -- "$repo")/"*)
            echo "bench: OUT=$OUT is inside the repository; choose a folder outside it" >&2
            exit 2
            ;;
    esac
    mkdir -p "$OUT"
fi
OUT=$(cd "$OUT" && pwd -P)
cleanup() {
    if [[ $KEEP != 1 && $created_out == 1 ]]; then
        rm -rf -- "$OUT"
    elif [[ $KEEP == 1 ]]; then
        echo "bench: kept $OUT" >&2
    fi
}
trap cleanup EXIT

now() { date +%s.%N; }
elapsed() { python3 -c 'import sys; print(f"{float(sys.argv[2]) - float(sys.argv[1]):.3f}")' "$1" "$2"; }
calc() { python3 -c "import sys; print($1)"; }

# --- build -------------------------------------------------------------------
if [[ -n ${GK:-} ]]; then
    gk=$GK
else
    echo "== building (cargo build --release)" >&2
    (cd "$repo" && cargo build --release --quiet)
    gk="${CARGO_TARGET_DIR:-$repo/target}/release/goalkeeper"
fi
[[ -x $gk ]] || { echo "bench: $gk was not built" >&2; exit 2; }

# --- workload ----------------------------------------------------------------
DATA="$OUT/data"
rm -rf -- "$DATA"
echo "== generating workload: --users $USERS --months $MONTHS --files-per-month $FILES_PER_MONTH" >&2
t0=$(now)
python3 "$gen" --users "$USERS" --months "$MONTHS" --files-per-month "$FILES_PER_MONTH" --out "$DATA" >&2
gen_s=$(elapsed "$t0" "$(now)")

mapfile -t files < <(find "$DATA/inbox" -maxdepth 1 -name '*.csv' -type f | LC_ALL=C sort)
nfiles=${#files[@]}
(( nfiles > 0 )) || { echo "bench: the generator wrote no inbox files" >&2; exit 2; }
total_lines=$(cat -- "${files[@]}" | wc -l)
data_lines=$(( total_lines - nfiles ))
data_bytes=$(cat -- "${files[@]}" | wc -c)
scale_files=("${files[@]:0:$(( SCALE_MONTHS * FILES_PER_MONTH ))}")
scale_lines=$(( $(cat -- "${scale_files[@]}" | wc -l) - ${#scale_files[@]} ))

# --- baseline: sqlite3 .import -------------------------------------------------
BASE_DB="$OUT/baseline.db"
rm -f -- "$BASE_DB" "$BASE_DB"-*
{
    echo "CREATE TABLE snapshot_lines (user_id TEXT, period TEXT, kind TEXT, account TEXT, category TEXT, amount TEXT, rate TEXT, min_payment TEXT);"
    echo ".mode csv"
    for f in "${files[@]}"; do
        printf '.import --skip 1 "%s" snapshot_lines\n' "$f"
    done
} >"$OUT/baseline.sql"
echo "== sqlite3 .import of $nfiles files" >&2
sync
t0=$(now)
sqlite3 -bail "$BASE_DB" <"$OUT/baseline.sql"
sqlite_s=$(elapsed "$t0" "$(now)")
sqlite_rows=$(sqlite3 "$BASE_DB" 'SELECT count(*) FROM snapshot_lines;')
if [[ $sqlite_rows != "$data_lines" ]]; then
    echo "bench: sqlite3 imported $sqlite_rows rows, expected $data_lines" >&2
    exit 1
fi

# --- goalkeeper ------------------------------------------------------------------
# phase NAME LOG: seconds of a phase from the "run-once phases" debug line.
phase() {
    python3 -c 'import re,sys; m=re.search(sys.argv[1]+r"=(\d+)", open(sys.argv[2]).read()); print(f"{int(m.group(1))/1000:.3f}" if m else "nan")' "$1" "$2"
}

# run_goalkeeper NAME FILE... : fresh work dir, migrate + users import + copy
# (untimed), then time `--run-once`. Sets gk_s, gk_rss_kb, gk_snapshots.
run_goalkeeper() {
    local name=$1
    shift
    local work="$OUT/$name"
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
        # The phase timings of --run-once (inbox, time pass, dispatch) come from its debug log.
        export RUST_LOG=warn,goalkeeper::commands::run_once=debug
        "$gk" migrate >/dev/null
        "$gk" users import "$DATA/users.csv" >/dev/null
        if [[ ${WITH_GOALS:-0} == 1 ]]; then
            "$gk" goals import "$DATA/goals.csv" >/dev/null
        fi
        cp -- "$@" "$work/inbox/"
        sync
        local t0 t1 status=0
        t0=$(now)
        /usr/bin/time -v -o "$work/time.txt" "$gk" --run-once >"$work/run.out" 2>"$work/run.err" || status=$?
        t1=$(now)
        if (( status != 0 )); then
            echo "bench: goalkeeper --run-once exited $status" >&2
            cat "$work/run.out" "$work/run.err" >&2
            exit 1
        fi
        elapsed "$t0" "$t1" >"$work/seconds"
        RUST_LOG=error "$gk" snapshots list --json |
            python3 -c 'import json,sys; print(len(json.load(sys.stdin)))' >"$work/snapshots"
    )
    gk_s=$(<"$work/seconds")
    gk_rss_kb=$(awk -F': *' '/Maximum resident set size/ {print $2}' "$work/time.txt")
    gk_snapshots=$(<"$work/snapshots")
    gk_summary=$(<"$work/run.out")
    gk_cpu_user=$(awk -F': *' '/User time/ {print $2}' "$work/time.txt")
    gk_cpu_sys=$(awk -F': *' '/System time/ {print $2}' "$work/time.txt")
    gk_inbox_s=$(phase inbox_ms "$work/run.err")
    gk_time_pass_s=$(phase time_pass_ms "$work/run.err")
    gk_dispatch_s=$(phase dispatch_ms "$work/run.err")
    gk_db_mb=$(du -sm "$work" --exclude=inbox --exclude=processed --exclude=failed --exclude=outbox | cut -f1)
}

echo "== goalkeeper --run-once over $nfiles files" >&2
run_goalkeeper gk-all "${files[@]}"
all_s=$gk_s all_rss_kb=$gk_rss_kb all_snapshots=$gk_snapshots all_summary=$gk_summary
all_user=$gk_cpu_user all_sys=$gk_cpu_sys all_db_mb=$gk_db_mb all_inbox_s=$gk_inbox_s

echo "== goalkeeper --run-once over the first ${#scale_files[@]} files" >&2
run_goalkeeper gk-first "${scale_files[@]}"
few_s=$gk_s few_rss_kb=$gk_rss_kb few_snapshots=$gk_snapshots

echo "== goalkeeper --run-once over $nfiles files with $(( $(wc -l <"$DATA/goals.csv") - 1 )) goals (ingest + sync)" >&2
WITH_GOALS=1 run_goalkeeper gk-goals "${files[@]}"
goals_s=$gk_s goals_rss_kb=$gk_rss_kb goals_summary=$gk_summary goals_user=$gk_cpu_user goals_sys=$gk_cpu_sys
goals_inbox_s=$gk_inbox_s goals_time_pass_s=$gk_time_pass_s goals_dispatch_s=$gk_dispatch_s

# More runs of both inbox phases, alternating, for the sync ratio only.
all_inbox_runs=("$all_inbox_s")
goals_inbox_runs=("$goals_inbox_s")
for (( run = 2; run <= RUNS; run++ )); do
    echo "== run $run of $RUNS: ingest-only, then with goals" >&2
    run_goalkeeper gk-all "${files[@]}"
    all_inbox_runs+=("$gk_inbox_s")
    WITH_GOALS=1 run_goalkeeper gk-goals "${files[@]}"
    goals_inbox_runs+=("$gk_inbox_s")
done
median() { python3 -c 'import statistics, sys; print(f"{statistics.median(map(float, sys.argv[1:])):.3f}")' "$@"; }
all_inbox_med=$(median "${all_inbox_runs[@]}")
goals_inbox_med=$(median "${goals_inbox_runs[@]}")
if (( RUNS > 1 )); then
    runs_note="medians of $RUNS runs each: with goals ${goals_inbox_runs[*]} s; ingest-only ${all_inbox_runs[*]} s"
else
    runs_note="one run each; RUNS=N for medians"
fi

# --- report ----------------------------------------------------------------------
expected_snapshots=$(( USERS * MONTHS ))
expected_few=$(( USERS * (MONTHS < SCALE_MONTHS ? MONTHS : SCALE_MONTHS) ))
ratio=$(calc "f'{$all_s / $sqlite_s:.2f}'")
all_rss_mb=$(calc "f'{$all_rss_kb / 1024:.1f}'")
few_rss_mb=$(calc "f'{$few_rss_kb / 1024:.1f}'")
pass() { if [[ $(calc "$1") == True ]]; then echo PASS; else echo FAIL; fi; }

cat <<EOF

goalkeeper ingest benchmark  ($(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) CPUs, $(sqlite3 --version | cut -d' ' -f1) sqlite3)
workload            --users $USERS --months $MONTHS --files-per-month $FILES_PER_MONTH: $nfiles files, $data_lines data lines, $(calc "f'{$data_bytes / 1048576:.1f}'") MB (generated in ${gen_s}s)

sqlite3 .import     $(printf '%8.2f' "$sqlite_s") s   $(printf '%10.0f' "$(calc "$data_lines / $sqlite_s")") lines/s
goalkeeper          $(printf '%8.2f' "$all_s") s   $(printf '%10.0f' "$(calc "$data_lines / $all_s")") lines/s   (CPU user ${all_user}s, sys ${all_sys}s; database ${all_db_mb} MB)
ratio               ${ratio}x sqlite3 .import time (target <= ${TARGET_RATIO})

peak RSS, $nfiles files   $all_rss_mb MB   ($data_lines lines)
peak RSS, ${#scale_files[@]} files    $few_rss_mb MB   ($scale_lines lines, ${few_s}s)   (target < ${TARGET_RSS_MB} MB, not growing with files)
RSS growth          $(calc "f'{($all_rss_kb - $few_rss_kb) / 1024:+.1f}'") MB for $(( nfiles - ${#scale_files[@]} )) more files ($(calc "f'{($all_rss_kb - $few_rss_kb) / 1024 / max(1, $nfiles - ${#scale_files[@]}):+.2f}'") MB/file; single runs vary by up to ~10 MB)

with goals          $(printf '%8.2f' "$goals_s") s   ($(( $(wc -l <"$DATA/goals.csv") - 1 )) goals imported first; CPU user ${goals_user}s, sys ${goals_sys}s; peak RSS $(calc "f'{$goals_rss_kb / 1024:.1f}'") MB)
  of which          inbox (ingest + sync + alerts) ${goals_inbox_s}s, time-based alert pass ${goals_time_pass_s}s, email dispatch ${goals_dispatch_s}s
sync ratio          $(calc "f'{$goals_inbox_med / $all_inbox_med:.2f}'")x: inbox with goals ${goals_inbox_med}s / ingest-only inbox ${all_inbox_med}s (target <= 1.5; $runs_note)
run-once ratio      $(calc "f'{$goals_s / $all_s:.2f}'")x: the whole --run-once with goals (ingest + sync + alerts + time pass + dispatch) / ingest-only

goalkeeper said     $all_summary
with goals it said  $goals_summary
snapshots stored    $all_snapshots (expected users x months = $expected_snapshots); first ${#scale_files[@]} files: $few_snapshots (expected $expected_few)

EOF

if [[ $all_snapshots != "$expected_snapshots" || $few_snapshots != "$expected_few" ]]; then
    echo "bench: sanity check failed: stored snapshot count differs from users x months" >&2
    exit 1
fi

echo "$(pass "$all_s <= $TARGET_RATIO * $sqlite_s") time: goalkeeper ${ratio}x sqlite3 .import (target <= ${TARGET_RATIO}x)"
echo "$(pass "$goals_inbox_med <= 1.5 * $all_inbox_med") time with goals: inbox (ingest + sync) $(calc "f'{$goals_inbox_med / $all_inbox_med:.2f}'")x the ingest-only inbox (target <= 1.5x; whole run-once $(calc "f'{$goals_s / $all_s:.2f}'")x)"
echo "$(pass "$all_rss_kb < $TARGET_RSS_MB * 1024") peak RSS: $all_rss_mb MB for $nfiles files (target < ${TARGET_RSS_MB} MB)"
echo "$(pass "$few_rss_kb < $TARGET_RSS_MB * 1024") peak RSS: $few_rss_mb MB for ${#scale_files[@]} files (target < ${TARGET_RSS_MB} MB)"
# "Does not grow with the number of files": allow 10% (and 5 MB) of noise.
echo "$(pass "$all_rss_kb <= max($few_rss_kb * 1.10, $few_rss_kb + 5 * 1024)") RSS scaling: $all_rss_mb MB for $nfiles files vs $few_rss_mb MB for ${#scale_files[@]} files (target: no growth)"
exit 0
