-- scripts/bench.sh --scale for SQLite: the same rows as seed-postgres.sql, from a recursive
-- counter (SQLite has no generate_series built in) and random digests. The shell substitutes
-- USERS, SESSIONS, NOW and HASH, and appends the last_used_day update where the schema has
-- that column (as seed-postgres.sql does). Like it, it fills this passflow's schema, each
-- seeded user's id its name.
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < USERS)
INSERT INTO users (username, email, full_name, hashed_password, disabled, scopes, subject)
SELECT 'seed' || i, 'seed' || i || '@example.com', NULL, 'HASH', FALSE, 'me items', 'seed' || i
FROM n;

WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < SESSIONS)
INSERT INTO sessions (id, user_id, scope, created_at, last_used_at, expires_at, family,
                      current_token)
SELECT 'seed' || i, 'seed' || (1 + i % USERS), 'me items',
       NOW - 864000 - (i % 864000), NOW - (i % 864000), NOW - 864000 - (i % 864000) + 2592000,
       randomblob(32), randomblob(32)
FROM n;

WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < SESSIONS / 10)
INSERT INTO session_ends (session_id, username, ended_at)
SELECT 'ended' || i, 'seed' || (1 + i % USERS), NOW - (i % 1500) FROM n;

WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < USERS)
INSERT INTO login_throttle (key, tat)
SELECT 'u|203.0.113.' || (i % 250) || '|seed' || i, (NOW + 60 + (i % 1200)) * 1000 FROM n;

ANALYZE;
PRAGMA wal_checkpoint(TRUNCATE);
