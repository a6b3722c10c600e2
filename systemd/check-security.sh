#!/usr/bin/env bash
# Checks goalkeeper's systemd units: every key is known to systemd (systemd-analyze verify) and each
# service's sandbox rates an overall exposure of at most 2.0 (systemd-analyze security --offline=true,
# 0 = fully locked down, 10 = fully exposed). Fails loudly otherwise. Run from anywhere:
#   bash systemd/check-security.sh            (MAX_EXPOSURE=1.5 to tighten)
# Needs systemd-analyze from systemd >= 250 (Debian 12: apt-get install -y systemd); no running systemd.
set -euo pipefail
cd "$(dirname "$0")"
export LC_ALL=C SYSTEMD_PAGER= SYSTEMD_COLORS=0

MAX_EXPOSURE="${MAX_EXPOSURE:-2.0}"
SERVICES=(goalkeeper.service goalkeeper-run-once.service)
UNITS=("${SERVICES[@]}" goalkeeper-run-once.timer)

die() { printf 'systemd check FAILED: %b\n' "$*" >&2; exit 1; }

command -v systemd-analyze >/dev/null 2>&1 \
    || die "systemd-analyze is missing; install it (Debian: apt-get install -y systemd)"
for unit in "${UNITS[@]}"; do
    [ -f "$unit" ] || die "$unit is missing from $(pwd)"
done

# Unknown or misspelt keys are only warnings to systemd (and would silently weaken the sandbox).
# The binary is not installed here, so the one expected complaint is about ExecStart.
verify=$(systemd-analyze verify --man=no "${UNITS[@]}" 2>&1 || true)
problems=$(printf '%s\n' "$verify" | grep -v -e '^$' -e 'Command /usr/local/bin/goalkeeper is not executable' || true)
[ -z "$problems" ] || die "systemd-analyze verify reports:\n$problems"
echo "systemd-analyze verify: ${UNITS[*]}: no problems"

failed=0
for unit in "${SERVICES[@]}"; do
    out=$(systemd-analyze security --offline=true --no-pager "$unit" 2>&1) \
        || die "systemd-analyze security --offline=true $unit failed (systemd >= 250 is needed):\n$out"
    level=$(printf '%s\n' "$out" | sed -n 's/.*Overall exposure level for [^:]*: \([0-9][0-9.]*\).*/\1/p' | tail -n 1)
    [ -n "$level" ] || die "no overall exposure level in the output for $unit:\n$out"
    if awk -v level="$level" -v max="$MAX_EXPOSURE" 'BEGIN { exit !(level + 0 <= max + 0) }'; then
        echo "$unit: exposure $level (at most $MAX_EXPOSURE): ok"
    else
        # In the C locale a failed setting is marked "-" (a passed one "+").
        printf '%s\n' "$out" | grep -e '^- ' -e '^✗' >&2 || true
        printf 'systemd check FAILED: %s rates exposure %s, above %s (the exposed settings are listed above)\n' \
            "$unit" "$level" "$MAX_EXPOSURE" >&2
        failed=1
    fi
done
[ "$failed" -eq 0 ] || exit 1
