#!/usr/bin/env bash
# Dispatch benchmark (issue 4): N due alerts (one per user, so N emails) sent
# by `goalkeeper alerts send` to a local SMTP sink (postfix's smtp-sink), next
# to postfix's own smtp-source sending N messages of the same size to the same
# sink with the same number of connections, in the same run. Then the same N
# emails over TLS (issue 18 req 5): stunnel4 in front of the same sink, with a
# throwaway CA and certificate made here, once with security = "tls" (implicit
# TLS) and once with security = "starttls" (stunnel's smtp protocol); goalkeeper
# trusts the throwaway CA through email.smtp.ca_file.
#
#   bash bench/dispatch.sh            # N=10000, 4 connections
#   N=2000 CONNECTIONS=8 bash bench/dispatch.sh
#   TLS=0 bash bench/dispatch.sh      # plain text only
#
# Targets: at least 500 emails/s, and at least half of smtp-source's rate.
# Missing tools (postfix, stunnel4, sqlite3, openssl, bc) are installed with
# apt-get when running as root, else the script says what to install.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-10000}
CONNECTIONS=${CONNECTIONS:-4}
PORT=${PORT:-2527}
TLS_PORT=$((PORT + 1))
STARTTLS_PORT=$((PORT + 2))
TLS=${TLS:-1}

PATH="$PATH:/usr/sbin:/usr/bin"
need() {
    command -v "$1" >/dev/null 2>&1 && return
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "bench: installing $2 for $1" >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$2" >/dev/null
    fi
    command -v "$1" >/dev/null 2>&1 || { echo "bench: $1 is missing (apt-get install $2)" >&2; exit 1; }
}
need smtp-sink postfix
need smtp-source postfix
need sqlite3 sqlite3
need bc bc
if [ "$TLS" = 1 ]; then need stunnel4 stunnel4; need openssl openssl; fi

# BIN=path/to/goalkeeper measures that binary instead (e.g. a build of the previous commit).
if [ -n "${BIN:-}" ]; then bin=$BIN; else cargo build --release --quiet; bin=$PWD/target/release/goalkeeper; fi
work=$(mktemp -d)
trap 'kill "${sink_pid:-}" "${stunnel_pid:-}" 2>/dev/null || true; rm -rf "$work"' EXIT
export GOALKEEPER__DATABASE__URL="sqlite://$work/gk.db"
export GOALKEEPER__INBOX__DIR="$work/inbox"
export GOALKEEPER__INBOX__PROCESSED_DIR="$work/processed"
export GOALKEEPER__INBOX__FAILED_DIR="$work/failed"
export RUST_LOG=warn
NOW=2026-03-10T12:00:00+00:00  # sqlx's own text form, so SQLite compares it as sqlx writes it

# A fresh database with N users in UTC (noon: outside the default quiet hours), each with a goal and
# one emailed alert that is due now; every alert carries a card, as real ones do.
seed() {
rm -f "$work/gk.db" "$work/gk.db-wal" "$work/gk.db-shm"
"$bin" migrate >/dev/null
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
}

smtp-sink -u nobody -c "127.0.0.1:$PORT" 256 >"$work/sink.log" 2>&1 &
sink_pid=$!
for _ in $(seq 1 50); do (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break; sleep 0.1; done

# Seeds, sends every due email with `security` to `host:port`, checks that all N were sent; prints seconds.
send_all() {
    seed
    local start end sent
    start=$(date +%s.%N)
    GOALKEEPER__EMAIL__SMTP__SECURITY=$1 GOALKEEPER__EMAIL__SMTP__HOST=$2 GOALKEEPER__EMAIL__SMTP__PORT=$3 \
        "$bin" --now "$NOW" alerts send >/dev/null
    end=$(date +%s.%N)
    sent=$(sqlite3 "$work/gk.db" "SELECT COUNT(*) FROM email_deliveries WHERE status = 'sent'")
    [ "$sent" = "$N" ] || { echo "bench: security=$1: only $sent of $N deliveries were sent" >&2; exit 1; }
    echo "$end - $start" | bc -l
}

export GOALKEEPER__EMAIL__TRANSPORT=smtp GOALKEEPER__EMAIL__SMTP__CONNECTIONS=$CONNECTIONS
gk_s=$(send_all none 127.0.0.1 "$PORT")

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

[ "$TLS" = 1 ] || exit 0
# A throwaway CA and a certificate for localhost and 127.0.0.1 signed by it (rustls wants a v3 CA
# certificate and a server certificate naming the host in subjectAltName).
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=goalkeeper bench CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -keyout "$work/ca.key" -out "$work/ca.crt" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" -keyout "$work/server.key" -out "$work/server.csr" 2>/dev/null
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n' \
    >"$work/server.ext"
openssl x509 -req -in "$work/server.csr" -CA "$work/ca.crt" -CAkey "$work/ca.key" -CAcreateserial -days 2 \
    -extfile "$work/server.ext" -out "$work/server.crt" 2>/dev/null
cat >"$work/stunnel.conf" <<CONF
foreground = yes
pid =
debug = 3
cert = $work/server.crt
key = $work/server.key
[smtps]
accept = 127.0.0.1:$TLS_PORT
connect = 127.0.0.1:$PORT
[starttls]
accept = 127.0.0.1:$STARTTLS_PORT
connect = 127.0.0.1:$PORT
protocol = smtp
CONF
stunnel4 "$work/stunnel.conf" >"$work/stunnel.log" 2>&1 &
stunnel_pid=$!
for _ in $(seq 1 50); do (exec 3<>"/dev/tcp/127.0.0.1/$TLS_PORT") 2>/dev/null && break; sleep 0.1; done

export GOALKEEPER__EMAIL__SMTP__CA_FILE="$work/ca.crt"
tls_s=$(send_all tls localhost "$TLS_PORT")
if starttls_s=$(send_all starttls localhost "$STARTTLS_PORT" 2>"$work/starttls.err"); then
    starttls_line=$(printf '%6.2f s  %7.0f emails/s' "$starttls_s" "$(echo "$N / $starttls_s" | bc -l)")
else
    starttls_line="not measured: $(tail -n 1 "$work/starttls.err")"
fi
printf '\nthe same %d emails over TLS: stunnel4 on 127.0.0.1 in front of the same smtp-sink\n' "$N"
printf '  security = "none"     : %6.2f s  %7.0f emails/s (plain, above)\n' "$gk_s" "$gk_rate"
printf '  security = "tls"      : %6.2f s  %7.0f emails/s (implicit TLS, port %d)\n' "$tls_s" "$(echo "$N / $tls_s" | bc -l)" "$TLS_PORT"
printf '  security = "starttls" : %s (port %d)\n' "$starttls_line" "$STARTTLS_PORT"
