#!/usr/bin/env bash
# The database's share of a code exchange against a refresh grant's, with no passflow in
# between: pgbench runs the exchange statement of src/store/sql/codes.rs (the code's pending
# session rotated in place) and the refresh's one-statement rotation, 10 clients, 4 s each,
# interleaved, on a fresh database migrated by passflow (PostgreSQL only). Prints each tps.
#   scripts/exchange-sql/run.sh [PASSFLOW_BINARY]
set -euo pipefail
cd "$(dirname "$0")"
passflow=${1:-../../target/release/passflow}
pg=${BENCH_POSTGRES:-postgres://postgres@127.0.0.1:5432}
psql "$pg/postgres" -qc 'DROP DATABASE IF EXISTS passflow_exchange_sql WITH (FORCE)'
psql "$pg/postgres" -qc 'CREATE DATABASE passflow_exchange_sql'
trap 'psql "$pg/postgres" -qc "DROP DATABASE passflow_exchange_sql WITH (FORCE)"' EXIT
DATABASE_URL="$pg/passflow_exchange_sql" "$passflow" migrate >/dev/null
# 512 users (the demo hash: no login happens here); for each of two exchange runs, 16 × 40 000
# codes, each with its pending session as /authorize stores them; one password-login session
# per pgbench client to rotate. Each user's stable id is its name.
psql "$pg/passflow_exchange_sql" -q <<SQL
INSERT INTO users (username, hashed_password, scopes, username_key, key_rank, subject)
SELECT 'bench' || u, 'x', 'me items', 'bench' || u, 0, 'bench' || u FROM generate_series(1, 512) u;
CREATE TEMPORARY TABLE k AS SELECT b + c * 1000000 + i AS k, 'bench' || (i % 512 + 1) AS user_id
FROM generate_series(1, 40000) i, generate_series(0, 15) c, (VALUES (0), (100000000)) v(b);
INSERT INTO sessions (id, user_id, scope, created_at, last_used_at, expires_at, client_id,
  family, current_token, last_used_day, pending)
SELECT 's' || k, user_id, 'me items', 0, 0, 999999999, 'client', int8send(k), int8send(k), 0, TRUE
FROM k;
INSERT INTO authorization_codes (digest, client_id, user_id, scope, auth_time, expires_at, session_id)
SELECT int8send(k), 'client', user_id, 'me items', 0, 999999999, 's' || k FROM k;
INSERT INTO sessions (id, user_id, scope, created_at, last_used_at, expires_at, family,
  current_token, last_used_day)
SELECT 'r' || c, 'bench' || (c + 1), 'me', 1000, 1000, 999999999, int8send(-1 - c), int8send(0), 0
FROM generate_series(0, 15) c;
VACUUM ANALYZE;
SQL
for run in "refresh.sql 0" "exchange.sql 0" "refresh.sql 0" "exchange.sql 100000000"; do
  # shellcheck disable=SC2086 # two words: the script and its base
  set -- $run
  tps=$(pgbench -n -c 10 -j 2 -T 4 -D i=0 -D base="$2" -f "$1" "$pg/passflow_exchange_sql" |
    awk '/^tps/ { print $3 }')
  echo "$(basename "$1") $tps"
done
