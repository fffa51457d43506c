-- scripts/bench.sh --scale: the prunes every replica runs each minute
-- (src/store/sql/sessions.rs, `prune`), one batch each, planned and timed at full tables
-- inside a transaction that is rolled back, so measuring changes nothing. psql variable:
-- now (unix seconds). The idle timeout is the default 14 days; ends are kept an hour here.
\timing on
-- A statement this schema cannot run (an older one's, under BENCH_BINARY) fails alone.
\set ON_ERROR_ROLLBACK on
-- Statistics as autovacuum would keep them, after the measurement's own writes.
ANALYZE;
BEGIN;
\echo 'expired sessions, one batch'
EXPLAIN (ANALYZE, COSTS OFF)
DELETE FROM sessions WHERE id IN (SELECT id FROM sessions WHERE expires_at <= :now LIMIT 1000);
\echo 'idle sessions, one batch'
EXPLAIN (ANALYZE, COSTS OFF)
DELETE FROM sessions WHERE id IN
  (SELECT id FROM sessions WHERE last_used_day < (:now - 1209600) / 86400 LIMIT 1000);
\echo 'logged ends, one batch'
EXPLAIN (ANALYZE, COSTS OFF)
DELETE FROM session_ends WHERE seq IN
  (SELECT seq FROM session_ends WHERE ended_at < :now - 3600 LIMIT 1000);
\echo 'throttle keys, one batch'
EXPLAIN (ANALYZE, COSTS OFF)
DELETE FROM login_throttle WHERE key IN
  (SELECT key FROM login_throttle WHERE tat < :now::bigint * 1000 LIMIT 1000);
\echo 'for comparison: the unbatched session prune before issue 22'
EXPLAIN (ANALYZE, COSTS OFF)
DELETE FROM sessions WHERE expires_at <= :now OR last_used_at <= :now - 1209600;
ROLLBACK;
