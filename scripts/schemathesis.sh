#!/usr/bin/env bash
# schemathesis against the debug binary: every answer must match the OpenAPI document
# (status codes, bodies, headers), with and without a valid bearer token, in two
# configurations: the default one (no optional route), and every route live.
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
INTROSPECTION_SECRET=schemathesis-introspection-secret-0123456789
PIDS=()
trap 'kill "${PIDS[@]}" 2>/dev/null || true' EXIT

# Starts the server with the settings given as NAME=VALUE arguments; sets BASE and TOKEN.
# The fuzzer's wrong passwords (/users/me/password, DELETE /users/me/totp) all come from one
# address for one user: the throttle is lifted so that they do not turn its later cases
# into 429s (the throttle's own answers are covered by the tests).
start() {
  local log="$OUT/server-$1.log"
  shift
  env PORT=0 SECRET_KEY=09d25e094faa6ca2556c818166b7a9563b93f7099f6f0f4caa6cf63b88e8d3e7 \
    LOGIN_FAILURES_PER_USER=1000000 LOGIN_ATTEMPTS_PER_IP=1000000 "$@" \
    ./target/debug/passflow >"$log" 2>&1 &
  PIDS+=($!)
  BASE=
  for _ in $(seq 100); do
    BASE=$(grep -o 'listening on http://[0-9.:]*' "$log" | sed 's/listening on //') && break
    sleep 0.1
  done
  [ -n "$BASE" ] || { cat "$log" >&2; exit 1; }
  TOKEN=$(curl -sf -X POST "$BASE/token" -d 'username=johndoe&password=secret' |
    sed -E 's/.*"access_token":"([^"]+)".*/\1/')
}
run() {
  timeout 300 "$ST" --config-file scripts/schemathesis.toml run "$BASE/openapi.json" \
    --checks all --max-examples 50 --seed 1 "$@"
}
# Logging out would end the session of the token that a bearer run relies on, and the
# fuzzer's logins would evict it (64 sessions per user): the bearer runs leave out the
# session-ending routes and /token and /introspect, which take no bearer token; the runs
# without one cover them, and so do the tests.
BEARER_EXCLUDES='^/(logout|token|introspect)'

echo "== every route live (INTROSPECTION_CLIENTS, an issuer URL)"
start every-route TOKEN_ISSUER=http://127.0.0.1 \
  INTROSPECTION_CLIENTS="schemathesis:$INTROSPECTION_SECRET"
# HTTP Basic on every request: /introspect's client; the user routes take it for no token.
run --auth "schemathesis:$INTROSPECTION_SECRET"
run -H "Authorization: Bearer $TOKEN" --exclude-path-regex "$BEARER_EXCLUDES"

echo "== the default configuration"
start default
run
run -H "Authorization: Bearer $TOKEN" --exclude-path-regex "$BEARER_EXCLUDES"
