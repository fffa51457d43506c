#!/usr/bin/env bash
# schemathesis against the debug binary: every answer must match the OpenAPI document
# (status codes, bodies, headers), with and without a valid bearer token.
#
#   scripts/schemathesis.sh [path/to/schemathesis]   (default: schemathesis on PATH)
#
# Talks only to 127.0.0.1; bounded by --max-examples and a 5-minute timeout per run.
# scripts/schemathesis.toml offers the demo user's credentials to the /token fuzzer.
set -euo pipefail
cd "$(dirname "$0")/.."
ST=${1:-schemathesis}
OUT=target/schemathesis
mkdir -p "$OUT"
cargo build --quiet --locked
# Every route live: an issuer URL serves the RFC 8414 metadata, and one introspection client
# (its credentials go with the first run) serves /introspect.
INTROSPECTION_SECRET=schemathesis-introspection-secret-0123456789
# The fuzzer's wrong passwords (/users/me/password, DELETE /users/me/totp) all come from one
# address for one user: the throttle is lifted so that they do not turn its later cases
# into 429s (the throttle's own answers are covered by the tests).
PORT=0 SECRET_KEY=09d25e094faa6ca2556c818166b7a9563b93f7099f6f0f4caa6cf63b88e8d3e7 \
  LOGIN_FAILURES_PER_USER=1000000 LOGIN_ATTEMPTS_PER_IP=1000000 \
  TOKEN_ISSUER=http://127.0.0.1 INTROSPECTION_CLIENTS="schemathesis:$INTROSPECTION_SECRET" \
  ./target/debug/passflow >"$OUT/server.log" 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null || true' EXIT
for _ in $(seq 100); do
  BASE=$(grep -o 'listening on http://[0-9.:]*' "$OUT/server.log" | sed 's/listening on //') && break
  sleep 0.1
done
[ -n "${BASE:-}" ] || { cat "$OUT/server.log" >&2; exit 1; }
TOKEN=$(curl -sf -X POST "$BASE/token" -d 'username=johndoe&password=secret' |
  sed -E 's/.*"access_token":"([^"]+)".*/\1/')
run() {
  timeout 300 "$ST" --config-file scripts/schemathesis.toml run "$BASE/openapi.json" \
    --checks all --max-examples 50 --seed 1 "$@"
}
# HTTP Basic on every request: /introspect's client; the user routes take it for no token.
run --auth "schemathesis:$INTROSPECTION_SECRET"
# Logging out would end the session of the token that the rest of this run relies on, and
# the fuzzer's logins would evict it (64 sessions per user): the session-ending routes and
# /token and /introspect, which take no bearer token, are covered by the first run and by
# the tests.
run -H "Authorization: Bearer $TOKEN" --exclude-path-regex '^/(logout|token|introspect)'
