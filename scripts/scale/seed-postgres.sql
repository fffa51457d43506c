-- scripts/bench.sh --scale: fills a passflow database the way a busy deployment would, in
-- seconds (set-based SQL, not a loop of logins). psql variables: users, sessions, now (unix
-- seconds), hash (the seeded users' password hash).
-- Every seeded session is live (used in the last 10 days, created at most 20 days ago), so
-- the prunes that run during the measurement delete none of them. It fills the schema of this
-- passflow (users with a stable id, sessions filed under it): a before/after across a
-- migration that changes these tables needs a seed per side. Each seeded user's id is its name.
INSERT INTO users (username, email, full_name, hashed_password, disabled, scopes, subject)
SELECT 'seed' || i, 'seed' || i || '@example.com', NULL, :'hash', FALSE, 'me items', 'seed' || i
FROM generate_series(1, :users) AS i;

INSERT INTO sessions (id, user_id, scope, created_at, last_used_at, expires_at, family,
                      current_token)
SELECT 'seed' || i, 'seed' || (1 + i % :users), 'me items',
       :now - 864000 - (i % 864000), :now - (i % 864000), :now - 864000 - (i % 864000) + 2592000,
       sha256(('family' || i)::bytea), sha256(('current' || i)::bytea)
FROM generate_series(1, :sessions) AS i;

-- Schemas from issue 22 on keep last_used_at's day beside it (for the idle prune's index);
-- older ones (a before/after with BENCH_BINARY) have no such column.
DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM information_schema.columns
             WHERE table_name = 'sessions' AND column_name = 'last_used_day') THEN
    UPDATE sessions SET last_used_day = last_used_at / 86400;
  END IF;
END
$$;

-- Logged ends of the last 25 minutes (younger than any token, so kept) and a throttle's worth
-- of keys, for the prunes' plans.
INSERT INTO session_ends (session_id, username, ended_at)
SELECT 'ended' || i, 'seed' || (1 + i % :users), :now - (i % 1500)
FROM generate_series(1, :sessions / 10) AS i;
INSERT INTO login_throttle (key, tat)
SELECT 'u|203.0.113.' || (i % 250) || '|seed' || i, (:now::bigint + 60 + (i % 1200)) * 1000
FROM generate_series(1, :users) AS i;

VACUUM ANALYZE;
-- The seed's WAL written out now, not during the measurement that follows.
CHECKPOINT;
