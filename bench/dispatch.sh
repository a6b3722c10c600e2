#!/usr/bin/env bash
# Dispatch benchmark (issue 4): N due alerts (one per user, so N emails) sent
# by `goalkeeper alerts send` to a local SMTP sink (postfix's smtp-sink), next
# to postfix's own smtp-source sending N messages of the same size to the same
# sink with the same number of connections, in the same run.
#
#   bash bench/dispatch.sh            # N=10000, 4 connections
#   N=2000 CONNECTIONS=8 bash bench/dispatch.sh
#
# Targets: at least 500 emails/s, and at least half of smtp-source's rate.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-10000}
CONNECTIONS=${CONNECTIONS:-4}
PORT=${PORT:-2527}

need() { command -v "$1" >/dev/null 2>&1 || { echo "bench: $1 is missing ($2)" >&2; exit 1; }; }
if ! command -v smtp-sink >/dev/null 2>&1 && [ -x /usr/sbin/smtp-sink ]; then PATH="$PATH:/usr/sbin"; fi
need smtp-sink "apt-get install postfix"
need smtp-source "apt-get install postfix"
need sqlite3 "apt-get install sqlite3"

# BIN=path/to/goalkeeper measures that binary instead (e.g. a build of the previous commit).
if [ -n "${BIN:-}" ]; then bin=$BIN; else cargo build --release --quiet; bin=$PWD/target/release/goalkeeper; fi
work=$(mktemp -d)
trap 'kill "${sink_pid:-}" 2>/dev/null || true; rm -rf "$work"' EXIT
export GOALKEEPER__DATABASE__URL="sqlite://$work/gk.db"
export GOALKEEPER__INBOX__DIR="$work/inbox"
export GOALKEEPER__INBOX__PROCESSED_DIR="$work/processed"
export GOALKEEPER__INBOX__FAILED_DIR="$work/failed"
export RUST_LOG=warn
NOW=2026-03-10T12:00:00+00:00  # sqlx's own text form, so SQLite compares it as sqlx writes it

"$bin" migrate >/dev/null
# N users in UTC (noon: outside the default quiet hours), each with a goal and
# one emailed alert that is due now; every alert carries a card, as real ones do.
sqlite3 "$work/gk.db" <<SQL
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $N)
INSERT INTO users (id, email, display_name, timezone, created_at, updated_at)
SELECT 'u' || i, 'u' || i || '@example.org', 'User ' || i, 'UTC', '$NOW', '$NOW' FROM n;
INSERT INTO goals (id, user_id, name, goal_type, target_value, start_date, created_at, updated_at)
SELECT 'g' || substr(id, 2), id, 'Emergency fund', 'emergency_fund', 1350000, '2026-01-01', '$NOW', '$NOW' FROM users;
INSERT INTO alerts (goal_id, user_id, alert_type, occurrence, priority, title, message, action_url, card, created_at)
SELECT id, user_id, 'milestone_50', '', 5, 'Halfway there: Emergency fund',
       'Congratulations! You''re 50% of the way to ''Emergency fund'' (target: 13,500.00)!',
       'https://goals.example.org/goals/' || id,
       '{"goal_name":"Emergency fund","goal_type":"emergency_fund","target_is_percent":false,"current":675000,"target":1350000,"progress":0.5,"on_track":true,"required_monthly":112500,"projected_completion":"2026-12-01"}',
       '$NOW' FROM goals;
INSERT INTO email_deliveries (alert_id, user_id, status, due_at, created_at, updated_at)
SELECT id, user_id, 'pending', '$NOW', '$NOW', '$NOW' FROM alerts;
SQL

smtp-sink -u nobody -c "127.0.0.1:$PORT" 256 >"$work/sink.log" 2>&1 &
sink_pid=$!
for _ in $(seq 1 50); do (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break; sleep 0.1; done

export GOALKEEPER__EMAIL__TRANSPORT=smtp GOALKEEPER__EMAIL__SMTP__HOST=127.0.0.1 GOALKEEPER__EMAIL__SMTP__PORT=$PORT \
    GOALKEEPER__EMAIL__SMTP__SECURITY=none GOALKEEPER__EMAIL__SMTP__CONNECTIONS=$CONNECTIONS
start=$(date +%s.%N)
"$bin" --now "$NOW" alerts send
end=$(date +%s.%N)
gk_s=$(echo "$end - $start" | bc -l)
sent=$(sqlite3 "$work/gk.db" "SELECT COUNT(*) FROM email_deliveries WHERE status = 'sent'")
[ "$sent" = "$N" ] || { echo "bench: only $sent of $N deliveries were sent" >&2; exit 1; }

# One of the emails as sent, for its size.
size=$(GOALKEEPER__EMAIL__TRANSPORT=file GOALKEEPER__EMAIL__FILE__DIR="$work/eml" sh -c "
    sqlite3 '$work/gk.db' \"UPDATE email_deliveries SET status = 'pending', message_id = NULL WHERE id = 1\" &&
    '$bin' --now '$NOW' alerts send >/dev/null && wc -c < \$(ls '$work'/eml/*.eml | head -n 1)")

start=$(date +%s.%N)
smtp-source -s "$CONNECTIONS" -m "$N" -l "$size" -f goals@example.org -t u1@example.org "127.0.0.1:$PORT"
end=$(date +%s.%N)
src_s=$(echo "$end - $start" | bc -l)

gk_rate=$(echo "$N / $gk_s" | bc -l)
src_rate=$(echo "$N / $src_s" | bc -l)
printf '\n%d emails of about %d bytes over %d connections to smtp-sink on 127.0.0.1:%d\n' "$N" "$size" "$CONNECTIONS" "$PORT"
printf '  goalkeeper alerts send : %6.2f s  %7.0f emails/s (render, claim, send, record)\n' "$gk_s" "$gk_rate"
printf '  postfix smtp-source    : %6.2f s  %7.0f emails/s\n' "$src_s" "$src_rate"
printf '  ratio                  : %6.2f of smtp-source (target >= 0.5; and >= 500 emails/s)\n' "$(echo "$gk_rate / $src_rate" | bc -l)"
