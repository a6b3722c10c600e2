#!/usr/bin/env bash
# Cost at rest (issue 5): an idle `goalkeeper daemon` with the default
# schedule (inbox every 30 s, dispatch every minute, evaluate at 06:00) on an
# empty SQLite installation, watched for SECONDS (default 120): CPU time used
# (user + system, from /proc/PID/stat) as a share of one core, and peak and
# final RSS. Targets: under 1 % of one core and under 30 MB RSS.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_TO_WATCH=${SECONDS_TO_WATCH:-120}
cargo build --release --quiet
bin=$PWD/target/release/goalkeeper
work=$(mktemp -d)
trap 'kill "${pid:-}" 2>/dev/null || true; rm -rf "$work"' EXIT
export GOALKEEPER__DATABASE__URL="sqlite://$work/gk.db"
export GOALKEEPER__INBOX__DIR="$work/inbox" GOALKEEPER__INBOX__PROCESSED_DIR="$work/processed" \
    GOALKEEPER__INBOX__FAILED_DIR="$work/failed" GOALKEEPER__EMAIL__FILE__DIR="$work/outbox"
"$bin" migrate >/dev/null
"$bin" daemon 2>"$work/daemon.log" &
pid=$!
sleep 5 # start-up (migrations, first inbox pass) is not rest
ticks_per_s=$(getconf CLK_TCK)
cpu() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$pid/status"; }
start_cpu=$(cpu)
peak=0
for _ in $(seq 1 "$SECONDS_TO_WATCH"); do
    r=$(rss_kb); [ "$r" -gt "$peak" ] && peak=$r
    sleep 1
done
end_cpu=$(cpu)
used_s=$(echo "($end_cpu - $start_cpu) / $ticks_per_s" | bc -l)
share=$(echo "100 * $used_s / $SECONDS_TO_WATCH" | bc -l)
peak_hwm=$(awk '/^VmHWM/ {print $2}' "/proc/$pid/status")
printf 'idle daemon over %d s: %.2f s of CPU = %.3f %% of one core; RSS now %.1f MB, peak %.1f MB (targets: < 1 %%, < 30 MB)\n' \
    "$SECONDS_TO_WATCH" "$used_s" "$share" "$(echo "$(rss_kb) / 1024" | bc -l)" "$(echo "$peak_hwm / 1024" | bc -l)"
kill -TERM "$pid"
wait "$pid" && echo "stopped with exit 0 on SIGTERM"
