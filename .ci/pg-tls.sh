#!/usr/bin/env bash
# TLS on the local PostgreSQL server for the TLS tests (issue 18 req 1), without a restart: PostgreSQL
# 15 enables and changes ssl on `pg_ctlcluster reload`. Idempotent: run it as often as you like.
#
# - Its own CA (openssl CLI), a server certificate for localhost/127.0.0.1 signed by it, and a second,
#   unrelated CA the tests use as "the wrong CA". In $dir, CA certificates world-readable.
# - ALTER SYSTEM ssl = on with that certificate and key, then reload.
# - A role of its own, gk_tls_only, that may only connect over TLS (pg_hba: hostssl trust, hostnossl
#   reject, above the other rules), so every other connection keeps working as before.
# Prints the variables the tests read.
set -euo pipefail
version=${PG_VERSION:-$(ls /etc/postgresql | sort -V | tail -n 1)}
hba=/etc/postgresql/$version/main/pg_hba.conf
dir=${GOALKEEPER_PG_TLS_DIR:-/var/lib/postgresql/goalkeeper-tls}
psql_admin() { psql -h 127.0.0.1 -U postgres -d postgres -v ON_ERROR_STOP=1 -qtAc "$1"; }

mkdir -p "$dir"
cd "$dir"
if [ ! -s server.crt ] || [ ! -s ca.crt ] || [ ! -s wrong-ca.crt ]; then
    openssl req -x509 -new -nodes -newkey rsa:2048 -days 3650 -keyout ca.key -out ca.crt \
        -subj "/CN=goalkeeper test CA" >/dev/null 2>&1
    openssl req -x509 -new -nodes -newkey rsa:2048 -days 3650 -keyout wrong-ca.key -out wrong-ca.crt \
        -subj "/CN=goalkeeper unrelated CA" >/dev/null 2>&1
    openssl req -new -nodes -newkey rsa:2048 -keyout server.key -out server.csr \
        -subj "/CN=localhost" >/dev/null 2>&1
    printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n' > server.ext
    openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 \
        -extfile server.ext -out server.crt >/dev/null 2>&1
    rm -f server.csr
fi
chown -R postgres:postgres "$dir"
chmod 0755 "$dir"
chmod 0600 ./*.key
chmod 0644 ./*.crt

psql_admin "ALTER SYSTEM SET ssl = on"
psql_admin "ALTER SYSTEM SET ssl_cert_file = '$dir/server.crt'"
psql_admin "ALTER SYSTEM SET ssl_key_file = '$dir/server.key'"
psql_admin "SELECT 1 FROM pg_roles WHERE rolname = 'gk_tls_only'" | grep -q 1 \
    || psql_admin "CREATE ROLE gk_tls_only LOGIN"
psql_admin "GRANT ALL ON DATABASE goalkeeper_test TO gk_tls_only" 2>/dev/null || true
if ! grep -q 'gk_tls_only' "$hba"; then
    sed -i '1i hostssl all gk_tls_only 127.0.0.1/32 trust\nhostnossl all gk_tls_only 127.0.0.1/32 reject' "$hba"
fi
pg_ctlcluster --skip-systemctl-redirect "$version" main reload
for _ in $(seq 1 20); do
    [ "$(psql_admin "SHOW ssl_cert_file")" = "$dir/server.crt" ] && break
    sleep 0.5
done
[ "$(psql_admin "SHOW ssl_cert_file")" = "$dir/server.crt" ] || { echo "PostgreSQL did not take the certificate" >&2; exit 1; }
echo "export GOALKEEPER_TEST_PG_TLS_CA=$dir/ca.crt"
echo "export GOALKEEPER_TEST_PG_TLS_WRONG_CA=$dir/wrong-ca.crt"
