#!/usr/bin/env bash
# HTTP API benchmark (issue 14 req 7): GET /api/v1/goals/dashboard with random user tokens against
# GET /healthz, in one run, on SQLite.
#
# Builds a database of USERS (8,000) users with the generated goals and MONTHS (12) months of
# snapshots (../shared/bench/gen_snapshots.py, imported and ingested by one --run-once at NOW, as
# bench/run-once.sh does), one token per user (written straight into api_tokens in one
# transaction, with the same format and SHA-256 as `goalkeeper tokens create`: the CLI once per
# user would take minutes), then starts `goalkeeper serve` and drives it with wrk (installed with
# apt-get if missing) at CONNS (64) connections for DURATION (20s): first /healthz, then the
# dashboard, each request of the latter with a token picked at random (bench/api.lua).
# Prints requests per second, p50/p99 latency of each, and the ratio dashboard / healthz throughput.
#
# Targets (SQLite, 2-core machine): dashboard p99 < 25 ms and dashboard throughput >= 30 % of
# /healthz's. It prints PASS/FAIL but exits 0 unless a command failed: a benchmark, not a test.
#
# Run from the repository root:   bench/api.sh
# Environment: USERS=8000  MONTHS=12  NOW=RFC3339  CONNS=64  THREADS=2  DURATION=20s
#              LOG=warn (the server's RUST_LOG)  OUT=DIR (outside the repo; default mktemp)
#              KEEP=1 (keep OUT; a kept OUT's database is reused)  GK=PATH (use this binary)  GEN=PATH
set -euo pipefail

USERS=${USERS:-8000}
MONTHS=${MONTHS:-12}
NOW=${NOW:-2026-01-02T12:00:00Z}
CONNS=${CONNS:-64}
THREADS=${THREADS:-2}
DURATION=${DURATION:-20s}
LOG=${LOG:-warn}
KEEP=${KEEP:-0}
script_dir=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$script_dir/.." && pwd)
gen=${GEN:-"$repo/../shared/bench/gen_snapshots.py"}
[[ -f $gen || -n ${GEN:-} ]] || gen="$repo/../../shared/bench/gen_snapshots.py"
[[ -f $gen ]] || { echo "bench: generator not found at $gen" >&2; exit 2; }

if ! command -v wrk >/dev/null; then
    echo "== installing wrk (apt-get)" >&2
    if [[ $(id -u) == 0 ]]; then apt-get install -y -qq wrk >&2; else sudo apt-get install -y -qq wrk >&2; fi
fi

created_out=0
if [[ -z ${OUT:-} ]]; then
    OUT=$(mktemp -d "${TMPDIR:-/tmp}/goalkeeper-api.XXXXXX")
    created_out=1
fi
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd -P)
case "$OUT/" in "$(realpath -- "$repo")/"*) echo "bench: OUT must be outside the repository" >&2; exit 2 ;; esac
server_pid=
cleanup() {
    if [[ -n $server_pid ]]; then kill -TERM "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
    if [[ $KEEP != 1 && $created_out == 1 ]]; then rm -rf -- "$OUT"; fi
}
trap cleanup EXIT

if [[ -n ${GK:-} ]]; then
    gk=$GK
else
    echo "== building (cargo build --release)" >&2
    (cd "$repo" && nice cargo build --release --quiet)
    gk="${CARGO_TARGET_DIR:-$repo/target}/release/goalkeeper"
fi
[[ -x $gk ]] || { echo "bench: $gk was not built" >&2; exit 2; }

data="$OUT/data-$USERS"
work="$OUT/work-$USERS"
export GOALKEEPER__DATABASE__URL="sqlite://$work/gk.db"
export GOALKEEPER__INBOX__DIR="$work/inbox"
export GOALKEEPER__INBOX__PROCESSED_DIR="$work/processed"
export GOALKEEPER__INBOX__FAILED_DIR="$work/failed"
export GOALKEEPER__EMAIL__FILE__DIR="$work/outbox"
export GOALKEEPER_NOW="$NOW"
export RUST_LOG=warn

if [[ ! -f $work/tokens.txt ]]; then
    if [[ ! -f $data/goals.csv ]]; then
        echo "== generating --users $USERS --months $MONTHS" >&2
        nice python3 "$gen" --users "$USERS" --months "$MONTHS" --out "$data" >&2
    fi
    rm -rf -- "$work"
    mkdir -p "$work/inbox"
    echo "== importing users and goals, ingesting $MONTHS months (--run-once at $NOW)" >&2
    "$gk" migrate >/dev/null
    "$gk" users import "$data/users.csv" >/dev/null
    "$gk" goals import "$data/goals.csv" >/dev/null
    cp -- "$data"/inbox/*.csv "$work/inbox/"
    "$gk" --run-once >/dev/null
    echo "== one token per user" >&2
    # One token through the CLI gives the stored instant's format; the rest are made alike.
    "$gk" tokens create --admin --name bench >/dev/null 2>&1
    python3 - "$work/gk.db" "$work/tokens.txt" <<'PY'
import base64, hashlib, secrets, sqlite3, sys
db, out = sys.argv[1], sys.argv[2]
con = sqlite3.connect(db)
created = con.execute("SELECT created_at FROM api_tokens WHERE name = 'bench'").fetchone()[0]
users = [r[0] for r in con.execute("SELECT id FROM users ORDER BY id")]
rows, tokens = [], []
for user in users:
    # gk_ + 256 random bits in unpadded base64url, stored as the SHA-256 (lowercase hex) of it all.
    token = "gk_" + base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b"=").decode()
    tokens.append(token)
    rows.append((user, hashlib.sha256(token.encode()).hexdigest(), created))
with con:
    con.executemany(
        "INSERT INTO api_tokens (user_id, is_admin, name, token_sha256, created_at) VALUES (?, 0, 'bench', ?, ?)",
        rows,
    )
con.close()
with open(out, "w") as f:
    f.write("\n".join(tokens) + "\n")
print(f"{len(tokens)} tokens", file=sys.stderr)
PY
fi
users=$(wc -l <"$work/tokens.txt")
goals=$(( $(wc -l <"$data/goals.csv") - 1 ))

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
echo "== goalkeeper serve on $base (RUST_LOG=$LOG)" >&2
RUST_LOG=$LOG GOALKEEPER__HTTP__LISTEN="127.0.0.1:$port" "$gk" serve >/dev/null 2>"$work/serve.err" &
server_pid=$!
for _ in $(seq 1 100); do
    curl -fsS -o /dev/null "$base/healthz" 2>/dev/null && break
    sleep 0.1
done
curl -fsS -o /dev/null "$base/healthz"
# A dashboard must answer 200 with this token set before it is measured.
first=$(head -1 "$work/tokens.txt")
curl -fsS -o /dev/null -H "Authorization: Bearer $first" "$base/api/v1/goals/dashboard"

# wrk's Lua prints "RESULT requests seconds p50_us p99_us non2xx errors" at the end.
measure() {
    local path=$1 out=$2
    echo "== wrk -t$THREADS -c$CONNS -d$DURATION $path" >&2
    TOKENS="$work/tokens.txt" wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" -s "$script_dir/api.lua" "$base$path" >"$out"
    grep '^RESULT' "$out"
}
health=$(measure /healthz "$work/wrk-healthz.txt")
dash=$(measure /api/v1/goals/dashboard "$work/wrk-dashboard.txt")

kill -TERM "$server_pid"
wait "$server_pid" || true
server_pid=

python3 - "$health" "$dash" "$users" "$goals" "$CONNS" "$DURATION" "$(nproc)" "$LOG" <<'PY'
import sys, datetime
def parse(line):
    _, n, secs, p50, p99, bad, errors = line.split()
    return {"rps": int(n) / float(secs), "p50": int(p50) / 1000, "p99": int(p99) / 1000, "bad": int(bad), "errors": int(errors)}
h, d = parse(sys.argv[1]), parse(sys.argv[2])
users, goals, conns, duration, cpus, log = sys.argv[3:9]
now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
print()
print(f"goalkeeper HTTP API benchmark ({now}, {cpus} CPUs, SQLite, {users} users, {goals} goals, "
      f"{conns} connections, {duration} each, RUST_LOG={log})")
print(f"{'endpoint':<26} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'non-2xx':>8} {'errors':>7}")
for name, r in (("GET /healthz", h), ("GET /api/v1/goals/dashboard", d)):
    print(f"{name:<26} {r['rps']:>9.0f} {r['p50']:>8.2f} {r['p99']:>8.2f} {r['bad']:>8} {r['errors']:>7}")
ratio = d["rps"] / h["rps"]
print(f"{'PASS' if d['p99'] < 25 else 'FAIL'} dashboard p99: {d['p99']:.2f} ms (target < 25 ms)")
print(f"{'PASS' if ratio >= 0.30 else 'FAIL'} dashboard / healthz throughput: {ratio * 100:.0f} % (target >= 30 %)")
if h["bad"] or d["bad"]:
    print("WARNING: some responses were not 2xx: the figures are not of successful requests")
PY
exit 0
