#!/usr/bin/env bash
# Load benchmark of the release binary on 127.0.0.1, with wrk. Prints a markdown table.
#
#   scripts/bench.sh              passflow alone
#   scripts/bench.sh --fastapi    also the FastAPI tutorial app (scripts/fastapi, in a venv)
#   scripts/bench.sh --sweep      also req/s and p99 against concurrency, plotted to
#                                 docs/bench-concurrency.png (matplotlib, in a venv)
#   scripts/bench.sh --chains     only the refresh-chains scenario (default settings, every
#                                 store, one address and many)
#   scripts/bench.sh --keys       only the per-algorithm scenario (HS256, EdDSA, ES256, RS256:
#                                 /users/me/ ÷ /health and logins/s)
#   scripts/bench.sh --scale      only the growth scenario: refresh grants/s, /users/me/ and
#                                 logins/s on empty tables and after seeding 1 000 000 sessions
#                                 and 100 000 users (BENCH_SCALE_SESSIONS, BENCH_SCALE_USERS),
#                                 on PostgreSQL and SQLite, each server alone and both loaded
#                                 together; pgbench's one-UPDATE rate in the same run; the
#                                 prunes' plans and times at full tables
#   scripts/bench.sh --sign-in    only the code flow's figures, on memory, SQLite and
#                                 PostgreSQL: code exchanges/s ÷ refresh grants/s (16
#                                 connections, from one address and from 16; the codes minted
#                                 through the login page beforehand) and page logins/s ÷ /token
#                                 logins/s, the argon2 ceiling (4 connections), BENCH_ROUNDS
#                                 interleaved rounds; BENCH_SIGN_IN_STORES picks stores
#   scripts/bench.sh --openid     only OpenID Connect's figures, on memory, SQLite and
#                                 PostgreSQL: /userinfo ÷ /users/me/ (one token, 64
#                                 connections), code exchanges with an id_token ÷ min(without,
#                                 this machine's RS256 signatures/s), code-flow refresh ÷
#                                 password refresh, BENCH_ROUNDS rounds; BENCH_OPENID_EXCHANGES=0
#                                 leaves the exchanges out (their codes take minutes to mint)
#   (scripts/exchange-sql/run.sh: the exchange statement against the refresh's in pgbench)
#   scripts/bench.sh --audit      only the audit trail's figures (issue 42): on PostgreSQL and
#                                 SQLite seeded with BENCH_AUDIT_EVENTS (10 000 000) events,
#                                 `passflow audit list --user NAME` timed (hyperfine) and the
#                                 trail's statements planned (no sequential scan); then a flood
#                                 of failed logins from many addresses (wrk, 2 000 connections,
#                                 BENCH_FLOOD_SECONDS): answers by status against rows written
#   scripts/bench.sh --compare=OLD  only a before/after: the binary OLD (an older build) against
#                                 this checkout's, each on a database of its own (SQLite and
#                                 PostgreSQL), /health, /users/me/, refresh grants and logins,
#                                 each alone and both loaded together, BENCH_ROUNDS rounds
#   scripts/bench.sh --sign-in --compare=OLD  the sign-in rows' code exchanges and refresh
#                                 grants (1 address, 16 addresses), the binary OLD against this
#                                 checkout's, sides alternating within each round: after ÷ before
#
# BENCH_SECONDS (default 5) and BENCH_ROUNDS (default 3; for --scale 6, and always even
# there) set each run's length and how many interleaved rounds the medians come from
# (/health against /users/me/, the signing algorithms, --scale's empty against full tables);
# BENCH_FLOOD_SECONDS
# (default 10) the length of each flood run. BENCH_BINARY=path measures that binary instead
# of building this checkout (e.g. an older commit's, for a before/after). Everything is bounded in
# time and talks only to 127.0.0.1. Figures from a shared machine are noisy: compare the
# ratios from one run, not absolutes across runs.
set -euo pipefail
cd "$(dirname "$0")/.."

FASTAPI=0
SWEEP=0
CHAINS_ONLY=0
KEYS_ONLY=0
SCALE_ONLY=0
SIGN_IN_ONLY=0
OPENID_ONLY=0
AUDIT_ONLY=0
COMPARE_BEFORE=
for arg in "$@"; do
  case "$arg" in
    --fastapi) FASTAPI=1 ;;
    --sweep) SWEEP=1 ;;
    --chains) CHAINS_ONLY=1 ;;
    --keys) KEYS_ONLY=1 ;;
    --scale) SCALE_ONLY=1 ;;
    --sign-in) SIGN_IN_ONLY=1 ;;
    --openid) OPENID_ONLY=1 ;;
    --audit) AUDIT_ONLY=1 ;;
    --compare=*) COMPARE_BEFORE=${arg#--compare=} ;;
    *) echo "usage: $0 [--fastapi] [--sweep] [--chains] [--keys] [--scale] [--sign-in] [--openid] [--audit] [--compare=OLD_BINARY]" >&2; exit 2 ;;
  esac
done
SECONDS_PER_RUN=${BENCH_SECONDS:-5}
ROUNDS=${BENCH_ROUNDS:-3}
OUT=target/bench
mkdir -p "$OUT"
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk" >&2; exit 1; }

# --- helpers ---------------------------------------------------------------------------
rps() { awk '/^Requests\/sec:/ {print $2}'; }
# wrk's 99th percentile, in milliseconds.
p99_ms() {
  awk '$1 == "99%" { v = $2
    if (v ~ /us$/) { sub(/us$/, "", v); v = v / 1000 }
    else if (v ~ /ms$/) { sub(/ms$/, "", v) }
    else if (v ~ /s$/) { sub(/s$/, "", v); v = v * 1000 }
    printf "%.2f\n", v }'
}
non_2xx() { awk '/Non-2xx/ {n = $5} END {print n + 0}'; }
# The middle value; of an even count, the mean of the two middle ones.
median() { sort -g | awk '{ v[NR] = $1 } END { m = int((NR + 1) / 2)
  print (NR % 2 ? v[m] : (v[m] + v[m + 1]) / 2) }'; }
rss_mib() { awk -v key="$2:" '$1 == key { printf "%.1f\n", $2 / 1024 }' "/proc/$1/status"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f\n", a / b }'; }
wrk_get() { # url connections seconds [extra wrk args]
  wrk -t2 -c"$2" -d"$3"s --latency "${@:4}" "$1"
}
wait_for_port() { # logfile -> prints the base URL passflow logged
  for _ in $(seq 100); do
    url=$(grep -o 'listening on http://[0-9.:]*' "$1" | head -1 | sed 's/listening on //') || true
    [ -n "$url" ] && { echo "$url"; return; }
    sleep 0.1
  done
  echo "server did not start; log:" >&2; cat "$1" >&2; exit 1
}
# The demo's johndoe logs in with `secret`; a database's johndoe, added by `passflow users add`,
# needs a password the policy accepts (ASVS V6.2): DB_PASSWORD.
DB_PASSWORD=bench-tutorial-secret
login_token() { # base url [password]
  curl -sf -X POST "$1/token" -d "username=johndoe&password=${2:-secret}" |
    sed -E 's/.*"access_token":"([^"]+)".*/\1/'
}
# The legitimate client of the flood scenarios: one login at a time, from another address.
legit_logins() { # base url, seconds -> "<logins/s> <answers by status>" from 127.0.0.31
  local start end now ok=0 codes=""
  start=$(date +%s%N)
  end=$((start + $2 * 1000000000))
  now=$start
  while [ "$now" -lt "$end" ]; do
    code=$(curl -s -o /dev/null -w '%{http_code}' --interface 127.0.0.31 --max-time 10 \
      -X POST "$1/token" -d 'username=johndoe&password=secret') || true
    [ "$code" = 200 ] && ok=$((ok + 1))
    codes+="$code"$'\n'
    now=$(date +%s%N)
  done
  awk -v ok="$ok" -v ns="$((now - start))" 'BEGIN { printf "%.1f ", ok / (ns / 1e9) }'
  printf '%s' "$codes" | sort | uniq -c | awk '{ printf "%s%s×%s", sep, $1, $2; sep = " " } END { print "" }'
}
# `N` refresh tokens from `N` logins at `url`, one at a time, spread round-robin over `users`
# (all with password PASSWORD, default `secret`): "tok1 tok2 ...".
refresh_tokens() { # url N user...   (password: PASSWORD, default secret)
  local url=$1 n=$2 i=0 tokens=()
  shift 2
  local users=("$@")
  while [ "$i" -lt "$n" ]; do
    tokens+=("$(curl -sf -X POST "$url/token" -d "username=${users[i % ${#users[@]}]}&password=${PASSWORD:-secret}" |
      sed -E 's/.*"refresh_token":"([^"]+)".*/\1/')")
    i=$((i + 1))
  done
  echo "${tokens[@]}"
}
# N refresh chains against `url` for `seconds`, one connection (and wrk thread) each; prints
# "<grants/s> <non-2xx> <p99 ms>". spread=1: each chain claims its own address.
refresh_chains() { # url N seconds spread out-file user...
  local url=$1 n=$2 seconds=$3 spread=$4 out=$5
  shift 5
  # shellcheck disable=SC2046 # one argument per token
  chains_of "$n" "$seconds" "$spread" "$out" "$url" $(refresh_tokens "$url" "$n" "$@")
}
# Refresh chains of the given tokens (REFRESH_BASIC: the client they belong to, if any).
chains_of() { # N seconds spread out-file url token...
  local n=$1 seconds=$2 spread=$3 out=$4 url=$5
  shift 5
  REFRESH_SPREAD=$spread wrk -t"$n" -c"$n" -d"$seconds"s --latency --timeout 10s \
    -s scripts/refresh.lua "$url/token" -- "$@" >"$out"
  echo "$(rps <"$out") $(non_2xx <"$out") $(p99_ms <"$out")"
}
CHAIN_USERS=(chain1 chain2 chain3 chain4)
CHAINS=${BENCH_CHAINS:-64}
CHAIN_SECONDS=${BENCH_CHAIN_SECONDS:-10}
# One store's rows of the chains table: a server with the default settings (only
# TRUSTED_PROXIES=127.0.0.1, so that the spread run's X-Forwarded-For is believed; the
# one-address run sends none), CHAINS chains from one address, then from CHAINS addresses.
chains_bench() { # store DATABASE_URL-or-empty
  local log="$OUT/chains-$1.log" pid url users_file
  if [ -n "$2" ]; then
    for user in "${CHAIN_USERS[@]}"; do
      printf '%s\n' "$DB_PASSWORD" | DATABASE_URL="$2" "$PASSFLOW" users add "$user" >/dev/null
    done
    DATABASE_URL="$2" PORT=0 SECRET_KEY=09d25e094faa6ca2556c818166b7a9563b93f7099f6f0f4caa6cf63b88e8d3e7 \
      TRUSTED_PROXIES=127.0.0.1/32 NO_COLOR=1 "$PASSFLOW" >"$log" 2>&1 &
  else
    users_file="$OUT/chain-users.json"
    local hash
    hash=$(printf '%s' "$DB_PASSWORD" | "$PASSFLOW" hash-password)
    printf '{%s}' "$(for user in "${CHAIN_USERS[@]}"; do
      printf '"%s": {"username": "%s", "full_name": null, "email": null, "hashed_password": "%s", "disabled": false},' \
        "$user" "$user" "$hash"
    done | sed 's/,$//')" >"$users_file"
    USERS_FILE="$users_file" PORT=0 SECRET_KEY=09d25e094faa6ca2556c818166b7a9563b93f7099f6f0f4caa6cf63b88e8d3e7 \
      TRUSTED_PROXIES=127.0.0.1/32 NO_COLOR=1 "$PASSFLOW" >"$log" 2>&1 &
  fi
  pid=$!
  PIDS+=("$pid")
  url=$(wait_for_port "$log")
  read -r one one_bad one_p99 <<<"$(PASSWORD=$DB_PASSWORD refresh_chains "$url" "$CHAINS" "$CHAIN_SECONDS" 0 "$OUT/chains-$1-one.txt" "${CHAIN_USERS[@]}")"
  read -r many many_bad many_p99 <<<"$(PASSWORD=$DB_PASSWORD refresh_chains "$url" "$CHAINS" "$CHAIN_SECONDS" 1 "$OUT/chains-$1-many.txt" "${CHAIN_USERS[@]}")"
  kill "$pid"
  echo "| $1 | $one | $one_bad | $one_p99 ms | $many | $many_bad | $many_p99 ms |"
}
chains_table() {
  local rows=() pg=${BENCH_POSTGRES:-postgres://postgres@127.0.0.1:5432}
  rows+=("$(chains_bench memory "")")
  rm -f "$OUT/chains.db" "$OUT/chains.db-wal" "$OUT/chains.db-shm"
  rows+=("$(chains_bench sqlite "sqlite:$OUT/chains.db")")
  if psql "$pg/postgres" -qc 'DROP DATABASE IF EXISTS passflow_chains' >/dev/null 2>&1 &&
    psql "$pg/postgres" -qc 'CREATE DATABASE passflow_chains' >/dev/null; then
    rows+=("$(chains_bench postgres "$pg/passflow_chains")")
    sleep 0.5
    psql "$pg/postgres" -qc 'DROP DATABASE passflow_chains WITH (FORCE)' >/dev/null
  else
    rows+=("| postgres | no server at $pg (BENCH_POSTGRES) | | | | | |")
  fi
  echo
  echo "Refresh chains: $CHAINS sessions (over ${#CHAIN_USERS[@]} users), each refreshed by its own connection"
  echo "as soon as the last answer arrives, ${CHAIN_SECONDS} s, default settings (LOGIN_CONCURRENCY_PER_IP=2):"
  echo
  echo "| store | grants/s, one address | non-2xx | p99 | grants/s, $CHAINS addresses | non-2xx | p99 |"
  echo "|---|---|---|---|---|---|---|"
  printf '%s\n' "${rows[@]}"
}
# One row per signing algorithm: four servers (throttle and per-address caps lifted, as for the
# main figures), each signing with a key `passflow keys generate` made, all started first and
# measured in interleaved rounds, so that drift on a shared machine favours none of them:
# /health and /users/me/ (64 connections) and logins (4 connections, 10 s), ROUNDS rounds,
# medians.
KEY_ALGORITHMS=(HS256 EdDSA ES256 RS256)
keys_table() {
  local rows=() urls=() auths=() hs256_logins="" i=0
  for algorithm in "${KEY_ALGORITHMS[@]}"; do
    local log="$OUT/keys-$algorithm.log" env=()
    if [ "$algorithm" != HS256 ]; then
      "$PASSFLOW" keys generate --algorithm "$algorithm" >"$OUT/keys-$algorithm.pem"
      env=(TOKEN_ALGORITHM="$algorithm" SIGNING_KEY_FILE="$OUT/keys-$algorithm.pem")
    fi
    env "${env[@]}" PORT=0 SECRET_KEY=09d25e094faa6ca2556c818166b7a9563b93f7099f6f0f4caa6cf63b88e8d3e7 \
      LOGIN_FAILURES_PER_USER=100000000 LOGIN_ATTEMPTS_PER_IP=100000000 \
      LOGIN_CONCURRENCY_PER_IP=10000 CONNECTIONS_PER_IP=100000 NO_COLOR=1 \
      "$PASSFLOW" >"$log" 2>&1 &
    PIDS+=("$!")
    urls+=("$(wait_for_port "$log")")
    auths+=("Authorization: Bearer $(login_token "${urls[-1]}")")
    wrk_get "${urls[-1]}/users/me/" 64 2 -H "${auths[-1]}" >/dev/null
    : >"$OUT/keys-$algorithm-health.rps"
    : >"$OUT/keys-$algorithm-me.rps"
    : >"$OUT/keys-$algorithm-logins.rps"
    : >"$OUT/keys-$algorithm-logins.bad"
  done
  for _ in $(seq "$ROUNDS"); do
    i=0
    for algorithm in "${KEY_ALGORITHMS[@]}"; do
      wrk_get "${urls[i]}/health" 64 "$SECONDS_PER_RUN" | rps >>"$OUT/keys-$algorithm-health.rps"
      wrk_get "${urls[i]}/users/me/" 64 "$SECONDS_PER_RUN" -H "${auths[i]}" | rps >>"$OUT/keys-$algorithm-me.rps"
      wrk_get "${urls[i]}/token" 4 10 -s scripts/login.lua >"$OUT/keys-$algorithm-logins.txt"
      rps <"$OUT/keys-$algorithm-logins.txt" >>"$OUT/keys-$algorithm-logins.rps"
      non_2xx <"$OUT/keys-$algorithm-logins.txt" >>"$OUT/keys-$algorithm-logins.bad"
      i=$((i + 1))
    done
  done
  for algorithm in "${KEY_ALGORITHMS[@]}"; do
    local health me logins bad
    health=$(median <"$OUT/keys-$algorithm-health.rps")
    me=$(median <"$OUT/keys-$algorithm-me.rps")
    logins=$(median <"$OUT/keys-$algorithm-logins.rps")
    bad=$(awk '{ s += $1 } END { print s + 0 }' "$OUT/keys-$algorithm-logins.bad")
    [ -n "$hs256_logins" ] || hs256_logins=$logins
    rows+=("| $algorithm | $health | $me | $(ratio "$me" "$health") | $logins (non-2xx $bad) | $(ratio "$logins" "$hs256_logins") |")
  done
  for _ in "${KEY_ALGORITHMS[@]}"; do kill "${PIDS[-1]}"; unset 'PIDS[-1]'; done
  echo
  echo "Signing algorithms, $ROUNDS interleaved rounds, medians (targets: /users/me/ ÷ /health ≥ 0.85;"
  echo "logins/s within 5 % of HS256):"
  echo
  echo "| algorithm | \`/health\` req/s | \`/users/me/\` req/s | ÷ | logins/s (4 connections) | ÷ HS256 |"
  echo "|---|---|---|---|---|---|"
  printf '%s\n' "${rows[@]}"
}
# --sign-in. A first-party confidential client registered for the refresh grant; codes
# living 10 minutes so that a run's can be minted first. The codes go to SIGN_IN_USERS users
# (bench1 …), CODES_PER_USER each, minted by a browser per user signed in on the login page
# just before: a gateway trading codes for many users, none of them at the cap of 64 sessions
# per user (a code's pending session counts: at the cap each code minted would end one). Every
# exchange run starts from a server whose client has no sessions yet (a restart in memory;
# `clients remove` and `add` on a database). Refresh chains: the chain users' sessions.
SIGN_IN_USERS=${BENCH_SIGN_IN_USERS:-512}
# In memory an exchange is fast enough to trade 512 users' codes in well under the run.
SIGN_IN_USERS_MEMORY=${BENCH_SIGN_IN_USERS_MEMORY:-1536}
SIGN_IN_STORES=${BENCH_SIGN_IN_STORES:-memory sqlite postgres}
OPENID_EXCHANGES=${BENCH_OPENID_EXCHANGES:-1}
CODES_PER_USER=60
EXCHANGE_CONNECTIONS=16
EXCHANGE_SECONDS=${BENCH_EXCHANGE_SECONDS:-2}
BENCH_REDIRECT=http%3A%2F%2F127.0.0.1%2Fcb
BENCH_VERIFIER=bench-verifier-0123456789-0123456789-0123456789-abc
SIGN_IN_ENV=(PORT=0 SECRET_KEY=09d25e094faa6ca2556c818166b7a9563b93f7099f6f0f4caa6cf63b88e8d3e7
  ID_TOKEN_SIGNING_KEY_FILE="$OUT/id-token.pem"
  TOKEN_ISSUER=http://127.0.0.1 AUTHORIZATION_CODE_LIFETIME_SECONDS=600 TRUSTED_PROXIES=127.0.0.1/32
  LOGIN_FAILURES_PER_USER=100000000 LOGIN_ATTEMPTS_PER_IP=100000000
  LOGIN_CONCURRENCY_PER_IP=10000 CONNECTIONS_PER_IP=100000 NO_COLOR=1)
# The users file every store starts from: johndoe, the chain users and the bench users.
sign_in_users_file() {
  local hash
  # The id_token key every sign-in server shares (PostgreSQL requires one once a client is
  # registered), made once per checkout's bench directory, never committed.
  [ -s "$OUT/id-token.pem" ] || "$PASSFLOW" keys generate --algorithm RS256 >"$OUT/id-token.pem"
  hash=$(printf '%s' "$DB_PASSWORD" | "$PASSFLOW" hash-password)
  { printf '{'
    for user in johndoe "${CHAIN_USERS[@]}" $(seq -f 'bench%g' 1 "$((SIGN_IN_USERS > SIGN_IN_USERS_MEMORY ? SIGN_IN_USERS : SIGN_IN_USERS_MEMORY))"); do
      printf '"%s": {"username": "%s", "full_name": null, "email": null, "hashed_password": "%s", "disabled": false},' \
        "$user" "$user" "$hash"
    done | sed 's/,$//'
    printf '}'; } >"$OUT/sign-in-users.json"
}
# The Bench client, registered anew (on the database, or in a fresh clients file):
# SIGN_ID, SIGN_FORM (an authorization request's parameters) and SIGN_BASIC.
sign_in_client() { # DATABASE_URL-or-empty
  local added env=(DATABASE_URL="$1") clients=(clients) challenge
  if [ -z "$1" ]; then
    rm -f "$OUT/sign-in-clients.json"
    env=()
    clients=(clients --file "$OUT/sign-in-clients.json")
  elif [ -n "${SIGN_ID:-}" ]; then
    DATABASE_URL="$1" "$PASSFLOW" clients remove -- "$SIGN_ID" >/dev/null
  fi
  added=$(env "${env[@]}" "$PASSFLOW" "${clients[@]}" add Bench --redirect-uri http://127.0.0.1/cb \
    --first-party --refresh-token 2>/dev/null)
  SIGN_ID=$(awk '/^client_id:/ { print $2 }' <<<"$added")
  SIGN_BASIC=$(printf '%s:%s' "$SIGN_ID" "$(awk '/^client_secret:/ { print $2 }' <<<"$added")" | base64 -w0)
  challenge=$(printf '%s' "$BENCH_VERIFIER" | openssl dgst -sha256 -binary | base64 -w0 | tr '+/' '-_' | tr -d '=')
  SIGN_FORM="response_type=code&client_id=$SIGN_ID&redirect_uri=$BENCH_REDIRECT&code_challenge=$challenge&code_challenge_method=S256"
}
# A server for `store` with a fresh Bench client: SIGN_URL (its pid last in PIDS).
sign_in_server() { # store DATABASE_URL-or-empty
  local env=(DATABASE_URL="$2")
  [ -n "$2" ] || env=(USERS_FILE="$OUT/sign-in-users.json" CLIENTS_FILE="$OUT/sign-in-clients.json")
  sign_in_client "$2"
  env "${env[@]}" "${SIGN_IN_ENV[@]}" "$PASSFLOW" >"$OUT/sign-in-$1.log" 2>&1 &
  PIDS+=("$!")
  SIGN_URL=$(wait_for_port "$OUT/sign-in-$1.log")
}
# A browser signed in on the login page as `user`: its cookies, as a Cookie header's value.
page_session() { # user
  local session
  session=$(curl -s -D - -o /dev/null -H 'Cookie: passflow-csrf=bench-csrf-token' -X POST "$SIGN_URL/authorize" \
    --data "$SIGN_FORM&csrf=bench-csrf-token&username=$1&password=$DB_PASSWORD" |
    tr -d '\r' | sed -n 's/^[Ss]et-[Cc]ookie: \(passflow-session=[^;]*\).*/\1/p')
  [ -n "$session" ] || { echo "no page login for $1" >&2; return 1; }
  echo "passflow-csrf=bench-csrf-token; $session"
}
export -f page_session
# CODES_PER_USER codes for each bench user, one file per wrk thread; minted until all are
# (wrk is stopped once the files hold them).
mint_codes() {
  # A thread's last answer can arrive after it stopped: up to one code a thread goes unsaved.
  local cookies=() expected=$((ROW_USERS * CODES_PER_USER - EXCHANGE_CONNECTIONS)) pid minted=0
  mapfile -t cookies < <(seq -f 'bench%g' 1 "$ROW_USERS" |
    SIGN_URL=$SIGN_URL SIGN_FORM=$SIGN_FORM DB_PASSWORD=$DB_PASSWORD xargs -P 4 -I{} bash -c 'page_session {}')
  [ "${#cookies[@]}" = "$ROW_USERS" ] || { echo "page logins failed" >&2; exit 1; }
  rm -rf "$OUT/codes" && mkdir -p "$OUT/codes"
  CODES_DIR=$OUT/codes CODES_PER_COOKIE=$CODES_PER_USER MINT_THREADS=$EXCHANGE_CONNECTIONS wrk -t"$EXCHANGE_CONNECTIONS" -c"$EXCHANGE_CONNECTIONS" \
    -d120s -s scripts/code-mint.lua "$SIGN_URL/authorize?$SIGN_FORM" -- "${cookies[@]}" >"$OUT/sign-in-mint.txt" &
  pid=$!
  while [ "$minted" -lt "$expected" ] && kill -0 "$pid" 2>/dev/null; do
    sleep 0.2
    minted=$(cat "$OUT"/codes/codes-*.txt 2>/dev/null | wc -l)
  done
  kill -INT "$pid" 2>/dev/null || true
  wait "$pid" || true
  [ "$minted" -ge "$expected" ] && grep -q 'Unexpected answers (not 302 with a code): 0$' "$OUT/sign-in-mint.txt" ||
    { echo "minting failed ($minted of $expected):" >&2; cat "$OUT/sign-in-mint.txt" >&2; exit 1; }
}
# "<exchanges/s> <non-2xx>": every minted code traded once.
exchange_run() { # spread(0|1) out
  CODES_DIR=$OUT/codes EXCHANGE_SPREAD=$1 wrk -t"$EXCHANGE_CONNECTIONS" -c"$EXCHANGE_CONNECTIONS" \
    -d"$EXCHANGE_SECONDS"s --timeout 10s -s scripts/code-exchange.lua "$SIGN_URL/token" -- \
    "$SIGN_BASIC" "$BENCH_VERIFIER" "$BENCH_REDIRECT" >"$2"
  echo "$(rps <"$2") $(non_2xx <"$2")"
}
# One store's row: ROUNDS rounds of, from one address and then from 16, a fresh server,
# codes minted, refresh chains and the exchange run; then page logins and /token logins.
# Medians of the rounds' ratios, non-2xx summed.
sign_in_row() { # store DATABASE_URL-or-empty
  local store=$1 rounds="$OUT/sign-in-$1" spread
  SIGN_ID=
  ROW_USERS=$SIGN_IN_USERS
  [ "$store" != memory ] || ROW_USERS=$SIGN_IN_USERS_MEMORY
  if [ -n "$2" ]; then
    DATABASE_URL="$2" "$PASSFLOW" users import "$OUT/sign-in-users.json" >/dev/null
  fi
  for spread in 0 1; do : >"$rounds-exchange-$spread.rounds"; : >"$rounds-refresh-$spread.rounds"; done
  : >"$rounds-page.rounds"
  : >"$rounds-token.rounds"
  for _ in $(seq "$ROUNDS"); do
    for spread in 0 1; do
      sign_in_server "$store" "$2"
      mint_codes
      PASSWORD=$DB_PASSWORD refresh_chains "$SIGN_URL" "$EXCHANGE_CONNECTIONS" "$EXCHANGE_SECONDS" "$spread" \
        "$OUT/sign-in-refresh.txt" "${CHAIN_USERS[@]}" | awk '{ print $1, $2 }' >>"$rounds-refresh-$spread.rounds"
      exchange_run "$spread" "$OUT/sign-in-exchange.txt" >>"$rounds-exchange-$spread.rounds"
      [ "$spread" = 1 ] || stop_last
    done
    LOGIN_PASSWORD=$DB_PASSWORD wrk -t2 -c4 -d10s --timeout 10s -s scripts/page-login.lua "$SIGN_URL/authorize" -- "$SIGN_FORM" \
      >"$OUT/sign-in-page.txt"
    echo "$(rps <"$OUT/sign-in-page.txt") $(awk '/^Unexpected answers/ { print $NF }' "$OUT/sign-in-page.txt")" \
      >>"$rounds-page.rounds"
    LOGIN_PASSWORD=$DB_PASSWORD wrk -t2 -c4 -d10s --timeout 10s -s scripts/login.lua "$SIGN_URL/token" \
      >"$OUT/sign-in-token.txt"
    echo "$(rps <"$OUT/sign-in-token.txt") $(non_2xx <"$OUT/sign-in-token.txt")" >>"$rounds-token.rounds"
    stop_last
  done
  local cells=()
  for spread in 0 1; do
    cells+=("$(rounds_summary "$rounds-exchange-$spread.rounds" | awk '{ printf "%s (%s)", $1, $2 }')")
    cells+=("$(rounds_summary "$rounds-refresh-$spread.rounds" | awk '{ printf "%s (%s)", $1, $2 }')")
    cells+=("**$(rounds_ratio "$rounds-refresh-$spread.rounds" "$rounds-exchange-$spread.rounds")**")
  done
  cells+=("$(rounds_summary "$rounds-page.rounds" | awk '{ printf "%s (%s)", $1, $2 }')")
  cells+=("$(rounds_summary "$rounds-token.rounds" | awk '{ printf "%s (%s)", $1, $2 }')")
  cells+=("**$(rounds_ratio "$rounds-token.rounds" "$rounds-page.rounds")**")
  printf '| %s ' "$store" "${cells[@]}"
  echo '|'
}
sign_in_table() {
  local rows=() pg=${BENCH_POSTGRES:-postgres://postgres@127.0.0.1:5432}
  sign_in_users_file
  [[ " $SIGN_IN_STORES " != *" memory "* ]] || rows+=("$(sign_in_row memory "")")
  rm -f "$OUT"/sign-in.db*
  [[ " $SIGN_IN_STORES " != *" sqlite "* ]] || rows+=("$(sign_in_row sqlite "sqlite:$OUT/sign-in.db")")
  if [[ " $SIGN_IN_STORES " != *" postgres "* ]]; then
    :
  elif psql "$pg/postgres" -qc 'DROP DATABASE IF EXISTS passflow_sign_in' >/dev/null 2>&1 &&
    psql "$pg/postgres" -qc 'CREATE DATABASE passflow_sign_in' >/dev/null; then
    rows+=("$(sign_in_row postgres "$pg/passflow_sign_in")")
    sleep 0.5
    psql "$pg/postgres" -qc 'DROP DATABASE passflow_sign_in WITH (FORCE)' >/dev/null
  else
    rows+=("| postgres | no server at $pg (BENCH_POSTGRES) | | | | | | | | |")
  fi
  echo
  echo "Sign-in: $ROUNDS interleaved rounds, medians (non-2xx summed in brackets). Exchanges and refresh"
  echo "grants: $EXCHANGE_CONNECTIONS connections, ${EXCHANGE_SECONDS} s, from one address, then each from an address"
  echo "of its own; codes for $SIGN_IN_USERS users ($SIGN_IN_USERS_MEMORY in memory), $CODES_PER_USER each, more than a run trades. Page and /token logins: 4 connections,"
  echo "10 s. Targets: exchanges ÷ refresh ≥ 0.8; page logins ÷ /token logins ≥ 0.85."
  echo
  echo "| store | exchanges/s, 1 address | refresh grants/s, 1 address | ÷ | exchanges/s, $EXCHANGE_CONNECTIONS addresses | refresh grants/s, $EXCHANGE_CONNECTIONS addresses | ÷ | page logins/s | \`/token\` logins/s | ÷ |"
  echo "|---|---|---|---|---|---|---|---|---|---|"
  printf '%s\n' "${rows[@]}"
}
# The refresh tokens of N sessions the Bench client's code exchanges began, one per bench
# user signed in on the page, with `scope` (url-encoded): "tok1 tok2 ...".
code_refresh_tokens() { # N scope
  local i code cookie tokens=()
  for i in $(seq "$1"); do
    cookie=$(page_session "bench$i")
    code=$(curl -s -D - -o /dev/null -H "Cookie: $cookie" "$SIGN_URL/authorize?$SIGN_FORM&scope=$2" |
      tr -d '\r' | sed -n 's/^[Ll]ocation: .*[?&]code=\([^&]*\).*/\1/p')
    tokens+=("$(curl -s -H "Authorization: Basic $SIGN_BASIC" "$SIGN_URL/token" -d grant_type=authorization_code \
      -d "code=$code" -d "redirect_uri=$BENCH_REDIRECT" -d "code_verifier=$BENCH_VERIFIER" |
      sed -E 's/.*"refresh_token":"([^"]+)".*/\1/')")
  done
  echo "${tokens[@]}"
}
# --openid. One store's row: BENCH_ROUNDS interleaved rounds of /userinfo against /users/me/
# (one token with `openid me items`, 64 connections); of code exchanges with an id_token
# against without (codes minted with and without `openid`, 16 connections, 1 address); and of
# 16 refresh chains of sessions the client's code exchanges began (`me items`; the client
# authenticates every refresh) against 16 of password logins, from one address and from 16.
openid_row() { # store DATABASE_URL-or-empty
  local store=$1 rounds="$OUT/openid-$1" plain_form token code cookie with without spread kind
  SIGN_ID=
  ROW_USERS=$SIGN_IN_USERS
  [ "$store" != memory ] || ROW_USERS=$SIGN_IN_USERS_MEMORY
  if [ -n "$2" ]; then
    DATABASE_URL="$2" "$PASSFLOW" users import "$OUT/sign-in-users.json" >/dev/null
  fi
  for file in userinfo me with without code-0 password-0 code-1 password-1 openid-0; do
    : >"$rounds-$file.rounds"
  done
  for round in $(seq "$ROUNDS"); do
    sign_in_server "$store" "$2"
    plain_form=$SIGN_FORM
    cookie=$(page_session johndoe)
    code=$(curl -s -D - -o /dev/null -H "Cookie: $cookie" "$SIGN_URL/authorize?$plain_form&scope=openid%20me%20items" |
      tr -d '\r' | sed -n 's/^[Ll]ocation: .*[?&]code=\([^&]*\).*/\1/p')
    token=$(curl -s -H "Authorization: Basic $SIGN_BASIC" "$SIGN_URL/token" -d grant_type=authorization_code \
      -d "code=$code" -d "redirect_uri=$BENCH_REDIRECT" -d "code_verifier=$BENCH_VERIFIER" |
      sed -E 's/.*"access_token":"([^"]+)".*/\1/')
    wrk_get "$SIGN_URL/userinfo" 64 1 -H "Authorization: Bearer $token" >/dev/null # warm-up
    for path in userinfo me; do
      [ "$path" = me ] && url="$SIGN_URL/users/me/" || url="$SIGN_URL/userinfo"
      wrk_get "$url" 64 "$SECONDS_PER_RUN" -H "Authorization: Bearer $token" >"$OUT/openid-$path.txt"
      echo "$(rps <"$OUT/openid-$path.txt") $(non_2xx <"$OUT/openid-$path.txt")" >>"$rounds-$path.rounds"
    done
    # The two kinds of exchange, their order alternating between rounds.
    for kind in $([ "$OPENID_EXCHANGES" = 0 ] || { [ $((round % 2)) = 1 ] && echo with without || echo without with; }); do
      SIGN_FORM=$plain_form
      [ "$kind" = without ] || SIGN_FORM="$plain_form&scope=openid%20me%20items"
      mint_codes
      exchange_run 0 "$OUT/openid-exchange-$kind.txt" >>"$rounds-$kind.rounds"
    done
    SIGN_FORM=$plain_form
    # Refresh chains, the two kinds alternating between rounds, from one address then from 16.
    for spread in 0 1; do
      for kind in $([ $((round % 2)) = 1 ] && echo code password || echo password code); do
        if [ "$kind" = code ]; then
          # shellcheck disable=SC2046 # one argument per token
          REFRESH_BASIC=$SIGN_BASIC chains_of "$EXCHANGE_CONNECTIONS" "$EXCHANGE_SECONDS" "$spread" \
            "$OUT/openid-refresh.txt" "$SIGN_URL" $(code_refresh_tokens "$EXCHANGE_CONNECTIONS" me%20items)
        else
          PASSWORD=$DB_PASSWORD refresh_chains "$SIGN_URL" "$EXCHANGE_CONNECTIONS" "$EXCHANGE_SECONDS" "$spread" \
            "$OUT/openid-refresh.txt" "${CHAIN_USERS[@]}"
        fi | awk '{ print $1, $2 }' >>"$rounds-$kind-$spread.rounds"
      done
    done
    # With openid every refresh signs a new id_token: bounded by RS256, shown beside.
    # shellcheck disable=SC2046 # one argument per token
    REFRESH_BASIC=$SIGN_BASIC chains_of "$EXCHANGE_CONNECTIONS" "$EXCHANGE_SECONDS" 0 "$OUT/openid-refresh.txt" \
      "$SIGN_URL" $(code_refresh_tokens "$EXCHANGE_CONNECTIONS" openid%20me%20items) |
      awk '{ print $1, $2 }' >>"$rounds-openid-0.rounds"
    stop_last
  done
  [ -s "$rounds-with.rounds" ] || echo "- 0" >"$rounds-with.rounds"
  [ -s "$rounds-without.rounds" ] || echo "- 0" >"$rounds-without.rounds"
  with=$(rounds_summary "$rounds-with.rounds" | awk '{ print $1 }')
  without=$(rounds_summary "$rounds-without.rounds" | awk '{ print $1 }')
  printf '| %s ' "$store" \
    "$(rounds_summary "$rounds-userinfo.rounds" | awk '{ printf "%s (%s)", $1, $2 }')" \
    "$(rounds_summary "$rounds-me.rounds" | awk '{ printf "%s (%s)", $1, $2 }')" \
    "**$(rounds_ratio "$rounds-me.rounds" "$rounds-userinfo.rounds")**" \
    "$(rounds_summary "$rounds-with.rounds" | awk '{ printf "%s (%s)", $1, $2 }')" \
    "$(rounds_summary "$rounds-without.rounds" | awk '{ printf "%s (%s)", $1, $2 }')" \
    "$RSA_SIGNS" \
    "**$(awk -v w="$with" -v o="$without" -v s="$RSA_SIGNS" 'BEGIN { m = o < s ? o : s; if (w == "-") print "-"; else printf "%.2f", w / m }')**"
  for spread in 0 1; do
    printf '| %s ' "$(rounds_summary "$rounds-code-$spread.rounds" | awk '{ printf "%s (%s)", $1, $2 }')" \
      "$(rounds_summary "$rounds-password-$spread.rounds" | awk '{ printf "%s (%s)", $1, $2 }')" \
      "**$(rounds_ratio "$rounds-password-$spread.rounds" "$rounds-code-$spread.rounds")**"
  done
  printf '| %s ' "$(rounds_summary "$rounds-openid-0.rounds" | awk '{ printf "%s (%s)", $1, $2 }')"
  echo '|'
}
openid_table() {
  local rows=() pg=${BENCH_POSTGRES:-postgres://postgres@127.0.0.1:5432}
  sign_in_users_file
  # RS256 signatures/s of this machine, both cores (the id_token key is 3072 bits): as
  # passflow signs them (aws-lc-rs; criterion times one signature on one core, × 2 cores),
  # the ceiling the ratio is taken against; OpenSSL's (`openssl speed`) printed beside.
  OPENSSL_SIGNS=$(openssl speed -seconds 3 -multi 2 rsa3072 2>/dev/null | awk '/^rsa 3072/ { print $(NF - 1) }')
  RSA_SIGNS=$(cargo bench --quiet --bench passflow -- 'algorithm/sign/RS256' 2>/dev/null |
    awk '!done && ($1 == "time:" || $2 == "time:") { for (i = 1; i <= NF; i++) if ($i ~ /^\[/) { v = $(i + 2); u = $(i + 3) }
      f = u ~ /^ms/ ? 1000 : (u ~ /^ns/ ? 0.001 : 1); printf "%.0f\n", 2 * 1e6 / (v * f); done = 1 }')
  [ -n "$RSA_SIGNS" ] || { echo "criterion gave no RS256 signing time" >&2; exit 1; }
  [[ " $SIGN_IN_STORES " != *" memory "* ]] || rows+=("$(openid_row memory "")")
  rm -f "$OUT"/sign-in.db*
  [[ " $SIGN_IN_STORES " != *" sqlite "* ]] || rows+=("$(openid_row sqlite "sqlite:$OUT/sign-in.db")")
  if [[ " $SIGN_IN_STORES " == *" postgres "* ]]; then
    psql "$pg/postgres" -qc 'DROP DATABASE IF EXISTS passflow_sign_in' >/dev/null
    psql "$pg/postgres" -qc 'CREATE DATABASE passflow_sign_in' >/dev/null
    rows+=("$(openid_row postgres "$pg/passflow_sign_in")")
    sleep 0.5
    psql "$pg/postgres" -qc 'DROP DATABASE passflow_sign_in WITH (FORCE)' >/dev/null
  fi
  echo
  echo "OpenID Connect: $ROUNDS interleaved rounds, medians (non-2xx summed in brackets). /userinfo and"
  echo "/users/me/: one access token (openid me items), 64 connections, $SECONDS_PER_RUN s. Exchanges: 16"
  echo "connections, ${EXCHANGE_SECONDS} s, one address, codes minted with and without openid. RS256"
  echo "signatures/s: aws-lc-rs as passflow signs (criterion, one core, × 2); OpenSSL's \`speed -multi 2 rsa3072\`: $OPENSSL_SIGNS. Refresh grants: $EXCHANGE_CONNECTIONS chains, ${EXCHANGE_SECONDS} s, of"
  echo "sessions code exchanges began (\`me items\`, the client's Basic credentials on every refresh)"
  echo "and of password logins, from one address, then from one each; the last column: code-flow"
  echo "chains with \`openid\` (a new id_token per refresh), one address. Targets: /userinfo ÷"
  echo "/users/me/ ≥ 0.95; exchanges with an id_token ÷ min(without, RS256 signatures/s) ≥ 0.8;"
  echo "code-flow refresh ÷ password refresh ≥ 0.8."
  echo
  echo "| store | /userinfo/s | /users/me//s | ÷ | exchanges/s with id_token | without | RS256 signs/s | ÷ | code-flow refresh/s, 1 address | password refresh/s | ÷ | code-flow refresh/s, $EXCHANGE_CONNECTIONS addresses | password refresh/s | ÷ | with openid, 1 address |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
  printf '%s\n' "${rows[@]}"
}
# --sign-in --compare=OLD. One store's row: per round, each side (the old binary, then this
# checkout's; the order alternating between rounds) serves the store from a fresh server, its
# codes minted, then the refresh chains and the exchange run from one address and from 16.
# Each side has a database of its own, migrated by its own binary (a change may migrate the
# schema). after ÷ before: the median of the rounds' ratios.
sign_in_compare_row() { # store before-DATABASE_URL-or-empty after-DATABASE_URL-or-empty
  local store=$1 rounds="$OUT/sign-in-compare-$1" spread side order=(before after) cells=()
  declare -A binary=([before]=$COMPARE_BEFORE [after]=$PASSFLOW) url=([before]=$2 [after]=$3) client=()
  local this=$PASSFLOW
  SIGN_ID=
  ROW_USERS=$SIGN_IN_USERS
  [ "$store" != memory ] || ROW_USERS=$SIGN_IN_USERS_MEMORY
  for side in before after; do
    if [ -n "${url[$side]}" ]; then
      DATABASE_URL="${url[$side]}" "${binary[$side]}" users import "$OUT/sign-in-users.json" >/dev/null
    fi
  done
  for side in before after; do
    for spread in 0 1; do
      : >"$rounds-$side-exchange-$spread.rounds"
      : >"$rounds-$side-refresh-$spread.rounds"
    done
  done
  for _ in $(seq "$ROUNDS"); do
    for side in "${order[@]}"; do
      PASSFLOW=${binary[$side]}
      for spread in 0 1; do
        # Each side's previous Bench client goes (and its sessions with it) from its database.
        SIGN_ID=${client[$side]:-}
        sign_in_server "$store" "${url[$side]}"
        client[$side]=$SIGN_ID
        mint_codes
        PASSWORD=$DB_PASSWORD refresh_chains "$SIGN_URL" "$EXCHANGE_CONNECTIONS" "$EXCHANGE_SECONDS" "$spread" \
          "$OUT/sign-in-refresh.txt" "${CHAIN_USERS[@]}" | awk '{ print $1, $2 }' >>"$rounds-$side-refresh-$spread.rounds"
        exchange_run "$spread" "$OUT/sign-in-exchange.txt" >>"$rounds-$side-exchange-$spread.rounds"
        stop_last
      done
    done
    order=("${order[1]}" "${order[0]}")
  done
  PASSFLOW=$this
  for spread in 0 1; do
    for scenario in exchange refresh; do
      cells+=("$(rounds_summary "$rounds-before-$scenario-$spread.rounds" | awk '{ printf "%s (%s)", $1, $2 }')")
      cells+=("$(rounds_summary "$rounds-after-$scenario-$spread.rounds" | awk '{ printf "%s (%s)", $1, $2 }')")
      cells+=("**$(rounds_ratio "$rounds-before-$scenario-$spread.rounds" "$rounds-after-$scenario-$spread.rounds")**")
    done
  done
  printf '| %s ' "$store" "${cells[@]}"
  echo '|'
}
sign_in_compare_table() {
  local rows=() pg=${BENCH_POSTGRES:-postgres://postgres@127.0.0.1:5432}
  sign_in_users_file
  [[ " $SIGN_IN_STORES " != *" memory "* ]] || rows+=("$(sign_in_compare_row memory "" "")")
  rm -f "$OUT"/sign-in-before.db* "$OUT"/sign-in-after.db*
  [[ " $SIGN_IN_STORES " != *" sqlite "* ]] ||
    rows+=("$(sign_in_compare_row sqlite "sqlite:$OUT/sign-in-before.db" "sqlite:$OUT/sign-in-after.db")")
  if [[ " $SIGN_IN_STORES " == *" postgres "* ]]; then
    local side
    for side in before after; do
      psql "$pg/postgres" -qc "DROP DATABASE IF EXISTS passflow_sign_in_$side" >/dev/null
      psql "$pg/postgres" -qc "CREATE DATABASE passflow_sign_in_$side" >/dev/null
    done
    rows+=("$(sign_in_compare_row postgres "$pg/passflow_sign_in_before" "$pg/passflow_sign_in_after")")
    sleep 0.5
    for side in before after; do
      psql "$pg/postgres" -qc "DROP DATABASE passflow_sign_in_$side WITH (FORCE)" >/dev/null
    done
  fi
  echo
  echo "Sign-in before/after: $COMPARE_BEFORE (before) and $PASSFLOW (after), sides alternating in each"
  echo "of $ROUNDS rounds, each on a fresh server; medians (non-2xx summed, in brackets); after ÷ before"
  echo "the median of the rounds' ratios. $EXCHANGE_CONNECTIONS connections, ${EXCHANGE_SECONDS} s, from one address, then"
  echo "each from an address of its own."
  echo
  echo "| store | exchanges/s before, 1 address | after | ÷ | refresh grants/s before | after | ÷ | exchanges/s before, $EXCHANGE_CONNECTIONS addresses | after | ÷ | refresh grants/s before | after | ÷ |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|"
  printf '%s\n' "${rows[@]}"
}
# --scale. Per store, an empty database and one seeded by SQL (scripts/scale/), each served by
# a server with the caps lifted (as for the main figures); see scale_rows.
SCALE_USERS=${BENCH_SCALE_USERS:-100000}
SCALE_SESSIONS=${BENCH_SCALE_SESSIONS:-1000000}
REFRESH_CHAINS=16
# Even, so that each order of a round's alone runs leads into half of the together runs (see
# scale_rows).
SCALE_ROUNDS=$(((${BENCH_ROUNDS:-6} + 1) / 2 * 2))
# Stops the server started last and waits until it has exited (and let go of its files).
stop_last() {
  kill "${PIDS[-1]}"
  while kill -0 "${PIDS[-1]}" 2>/dev/null; do sleep 0.1; done
  unset 'PIDS[-1]'
}
scale_server() { # DATABASE_URL log [binary] -> SCALE_URL (and its pid appended to PIDS)
  DATABASE_URL="$1" PORT=0 SECRET_KEY=09d25e094faa6ca2556c818166b7a9563b93f7099f6f0f4caa6cf63b88e8d3e7 \
    LOGIN_FAILURES_PER_USER=100000000 LOGIN_ATTEMPTS_PER_IP=100000000 \
    LOGIN_CONCURRENCY_PER_IP=10000 CONNECTIONS_PER_IP=100000 NO_COLOR=1 \
    "${3:-$PASSFLOW}" >"$2" 2>&1 &
  PIDS+=("$!")
  SCALE_URL=$(wait_for_port "$2")
}
# The connections each --scale scenario brings to one server (a pair measured together splits
# them: half each).
declare -A SCALE_CONNECTIONS=([refresh]=$REFRESH_CHAINS [me]=64 [health]=64 [login]=4)
# One --scale scenario against the server at url with `connections` connections, written to
# out: "<rate> <non-2xx>". With a go file, it first does what wrk needs (logins for tokens),
# then touches out.ready and starts wrk only once the go file exists, so that two servers can
# be loaded at the same instant (scale_together).
scale_load() { # refresh|me|login url connections out [go-file]
  local url=$2 connections=$3 out=$4 go=${5:-} args=()
  case $1 in
    refresh)
      local tokens
      tokens=$(PASSWORD=$DB_PASSWORD refresh_tokens "$url" "$connections" "${CHAIN_USERS[@]}")
      # shellcheck disable=SC2206 # one argument per token
      args=(-t"$connections" -s scripts/refresh.lua "$url/token" -- $tokens) ;;
    me) args=(-t2 -H "Authorization: Bearer $(login_token "$url" "$DB_PASSWORD")" "$url/users/me/") ;;
    health) args=(-t2 "$url/health") ;;
    login) args=(-t2 -s scripts/login.lua "$url/token") ;;
  esac
  if [ -n "$go" ]; then
    touch "$out.ready"
    while [ ! -e "$go" ]; do sleep 0.01; done
  fi
  REFRESH_SPREAD=0 LOGIN_PASSWORD=$DB_PASSWORD wrk -c"$connections" -d"$SECONDS_PER_RUN"s --timeout 10s \
    "${args[@]}" >"$out"
  echo "$(rps <"$out") $(non_2xx <"$out")"
}
# One server alone: "<rate> <non-2xx>"; pgbench ignores url and runs against the database
# pgbench_setup made.
scale_run() { # refresh|me|login|pgbench url label
  local out="$OUT/scale-$3-$1.txt"
  if [ "$1" = pgbench ]; then
    pgbench_update_tps >"$out"
    echo "$(cat "$out") 0"
    return
  fi
  scale_load "$1" "$2" "${SCALE_CONNECTIONS[$1]}" "$out"
}
# Both servers at once, half the scenario's connections each: the two sides share every
# instant of the machine, so their ratio carries no drift at all. Appends "<rate> <non-2xx>"
# to each side's `together` rounds file.
scale_together() { # refresh|me|login empty-url full-url store
  local half=$((SCALE_CONNECTIONS[$1] / 2)) side pids=() go="$OUT/scale-$4-together.go"
  declare -A url_of=([empty]=$2 [full]=$3)
  rm -f "$go" "$OUT/scale-$4-"*"-together-$1.txt.ready"
  for side in empty full; do
    scale_load "$1" "${url_of[$side]}" "$half" "$OUT/scale-$4-$side-together-$1.txt" "$go" \
      >>"$OUT/scale-$4-$side-together-$1.rounds" &
    pids+=("$!")
  done
  while [ ! -e "$OUT/scale-$4-empty-together-$1.txt.ready" ] ||
    [ ! -e "$OUT/scale-$4-full-together-$1.txt.ready" ]; do sleep 0.01; done
  touch "$go"
  wait "${pids[@]}"
}
# A file of "<rate> <non-2xx>" lines, one per round -> "<median rate> <summed non-2xx>".
rounds_summary() { # file
  echo "$(awk '{ print $1 }' "$1" | median) $(awk '{ s += $2 } END { print s + 0 }' "$1")"
}
# Two such files, round by round -> the median of the rounds' ratios (second ÷ first): each
# round's pair was measured seconds apart (alone) or at once (together).
rounds_ratio() { # first-file second-file [decimals, default 2]
  rounds_ratios "$@" | tr ' ' '\n' | median | xargs printf "%.${3:-2}f\n"
}
rounds_ratios() { # first-file second-file [decimals] -> each round's ratio, "0.98 1.03 ..."
  paste -d' ' "$1" "$2" | awk -v d="${3:-2}" '{ printf "%s%.*f", sep, d, $3 / $1; sep = " " } END { print "" }'
}
# One database's rows: an empty database and a seeded one, each with its own server, both
# running at once. Each of SCALE_ROUNDS rounds measures every scenario on each side alone,
# back to back (empty first, then full first in the next round), then on both sides together.
# Drift on a shared machine (±25 % between minutes here, ±30 % between two 3 s runs) still
# reaches the alone ratios; the together ratios, whose sides share every instant, are the
# verdict. The side loaded alone last tends to do worse in the together run that follows
# (odd and even rounds' together ratios differed by 5–15 % on 2026-12-03), so the rounds are
# even and each side is last in half of them.
# Ratios are medians of the rounds' ratios. With pgbench=1, each round also runs pgbench after
# the refresh runs.
scale_rows() { # store pgbench(0|1) empty-URL full-URL seed-command...
  local store=$1 with_pgbench=$2 empty_url=$3 full_url=$4 url side scenario
  shift 4
  for url in "$empty_url" "$full_url"; do
    DATABASE_URL="$url" "$PASSFLOW" migrate >/dev/null
    for user in johndoe "${CHAIN_USERS[@]}"; do
      printf '%s\n' "$DB_PASSWORD" | DATABASE_URL="$url" "$PASSFLOW" users add "$user" >/dev/null
    done
  done
  local started=$SECONDS
  "$@" >"$OUT/scale-$store-seed.log" 2>&1
  local seeded=$((SECONDS - started))
  declare -A server
  scale_server "$empty_url" "$OUT/scale-$store-empty.log"
  server[empty]=$SCALE_URL
  scale_server "$full_url" "$OUT/scale-$store-full.log"
  server[full]=$SCALE_URL
  local scenarios=(refresh me login) order=(empty full)
  for scenario in "${scenarios[@]}"; do
    for side in empty full; do
      : >"$OUT/scale-$store-$side-$scenario.rounds"
      : >"$OUT/scale-$store-$side-together-$scenario.rounds"
    done
  done
  : >"$OUT/scale-$store-empty-pgbench.rounds"
  for _ in $(seq "$SCALE_ROUNDS"); do
    for scenario in "${scenarios[@]}"; do
      for side in "${order[@]}"; do
        scale_run "$scenario" "${server[$side]}" "$store-$side" >>"$OUT/scale-$store-$side-$scenario.rounds"
      done
      scale_together "$scenario" "${server[empty]}" "${server[full]}" "$store"
      if [ "$scenario" = refresh ] && [ "$with_pgbench" = 1 ]; then
        scale_run pgbench "" "$store" >>"$OUT/scale-$store-empty-pgbench.rounds"
      fi
    done
    order=("${order[1]}" "${order[0]}")
  done
  stop_last
  stop_last
  local empty=() full=() alone=() together=() bad rounds=$OUT/scale-$store
  for scenario in "${scenarios[@]}"; do
    empty+=("$(rounds_summary "$rounds-empty-$scenario.rounds" | awk '{ printf "%s (%s)", $1, $2 }')")
    full+=("$(rounds_summary "$rounds-full-$scenario.rounds" | awk '{ printf "%s (%s)", $1, $2 }')")
    alone+=("$(rounds_ratio "$rounds-empty-$scenario.rounds" "$rounds-full-$scenario.rounds")")
    bad=$(cat "$rounds-"*"-together-$scenario.rounds" | awk '{ s += $2 } END { print s + 0 }')
    together+=("$(rounds_ratio "$rounds-empty-together-$scenario.rounds" "$rounds-full-together-$scenario.rounds") ($bad)")
    echo "$store $scenario, full ÷ empty by round, alone: $(rounds_ratios "$rounds-empty-$scenario.rounds" \
      "$rounds-full-$scenario.rounds"); together: $(rounds_ratios "$rounds-empty-together-$scenario.rounds" \
      "$rounds-full-together-$scenario.rounds")" >>"$OUT/scale-ratios.txt"
  done
  echo "| $store | empty, alone | ${empty[0]} | ${empty[1]} | ${empty[2]} |"
  echo "| $store | $SCALE_SESSIONS sessions, $SCALE_USERS users (seeded in ${seeded} s), alone | ${full[0]} | ${full[1]} | ${full[2]} |"
  echo "| $store | full ÷ empty, each alone | ${alone[0]} | ${alone[1]} | ${alone[2]} |"
  echo "| $store | **full ÷ empty, together** | **${together[0]}** | **${together[1]}** | **${together[2]}** |"
}
# pgbench's rate for one single-row UPDATE by primary key per transaction, REFRESH_CHAINS
# clients: what the database itself does on this machine, for the refresh figure to be read
# against. pgbench_setup makes its database (PGBENCH_URL); pgbench_update_tps runs it once.
pgbench_setup() { # postgres base url
  PGBENCH_URL=$1/passflow_pgbench
  psql "$1/postgres" -qc 'DROP DATABASE IF EXISTS passflow_pgbench' >/dev/null
  psql "$1/postgres" -qc 'CREATE DATABASE passflow_pgbench' >/dev/null
  psql "$PGBENCH_URL" -qc 'CREATE TABLE counters (id int PRIMARY KEY, n bigint NOT NULL);
    INSERT INTO counters SELECT i, 0 FROM generate_series(1, 100000) AS i' >/dev/null
  psql "$PGBENCH_URL" -qc 'VACUUM ANALYZE counters' >/dev/null
  printf '\\set id random(1, 100000)\nUPDATE counters SET n = n + 1 WHERE id = :id;\n' >"$OUT/pgbench-update.sql"
}
pgbench_update_tps() {
  pgbench -n -c "$REFRESH_CHAINS" -j 2 -T "$SECONDS_PER_RUN" -f "$OUT/pgbench-update.sql" \
    "$PGBENCH_URL" 2>/dev/null | awk '$1 == "tps" { printf "%.0f\n", $3 }'
}
# The last plan's top `Buffers:` line in rotate-postgres.sql's output: "hit=8" (and read=N).
warm_buffers() { # file
  awk '/^ Update on/ { top = 1; next } top && /Buffers:/ { line = $0; top = 0 } END {
    sub(/.*shared /, "", line); print (line == "" ? "n/a" : line) }' "$1" 2>/dev/null || echo n/a
}
# The last of rotate-sqlite.sql's counters: "hits=15 misses=1".
warm_pages() { # file
  awk '/^Page cache hits/ { h = $4 } /^Page cache misses/ { m = $4 } END {
    print (h == "" ? "n/a" : "hits=" h " misses=" m) }' "$1" 2>/dev/null || echo n/a
}
scale_table() {
  local pg=${BENCH_POSTGRES:-postgres://postgres@127.0.0.1:5432} rows=() hash now pgbench="" first second
  : >"$OUT/scale-ratios.txt"
  hash=$(printf '%s' "$DB_PASSWORD" | "$PASSFLOW" hash-password)
  now=$(date +%s)
  if psql "$pg/postgres" -qc 'DROP DATABASE IF EXISTS passflow_scale' >/dev/null 2>&1 &&
    psql "$pg/postgres" -qc 'DROP DATABASE IF EXISTS passflow_scale_empty' >/dev/null &&
    psql "$pg/postgres" -qc 'CREATE DATABASE passflow_scale' >/dev/null &&
    psql "$pg/postgres" -qc 'CREATE DATABASE passflow_scale_empty' >/dev/null; then
    pgbench_setup "$pg"
    rows+=("$(scale_rows postgres 1 "$pg/passflow_scale_empty" "$pg/passflow_scale" psql -v ON_ERROR_STOP=1 "$pg/passflow_scale" \
      -v users="$SCALE_USERS" -v sessions="$SCALE_SESSIONS" -v now="$now" -v hash="$hash" \
      -f scripts/scale/seed-postgres.sql)")
    pgbench="$(rounds_summary "$OUT/scale-postgres-empty-pgbench.rounds" | awk '{ print $1 }') $(rounds_ratio "$OUT/scale-postgres-empty-pgbench.rounds" "$OUT/scale-postgres-empty-refresh.rounds")"
    echo "postgres refresh (empty) ÷ pgbench by round: $(rounds_ratios "$OUT/scale-postgres-empty-pgbench.rounds" \
      "$OUT/scale-postgres-empty-refresh.rounds")" >>"$OUT/scale-ratios.txt"
    for db in passflow_scale_empty passflow_scale; do
      psql -X "$pg/$db" -f scripts/scale/rotate-postgres.sql >"$OUT/scale-rotate-$db.txt" 2>&1 || true
    done
    psql -X "$pg/passflow_scale" -v now="$now" -f scripts/scale/explain-postgres.sql >"$OUT/scale-explain-postgres.txt" 2>&1 || true
    psql "$pg/postgres" -qc 'DROP DATABASE passflow_scale WITH (FORCE)' >/dev/null
    psql "$pg/postgres" -qc 'DROP DATABASE passflow_scale_empty WITH (FORCE)' >/dev/null
    psql "$pg/postgres" -qc 'DROP DATABASE passflow_pgbench WITH (FORCE)' >/dev/null
  else
    rows+=("| postgres | no server at $pg (BENCH_POSTGRES) | | | |")
  fi
  rm -f "$OUT"/scale.db "$OUT"/scale.db-wal "$OUT"/scale.db-shm "$OUT"/scale-empty.db*
  sed -e "s/USERS/$SCALE_USERS/g" -e "s/SESSIONS/$SCALE_SESSIONS/g" -e "s/NOW/$now/g" \
    -e "s|HASH|$hash|g" scripts/scale/seed-sqlite.sql >"$OUT/seed-sqlite.sql"
  DATABASE_URL="sqlite:$OUT/scale.db" "$PASSFLOW" migrate >/dev/null # for the probe below
  if [ -n "$(sqlite3 "$OUT/scale.db" "SELECT 1 FROM pragma_table_info('sessions') WHERE name = 'last_used_day'")" ]; then
    printf '%s\n' 'UPDATE sessions SET last_used_day = last_used_at / 86400;' 'ANALYZE;' \
      'PRAGMA wal_checkpoint(TRUNCATE);' >>"$OUT/seed-sqlite.sql"
  fi
  rows+=("$(scale_rows sqlite 0 "sqlite:$OUT/scale-empty.db" "sqlite:$OUT/scale.db" sqlite3 "$OUT/scale.db" ".read $OUT/seed-sqlite.sql")")
  sed "s/NOW/$now/g" scripts/scale/explain-sqlite.sql | sqlite3 "$OUT/scale.db" >"$OUT/scale-explain-sqlite.txt" 2>&1 || true
  local db family current at day
  for db in scale-empty scale; do
    read -r family current at day <<<"$(sqlite3 -separator ' ' "$OUT/$db.db" "SELECT hex(family), hex(current_token), \
      last_used_at, last_used_day FROM sessions WHERE user_id = \
      (SELECT subject FROM users WHERE username = 'chain1') ORDER BY last_used_at DESC LIMIT 1")"
    sed -e "s/FAMILY/$family/; s/CURRENT/$current/; s/\bAT\b/$at/g; s/\bDAY\b/$day/" \
      scripts/scale/rotate-sqlite.sql >"$OUT/rotate-sqlite.sql"
    sqlite3 "$OUT/$db.db" ".read $OUT/rotate-sqlite.sql" ".read $OUT/rotate-sqlite.sql" 2>&1 |
      grep -E '^(Page cache (hits|misses)|Virtual Machine Steps)' >"$OUT/scale-rotate-sqlite-$db.txt" || true
  done
  echo
  echo "Growth: each figure on empty tables and after seeding. Per round, each server alone, back to back (order"
  echo "alternating), then both together with half the connections each; $SCALE_ROUNDS rounds, medians (non-2xx summed, in"
  echo "brackets), full ÷ empty the median of the rounds' ratios. Refresh grants from $REFRESH_CHAINS chains at one address,"
  echo "\`/users/me/\` with 64 connections, logins with 4; ${SECONDS_PER_RUN} s each. Target: full within 10 % of empty;"
  echo "the together ratio is the drift-free one. Below the table, each round's ratios."
  echo
  echo "| store | tables | refresh grants/s | \`/users/me/\` req/s | logins/s |"
  echo "|---|---|---|---|---|"
  printf '%s\n' "${rows[@]}"
  echo
  sed 's/$/  /' "$OUT/scale-ratios.txt"
  if [ -n "$pgbench" ]; then
    read -r pgbench_tps pgbench_ratio <<<"$pgbench"
    echo
    echo "pgbench, one single-row UPDATE by primary key per transaction, $REFRESH_CHAINS clients, a run in each"
    echo "round beside the refresh pair: median $pgbench_tps tps; passflow's PostgreSQL refresh grants/s (empty"
    echo "tables) ÷ that, median of the rounds' ratios: $pgbench_ratio (target ≥ 0.6)."
  fi
  if [ -s "$OUT/scale-sqlite-empty-refresh.rounds" ]; then
    # The issue's SQLite target (8 000/s on a machine where /users/me/ did 86 877 req/s) as a
    # ratio to /users/me/, which reads no table: this machine's speed cancels out.
    echo
    echo "SQLite refresh grants/s ÷ \`/users/me/\` req/s, empty tables, each alone, median of the rounds' ratios:"
    first=$OUT/scale-sqlite-empty-me.rounds second=$OUT/scale-sqlite-empty-refresh.rounds
    echo "$(rounds_ratio "$first" "$second" 3) (by round: $(rounds_ratios "$first" "$second" 3)); the issue's target 8 000 ÷ 86 877 = 0.092 (5 000 then: 0.058)."
  fi
  echo
  echo "One refresh's statement, warm (the second of two runs), empty → full tables:"
  echo "PostgreSQL shared buffers $(warm_buffers "$OUT/scale-rotate-passflow_scale_empty.txt") → $(warm_buffers "$OUT/scale-rotate-passflow_scale.txt");"
  echo "SQLite page cache $(warm_pages "$OUT/scale-rotate-sqlite-scale-empty.txt") → $(warm_pages "$OUT/scale-rotate-sqlite-scale.txt")."
  echo "Plans: $OUT/scale-rotate-*.txt. The prunes at full tables, plans and times:"
  echo "$OUT/scale-explain-postgres.txt, $OUT/scale-explain-sqlite.txt"
}
# --compare. One store's rows: the old binary ("empty" side of the --scale machinery) and this
# checkout's ("full" side), each on a database of its own that it migrated, with the same users,
# both serving at once; per round each scenario on each side alone (order alternating), then
# both together with half the connections each. Medians; after ÷ before the median of the
# rounds' ratios; /users/me/ ÷ /health per side from the alone runs.
compare_rows() { # store before-DATABASE_URL after-DATABASE_URL
  local store=compare-$1 side scenario rounds
  declare -A binary=([empty]=$COMPARE_BEFORE [full]=$PASSFLOW) url=([empty]=$2 [full]=$3) server
  for side in empty full; do
    DATABASE_URL="${url[$side]}" "${binary[$side]}" migrate >/dev/null
    for user in johndoe "${CHAIN_USERS[@]}"; do
      printf '%s\n' "$DB_PASSWORD" | DATABASE_URL="${url[$side]}" "${binary[$side]}" users add "$user" >/dev/null
    done
    scale_server "${url[$side]}" "$OUT/$store-$side.log" "${binary[$side]}"
    server[$side]=$SCALE_URL
  done
  local scenarios=(health me refresh login) order=(empty full)
  for scenario in "${scenarios[@]}"; do
    for side in empty full; do
      : >"$OUT/scale-$store-$side-$scenario.rounds"
      : >"$OUT/scale-$store-$side-together-$scenario.rounds"
    done
  done
  for _ in $(seq "$ROUNDS"); do
    for scenario in "${scenarios[@]}"; do
      for side in "${order[@]}"; do
        scale_run "$scenario" "${server[$side]}" "$store-$side" >>"$OUT/scale-$store-$side-$scenario.rounds"
      done
      scale_together "$scenario" "${server[empty]}" "${server[full]}" "$store"
    done
    order=("${order[1]}" "${order[0]}")
  done
  stop_last
  stop_last
  rounds=$OUT/scale-$store
  for scenario in "${scenarios[@]}"; do
    local before after bad
    before=$(rounds_summary "$rounds-empty-$scenario.rounds" | awk '{ printf "%s (%s)", $1, $2 }')
    after=$(rounds_summary "$rounds-full-$scenario.rounds" | awk '{ printf "%s (%s)", $1, $2 }')
    bad=$(cat "$rounds-"*"-together-$scenario.rounds" | awk '{ s += $2 } END { print s + 0 }')
    echo "| $1 | $scenario | $before | $after | $(rounds_ratio "$rounds-empty-$scenario.rounds" \
      "$rounds-full-$scenario.rounds") | **$(rounds_ratio "$rounds-empty-together-$scenario.rounds" \
      "$rounds-full-together-$scenario.rounds") ($bad)** |"
  done
  echo "| $1 | \`/users/me/\` ÷ \`/health\` | $(rounds_ratio "$rounds-empty-health.rounds" \
    "$rounds-empty-me.rounds") | $(rounds_ratio "$rounds-full-health.rounds" "$rounds-full-me.rounds") | | |"
}
compare_table() {
  local pg=${BENCH_POSTGRES:-postgres://postgres@127.0.0.1:5432} rows=() db
  rm -f "$OUT"/compare-*.db*
  rows+=("$(compare_rows sqlite "sqlite:$OUT/compare-before.db" "sqlite:$OUT/compare-after.db")")
  for db in passflow_compare_before passflow_compare_after; do
    psql "$pg/postgres" -qc "DROP DATABASE IF EXISTS $db" >/dev/null
    psql "$pg/postgres" -qc "CREATE DATABASE $db" >/dev/null
  done
  rows+=("$(compare_rows postgres "$pg/passflow_compare_before" "$pg/passflow_compare_after")")
  for db in passflow_compare_before passflow_compare_after; do
    psql "$pg/postgres" -qc "DROP DATABASE $db WITH (FORCE)" >/dev/null
  done
  echo
  echo "Before/after: $COMPARE_BEFORE (before) and $PASSFLOW (after), each on its own database, both"
  echo "serving at once. Per round, each alone (order alternating), then both together with half the"
  echo "connections each; $ROUNDS rounds of ${SECONDS_PER_RUN} s runs, medians (non-2xx summed, in brackets)."
  echo "\`/health\` and \`/users/me/\` with 64 connections, refresh grants from $REFRESH_CHAINS chains, logins with 4."
  echo
  echo "| store | scenario | before | after | after ÷ before, alone | after ÷ before, together (non-2xx) |"
  echo "|---|---|---|---|---|---|"
  printf '%s\n' "${rows[@]}"
}
AUDIT_EVENTS=${BENCH_AUDIT_EVENTS:-10000000}
AUDIT_USERS=10000
# One store's trail at full size: seeding time, `audit list --user` timed, the plans.
audit_rows() { # store DATABASE_URL
  local store=$1 url=$2 now cutoff seeded started user=user-4242 sub=sub-4242
  now=$(($(date +%s) * 1000))
  cutoff=$((now - 180 * 86400000))
  DATABASE_URL="$url" "$PASSFLOW" migrate >/dev/null
  started=$(date +%s)
  if [ "$store" = postgres ]; then
    psql "$url" -q -v ON_ERROR_STOP=1 -v n="$AUDIT_EVENTS" -v users="$AUDIT_USERS" -v now="$now" \
      -f scripts/audit/seed-postgres.sql >/dev/null
  else
    sed -e "s/NOW/$now/g" -e "s/USERS/$AUDIT_USERS/g" -e "s/\bN\b/$AUDIT_EVENTS/g" \
      scripts/audit/seed-sqlite.sql | sqlite3 "${url#sqlite:}" >/dev/null
  fi
  seeded=$(($(date +%s) - started))
  DATABASE_URL="$url" hyperfine -N --warmup 2 --runs 20 --export-json "$OUT/audit-$store.json" \
    --style none "$PASSFLOW audit list --user $user --limit 100" >/dev/null
  local rows
  rows=$(DATABASE_URL="$url" "$PASSFLOW" audit list --user "$user" --limit 100 | wc -l)
  echo "| $store | $AUDIT_EVENTS in ${seeded} s | $rows | $(jq -r '.results[0] |
    "\(.mean * 1000 | . * 10 | round / 10) | \(.max * 1000 | . * 10 | round / 10)"' "$OUT/audit-$store.json") |" \
    >"$OUT/audit-$store.row"
  if [ "$store" = postgres ]; then
    psql "$url" -q -v user="$user" -v sub="$sub" -v cutoff="$cutoff" \
      -f scripts/audit/explain-postgres.sql >"$OUT/audit-$store.plans" 2>&1
  else
    sed -e "s/USER/$user/g" -e "s/SUB/$sub/g" -e "s/CUTOFF/$cutoff/g" scripts/audit/explain-sqlite.sql |
      sqlite3 "${url#sqlite:}" >"$OUT/audit-$store.plans" 2>&1
  fi
}
# A flood of wrong passwords from many addresses at one server on `url`: the answers by status
# against the events written, by type.
audit_flood() { # DATABASE_URL
  local url=$1 log=$OUT/audit-flood.log
  printf '%s\n' "$DB_PASSWORD" | DATABASE_URL="$url" "$PASSFLOW" users add johndoe >/dev/null
  local metrics=127.0.0.1:$((20000 + RANDOM % 20000))
  DATABASE_URL="$url" PORT=0 TRUSTED_PROXIES=127.0.0.1 NO_COLOR=1 METRICS_ADDR=$metrics \
    SECRET_KEY=09d25e094faa6ca2556c818166b7a9563b93f7099f6f0f4caa6cf63b88e8d3e7 \
    "$PASSFLOW" >"$log" 2>&1 &
  PIDS+=("$!")
  local base
  base=$(wait_for_port "$log")
  ulimit -n 16384
  wrk -t2 -c2000 -d"${BENCH_FLOOD_SECONDS:-10}"s --timeout 15s -s scripts/audit/failed-logins.lua \
    "$base/token" >"$OUT/audit-flood.txt"
  # Requests still in flight when wrk stopped are answered to nobody: the server's own count
  # of failed logins, once they are done, is what the rows must equal.
  sleep 3
  FLOOD_COUNTED=$(curl -sf "http://$metrics/metrics" |
    awk -F' ' '/^passflow_logins_total\{outcome="failure"\}/ { print $2 }')
  stop_last
  FLOOD_RATE=$(rps <"$OUT/audit-flood.txt")
  FLOOD_STATUSES=$(awk '$1 == "status" { printf "%s%s×%s", sep, $3, $2; sep = " " }' "$OUT/audit-flood.txt")
  FLOOD_ROWS=$(psql "$url" -tAc "SELECT event_type || '×' || count(*) FROM audit_events
    WHERE event_type LIKE 'login.%' GROUP BY event_type ORDER BY 1" | paste -sd' ')
  FLOOD_FAILED=$(psql "$url" -tAc "SELECT count(*) FROM audit_events WHERE event_type = 'login.failed'")
}
audit_table() {
  local pg=${BENCH_POSTGRES:-postgres://postgres@127.0.0.1:5432} db
  command -v hyperfine >/dev/null || { echo "hyperfine is missing: apt-get install hyperfine" >&2; exit 1; }
  command -v sqlite3 >/dev/null || { echo "sqlite3 is missing: apt-get install sqlite3" >&2; exit 1; }
  for db in passflow_audit passflow_audit_flood; do
    psql "$pg/postgres" -qc "DROP DATABASE IF EXISTS $db" >/dev/null
    psql "$pg/postgres" -qc "CREATE DATABASE $db" >/dev/null
  done
  rm -f "$OUT"/audit.db*
  audit_rows postgres "$pg/passflow_audit"
  audit_rows sqlite "sqlite:$OUT/audit.db"
  audit_flood "$pg/passflow_audit_flood"
  for db in passflow_audit passflow_audit_flood; do
    psql "$pg/postgres" -qc "DROP DATABASE $db WITH (FORCE)" >/dev/null
  done
  rm -f "$OUT"/audit.db*
  echo
  echo "The audit trail at $AUDIT_EVENTS events ($AUDIT_USERS accounts, 400 days): \`passflow audit list"
  echo "--user NAME --limit 100\`, the whole command (start, connect, query, print), hyperfine 20 runs."
  echo "Target: ≤ 50 ms."
  echo
  echo "| store | seeded | rows | mean ms | max ms |"
  echo "|---|---|---|---|---|"
  cat "$OUT/audit-postgres.row" "$OUT/audit-sqlite.row"
  echo
  echo "Plans (PostgreSQL, EXPLAIN ANALYZE; the retention batch rolled back):"
  echo
  echo '```'
  grep -E "^(audit|GET|retention)|Scan|Index|Limit|Sort|Delete|Execution Time|Time:" "$OUT/audit-postgres.plans"
  echo '```'
  echo
  echo "Plans (SQLite, EXPLAIN QUERY PLAN; one retention batch timed, rolled back):"
  echo
  echo '```'
  cat "$OUT/audit-sqlite.plans"
  echo '```'
  echo
  echo "A flood of wrong passwords from random addresses (X-Forwarded-For, TRUSTED_PROXIES=127.0.0.1),"
  echo "default settings otherwise, PostgreSQL, wrk 2 000 connections for ${BENCH_FLOOD_SECONDS:-10} s: requests/s, answers"
  echo "by status (wrk's), failed logins as the server counted them (passflow_logins_total, after the"
  echo "requests still in flight at wrk's end), and the login events written. Target: one login.failed"
  echo "per failed login, nothing for a request refused before a password was checked (503, 429)."
  echo
  echo "| requests/s | answers | failures counted by the server | events | login.failed rows ÷ failures |"
  echo "|---|---|---|---|---|"
  echo "| $FLOOD_RATE | $FLOOD_STATUSES | ${FLOOD_COUNTED:-?} | $FLOOD_ROWS | **$FLOOD_FAILED ÷ ${FLOOD_COUNTED:-?}** |"
}
PIDS=()
cleanup() { for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done; }
trap cleanup EXIT

# --- passflow --------------------------------------------------------------------------
if [ -n "${BENCH_BINARY:-}" ]; then
  PASSFLOW=$BENCH_BINARY
else
  cargo build --release --quiet
  PASSFLOW=./target/release/passflow
fi
if [ -n "$COMPARE_BEFORE" ] && [ "$SIGN_IN_ONLY" = 1 ]; then
  sign_in_compare_table
  exit 0
fi
if [ -n "$COMPARE_BEFORE" ]; then
  compare_table
  exit 0
fi
if [ "$OPENID_ONLY" = 1 ]; then
  openid_table
  exit 0
fi
if [ "$AUDIT_ONLY" = 1 ]; then
  audit_table
  exit 0
fi
if [ "$CHAINS_ONLY" = 1 ] || [ "$KEYS_ONLY" = 1 ] || [ "$SCALE_ONLY" = 1 ] || [ "$SIGN_IN_ONLY" = 1 ]; then
  [ "$SIGN_IN_ONLY" = 0 ] || sign_in_table
  [ "$KEYS_ONLY" = 0 ] || keys_table
  [ "$CHAINS_ONLY" = 0 ] || chains_table
  [ "$SCALE_ONLY" = 0 ] || scale_table
  exit 0
fi
# All load comes from one address: the throttle and the per-address caps are lifted here so
# that it stands for many clients. The flood scenario below keeps the defaults.
PORT=0 SECRET_KEY=09d25e094faa6ca2556c818166b7a9563b93f7099f6f0f4caa6cf63b88e8d3e7 \
  LOGIN_FAILURES_PER_USER=100000000 LOGIN_ATTEMPTS_PER_IP=100000000 \
  LOGIN_CONCURRENCY_PER_IP=10000 CONNECTIONS_PER_IP=100000 NO_COLOR=1 \
  "$PASSFLOW" >"$OUT/passflow.log" 2>&1 &
PF_PID=$!
PIDS+=("$PF_PID")
PF=$(wait_for_port "$OUT/passflow.log")
sleep 1
IDLE_RSS=$(rss_mib "$PF_PID" VmRSS)
TOKEN=$(login_token "$PF")
AUTH="Authorization: Bearer $TOKEN"

wrk_get "$PF/users/me/" 64 2 -H "$AUTH" >/dev/null # warm-up
: >"$OUT/health.rps"
: >"$OUT/me.rps"
for _ in $(seq "$ROUNDS"); do
  wrk_get "$PF/health" 64 "$SECONDS_PER_RUN" | rps >>"$OUT/health.rps"
  wrk_get "$PF/users/me/" 64 "$SECONDS_PER_RUN" -H "$AUTH" | rps >>"$OUT/me.rps"
done
HEALTH_RPS=$(median <"$OUT/health.rps")
ME_RPS=$(median <"$OUT/me.rps")

wrk_get "$PF/token" 4 10 -s scripts/login.lua >"$OUT/logins.txt"
LOGINS=$(rps <"$OUT/logins.txt")
[ "$(non_2xx <"$OUT/logins.txt")" = 0 ] || { echo "logins failed:" >&2; cat "$OUT/logins.txt" >&2; exit 1; }

# Refresh grants: 16 sessions from one address, each refreshed one request at a time.
read -r REFRESHES REFRESH_BAD REFRESH_P99 <<<"$(refresh_chains "$PF" 16 "$SECONDS_PER_RUN" 0 "$OUT/refreshes.txt" johndoe)"

# Reads while 16 clients log in: hashing saturates both cores, the queue never overflows.
wrk_get "$PF/token" 16 12 -s scripts/login.lua >"$OUT/logins16.txt" &
LOGINS16=$!
sleep 2
wrk_get "$PF/users/me/" 4 8 -H "$AUTH" >"$OUT/me-under-logins.txt"
wait "$LOGINS16"
ME_P99_LOGINS=$(p99_ms <"$OUT/me-under-logins.txt")

# Reads while 96 clients flood /token: p99 of /users/me/ and the process's peak RSS.
wrk_get "$PF/token" 96 12 -s scripts/login.lua >"$OUT/flood.txt" &
FLOOD=$!
sleep 2
wrk_get "$PF/users/me/" 4 8 -H "$AUTH" >"$OUT/me-under-flood.txt"
wait "$FLOOD"
ME_P99_FLOOD=$(p99_ms <"$OUT/me-under-flood.txt")
FLOOD_REFUSED=$(non_2xx <"$OUT/flood.txt")
# The same flood while a client at another address logs in: with the per-address caps lifted,
# the 96 connections stand for 96 flooding addresses, the case the caps cannot help with.
wrk_get "$PF/token" 96 12 -s scripts/login.lua >/dev/null &
FLOOD=$!
sleep 1
read -r SPREAD_LEGIT SPREAD_CODES <<<"$(legit_logins "$PF" 10)"
wait "$FLOOD"
PEAK_RSS=$(rss_mib "$PF_PID" VmHWM)

# --- databases: the same figures with users and sessions in SQLite and PostgreSQL --------
# Each store gets a fresh database holding johndoe, a server of its own with the throttle and
# per-address caps lifted (as above), and the same /health, /users/me/ and refresh runs.
store_bench() { # name DATABASE_URL -> one markdown row on stdout
  local log="$OUT/passflow-$1.log" pid url health me refreshes
  printf '%s\n' "$DB_PASSWORD" | DATABASE_URL="$2" "$PASSFLOW" users add johndoe --full-name "John Doe" \
    --email johndoe@example.com >/dev/null
  DATABASE_URL="$2" PORT=0 SECRET_KEY=09d25e094faa6ca2556c818166b7a9563b93f7099f6f0f4caa6cf63b88e8d3e7 \
    LOGIN_FAILURES_PER_USER=100000000 LOGIN_ATTEMPTS_PER_IP=100000000 \
    LOGIN_CONCURRENCY_PER_IP=10000 CONNECTIONS_PER_IP=100000 NO_COLOR=1 \
    "$PASSFLOW" >"$log" 2>&1 &
  pid=$!
  PIDS+=("$pid")
  url=$(wait_for_port "$log")
  local auth
  auth="Authorization: Bearer $(login_token "$url" "$DB_PASSWORD")"
  wrk_get "$url/users/me/" 64 2 -H "$auth" >/dev/null
  : >"$OUT/$1-health.rps"
  : >"$OUT/$1-me.rps"
  for _ in $(seq "$ROUNDS"); do
    wrk_get "$url/health" 64 "$SECONDS_PER_RUN" | rps >>"$OUT/$1-health.rps"
    wrk_get "$url/users/me/" 64 "$SECONDS_PER_RUN" -H "$auth" | rps >>"$OUT/$1-me.rps"
  done
  health=$(median <"$OUT/$1-health.rps")
  me=$(median <"$OUT/$1-me.rps")
  local bad p99
  read -r refreshes bad p99 <<<"$(PASSWORD=$DB_PASSWORD refresh_chains "$url" 16 "$SECONDS_PER_RUN" 0 "$OUT/$1-refreshes.txt" johndoe)"
  kill "$pid"
  echo "| $1 | $health | $me | $(ratio "$me" "$health") | $refreshes | $bad | $p99 ms |"
}
STORE_ROWS=("| memory | $HEALTH_RPS | $ME_RPS | $(ratio "$ME_RPS" "$HEALTH_RPS") | $REFRESHES | $REFRESH_BAD | $REFRESH_P99 ms |")
rm -f "$OUT/bench.db" "$OUT/bench.db-wal" "$OUT/bench.db-shm"
STORE_ROWS+=("$(store_bench sqlite "sqlite:$OUT/bench.db")")
PG=${BENCH_POSTGRES:-postgres://postgres@127.0.0.1:5432}
if psql "$PG/postgres" -qc 'DROP DATABASE IF EXISTS passflow_bench' >/dev/null 2>&1 &&
  psql "$PG/postgres" -qc 'CREATE DATABASE passflow_bench' >/dev/null; then
  STORE_ROWS+=("$(store_bench postgres "$PG/passflow_bench")")
  psql "$PG/postgres" -qc 'DROP DATABASE passflow_bench WITH (FORCE)' >/dev/null
else
  STORE_ROWS+=("| postgres | no server at $PG (BENCH_POSTGRES) | | | | | |")
fi

# --- replicas: two servers on one PostgreSQL database -----------------------------------
# /users/me/ through one replica (64 connections) and through two at once (32 each), and how
# long a logout at one takes to be refused at the other (scripts/propagation.py, 100 rounds).
replica() { # DATABASE_URL logfile -> REPLICA_URL; the pid goes in PIDS (so no subshell)
  DATABASE_URL="$1" PORT=0 SECRET_KEY=09d25e094faa6ca2556c818166b7a9563b93f7099f6f0f4caa6cf63b88e8d3e7 \
    LOGIN_FAILURES_PER_USER=100000000 LOGIN_ATTEMPTS_PER_IP=100000000 \
    LOGIN_CONCURRENCY_PER_IP=10000 CONNECTIONS_PER_IP=100000 NO_COLOR=1 \
    "$PASSFLOW" >"$2" 2>&1 &
  PIDS+=("$!")
  REPLICA_URL=$(wait_for_port "$2")
}
REPLICA_ROWS=()
if psql "$PG/postgres" -qc 'CREATE DATABASE passflow_replicas' >/dev/null 2>&1; then
  printf '%s\n' "$DB_PASSWORD" | DATABASE_URL="$PG/passflow_replicas" "$PASSFLOW" users add johndoe >/dev/null
  replica "$PG/passflow_replicas" "$OUT/replica-1.log"
  R1=$REPLICA_URL
  replica "$PG/passflow_replicas" "$OUT/replica-2.log"
  R2=$REPLICA_URL
  R_AUTH="Authorization: Bearer $(login_token "$R1" "$DB_PASSWORD")"
  wrk_get "$R1/users/me/" 64 2 -H "$R_AUTH" >/dev/null
  ONE=$(wrk_get "$R1/users/me/" 64 "$SECONDS_PER_RUN" -H "$R_AUTH" | rps)
  wrk_get "$R1/users/me/" 32 "$SECONDS_PER_RUN" -H "$R_AUTH" >"$OUT/replica-1.txt" &
  FIRST=$!
  wrk_get "$R2/users/me/" 32 "$SECONDS_PER_RUN" -H "$R_AUTH" >"$OUT/replica-2.txt"
  wait "$FIRST"
  TWO=$(awk '{ s += $1 } END { printf "%.2f\n", s }' <<<"$(rps <"$OUT/replica-1.txt")
$(rps <"$OUT/replica-2.txt")")
  read -r P50 P99 PMAX <<<"$(PASSFLOW_PASSWORD=$DB_PASSWORD python3 scripts/propagation.py "$R1" "$R2" 100)"
  REPLICA_ROWS+=("| \`/users/me/\` req/s, one replica (64 connections) | $ONE |")
  REPLICA_ROWS+=("| \`/users/me/\` req/s, two replicas (32 connections each, summed) | $TWO |")
  REPLICA_ROWS+=("| logout at one replica refused at the other: p50 / p99 / max | $P50 / $P99 / $PMAX ms |")
  kill "${PIDS[-1]}" "${PIDS[-2]}"
  sleep 0.5
  psql "$PG/postgres" -qc 'DROP DATABASE passflow_replicas WITH (FORCE)' >/dev/null
else
  REPLICA_ROWS+=("| replicas | no PostgreSQL at $PG (BENCH_POSTGRES) |")
fi

# --- flood: one address floods /token, another logs in ---------------------------------
# A second server with the default settings (throttle included). The legitimate client logs
# in one request at a time from 127.0.0.31; the flooder holds 128 connections from 127.0.0.1
# and re-sends as soon as it is answered. Each flood kind runs while the client logs in
# and, separately, while /users/me/ is read.
FLOOD_SECONDS=${BENCH_FLOOD_SECONDS:-10}
PORT=0 SECRET_KEY=09d25e094faa6ca2556c818166b7a9563b93f7099f6f0f4caa6cf63b88e8d3e7 NO_COLOR=1 \
  "$PASSFLOW" >"$OUT/passflow-flood.log" 2>&1 &
FL_PID=$!
PIDS+=("$FL_PID")
FL=$(wait_for_port "$OUT/passflow-flood.log")
FL_AUTH="Authorization: Bearer $(login_token "$FL")"
flood() { # kind seconds -> runs wrk against /token from 127.0.0.1 in the background
  wrk -t2 -c128 -d"$2"s --timeout 10s -s scripts/flood.lua "$FL/token" -- "$1" >"$OUT/flood-$1.txt" &
  FLOODER=$!
  sleep 1
}
read -r LEGIT_ALONE LEGIT_ALONE_CODES <<<"$(legit_logins "$FL" "$FLOOD_SECONDS")"
FLOOD_ROWS=()
for kind in valid wrong garbage; do
  flood "$kind" $((FLOOD_SECONDS + 2))
  read -r legit codes <<<"$(legit_logins "$FL" "$FLOOD_SECONDS")"
  wait "$FLOODER"
  flood_rps=$(rps <"$OUT/flood-$kind.txt")
  flood "$kind" 10
  p99=$(wrk_get "$FL/users/me/" 4 8 -H "$FL_AUTH" | p99_ms)
  wait "$FLOODER"
  kill -0 "$FL_PID" || { echo "the server died during the $kind flood" >&2; exit 1; }
  FLOOD_ROWS+=("| $kind | $flood_rps | $legit ($codes) | $(ratio "$legit" "$LEGIT_ALONE") | $p99 ms | $(rss_mib "$FL_PID" VmHWM) MiB |")
done

# --- FastAPI, same machine, same argon2 parameters -----------------------------------
if [ "$FASTAPI" = 1 ]; then
  VENV=target/bench-venv
  [ -x "$VENV/bin/uvicorn" ] || {
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q --disable-pip-version-check -r scripts/fastapi/requirements.txt
  }
  FA_PORT=$((20000 + RANDOM % 20000))
  (cd scripts/fastapi && exec "../../$VENV/bin/uvicorn" main:app --host 127.0.0.1 \
    --port "$FA_PORT" --workers 2 --log-level warning) >"$OUT/fastapi.log" 2>&1 &
  PIDS+=("$!")
  FA="http://127.0.0.1:$FA_PORT"
  for _ in $(seq 100); do curl -s "$FA/docs" >/dev/null && break; sleep 0.2; done
  FA_AUTH="Authorization: Bearer $(login_token "$FA")"
  wrk_get "$FA/users/me/" 64 2 -H "$FA_AUTH" >/dev/null
  : >"$OUT/fastapi-me.rps"
  for _ in $(seq "$ROUNDS"); do
    wrk_get "$FA/users/me/" 64 "$SECONDS_PER_RUN" -H "$FA_AUTH" | rps >>"$OUT/fastapi-me.rps"
  done
  FA_ME_RPS=$(median <"$OUT/fastapi-me.rps")
  FA_LOGINS=$(wrk_get "$FA/token" 4 10 -s scripts/login.lua | rps)
  wrk_get "$FA/token" 16 12 -s scripts/login.lua >/dev/null &
  FLOOD=$!
  sleep 2
  FA_P99_FLOOD=$(wrk_get "$FA/users/me/" 4 8 -H "$FA_AUTH" | p99_ms)
  wait "$FLOOD"
  # Stop it, with whatever logins it still has queued, before anything else is measured.
  kill "${PIDS[-1]}" 2>/dev/null || true
  sleep 2
fi

# --- report ----------------------------------------------------------------------------
echo
echo "| figure | passflow | target |"
echo "|---|---|---|"
echo "| \`/health\` req/s (median of $ROUNDS, 64 connections) | $HEALTH_RPS | |"
echo "| \`/users/me/\` req/s (median of $ROUNDS, 64 connections) | $ME_RPS | |"
echo "| \`/users/me/\` ÷ \`/health\` | $(ratio "$ME_RPS" "$HEALTH_RPS") | ≥ 0.85 |"
echo "| logins/s (4 connections) | $LOGINS | |"
echo "| refresh grants/s (16 sessions from one address, one request at a time each) | $REFRESHES (non-2xx $REFRESH_BAD, p99 ${REFRESH_P99} ms) | |"
echo "| \`/users/me/\` p99 while 16 connections log in (CPU saturated by hashing) | ${ME_P99_LOGINS} ms | ≤ 5 ms |"
echo "| \`/users/me/\` p99 while 96 connections flood \`/token\` | ${ME_P99_FLOOD} ms | < 50 ms |"
echo "| logins refused 503 during that flood | $FLOOD_REFUSED | |"
echo "| logins/s of a client at another address during that flood | $SPREAD_LEGIT ($SPREAD_CODES) | |"
echo "| peak RSS | ${PEAK_RSS} MiB | ≤ 400 MiB (must: < 768 MiB) |"
echo "| idle RSS | ${IDLE_RSS} MiB | ≤ 16 MiB |"
if [ "$FASTAPI" = 1 ]; then
  echo "| FastAPI \`/users/me/\` req/s (uvicorn, 2 workers) | $FA_ME_RPS | |"
  echo "| \`/users/me/\` ÷ FastAPI | $(ratio "$ME_RPS" "$FA_ME_RPS")× | ≥ 12× |"
  echo "| FastAPI logins/s (4 connections) | $FA_LOGINS | |"
  echo "| logins/s ÷ FastAPI | $(ratio "$LOGINS" "$FA_LOGINS")× | ≥ 1.3× |"
  echo "| FastAPI \`/users/me/\` p99 while 16 connections log in | ${FA_P99_FLOOD} ms | |"
fi

echo
echo "Per store (targets: memory ≥ 0.85, databases ≥ 0.75; refreshes ≥ 1 500/s SQLite, ≥ 1 000/s PostgreSQL):"
echo
echo "| store | \`/health\` req/s | \`/users/me/\` req/s | ÷ | refresh grants/s (16 chains) | non-2xx | p99 |"
echo "|---|---|---|---|---|---|---|"
printf '%s\n' "${STORE_ROWS[@]}"
chains_table
keys_table
echo
echo "Two replicas on one PostgreSQL database (same machine, same two cores):"
echo
echo "| figure | value |"
echo "|---|---|"
printf '%s\n' "${REPLICA_ROWS[@]}"
echo
echo "Flood of \`/token\` from 127.0.0.1 (128 connections, default settings); legitimate logins from"
echo "127.0.0.31, one at a time: $LEGIT_ALONE logins/s alone ($LEGIT_ALONE_CODES)."
echo
echo "| flood kind | flood answers/s | legitimate logins/s during it | ÷ alone (≥ 0.5) | \`/users/me/\` p99 (≤ 10 ms) | peak RSS so far (≤ 400 MiB) |"
echo "|---|---|---|---|---|---|"
printf '%s\n' "${FLOOD_ROWS[@]}"

# --- concurrency sweep -----------------------------------------------------------------
if [ "$SWEEP" = 1 ]; then
  CSV="$OUT/sweep.csv"
  echo "route,connections,rps,p99_ms" >"$CSV"
  for c in 2 8 32 128 256; do
    out=$(wrk_get "$PF/health" "$c" 3); echo "/health,$c,$(rps <<<"$out"),$(p99_ms <<<"$out")" >>"$CSV"
    out=$(wrk_get "$PF/users/me/" "$c" 3 -H "$AUTH"); echo "/users/me/,$c,$(rps <<<"$out"),$(p99_ms <<<"$out")" >>"$CSV"
    # A login may wait behind a full queue; give it longer than wrk's 2 s default.
    out=$(wrk_get "$PF/token" "$c" 5 -s scripts/login.lua --timeout 10s)
    ok=$(awk -v r="$(rps <<<"$out")" -v bad="$(non_2xx <<<"$out")" -v n="$(awk '/requests in/ {print $1}' <<<"$out")" \
      'BEGIN { printf "%.1f\n", (n > 0 ? r * (n - bad) / n : 0) }')
    echo "/token,$c,$ok,$(p99_ms <<<"$out")" >>"$CSV"
  done
  PLOT_VENV=target/plot-venv
  [ -x "$PLOT_VENV/bin/python" ] || {
    python3 -m venv "$PLOT_VENV"
    "$PLOT_VENV/bin/pip" install -q --disable-pip-version-check matplotlib
  }
  "$PLOT_VENV/bin/python" scripts/plot_sweep.py "$CSV" docs/bench-concurrency.png
  echo
  echo "sweep: $CSV, plot: docs/bench-concurrency.png"
fi
