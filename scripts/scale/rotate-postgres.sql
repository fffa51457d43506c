-- scripts/bench.sh --scale: what one refresh's statement touches, on the empty database and on
-- the seeded one. The fast path's UPDATE (src/store/sql/sessions.rs, ROTATE_CURRENT_POSTGRES)
-- on the bench's most recently used chain session, under EXPLAIN (ANALYZE, BUFFERS) in a
-- transaction rolled back: shared buffers hit and read, and the time. Run twice: the first
-- may read what the measurement left out of cache, the second shows the steady state.
SELECT encode(family, 'hex') AS family, encode(current_token, 'hex') AS current_token,
       last_used_at AS at, last_used_day AS day
FROM sessions
WHERE user_id = (SELECT subject FROM users WHERE username = 'chain1') ORDER BY last_used_at DESC LIMIT 1 \gset
SELECT pg_size_pretty(pg_total_relation_size('sessions')) AS sessions_with_indexes,
       (SELECT count(*) FROM sessions) AS sessions;
PREPARE rotate AS
UPDATE sessions AS s SET previous_token = s.current_token, previous_used_at = :at + 1,
  current_token = sha256('next'::bytea), last_used_at = :at + 1
FROM users AS u
WHERE s.family = decode(:'family', 'hex') AND s.current_token = decode(:'current_token', 'hex')
  AND s.expires_at > :at + 1 AND s.last_used_at > 0 AND s.last_used_day = :day
  AND u.subject = s.user_id AND NOT u.disabled
RETURNING s.id, s.user_id, u.username, s.scope, s.created_at, s.last_used_at, s.expires_at,
  u.email, u.full_name, u.hashed_password, u.scopes AS user_scopes;
BEGIN;
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) EXECUTE rotate;
ROLLBACK;
BEGIN;
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) EXECUTE rotate;
ROLLBACK;
