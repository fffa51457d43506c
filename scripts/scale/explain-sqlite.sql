-- scripts/bench.sh --scale: the SQLite prunes' plans at full tables, and their times inside a
-- transaction that is rolled back. The shell substitutes NOW.
.timeout 10000
.timer on
ANALYZE;
EXPLAIN QUERY PLAN
DELETE FROM sessions WHERE id IN (SELECT id FROM sessions WHERE expires_at <= NOW LIMIT 1000);
EXPLAIN QUERY PLAN
DELETE FROM sessions WHERE id IN
  (SELECT id FROM sessions WHERE last_used_day < (NOW - 1209600) / 86400 LIMIT 1000);
EXPLAIN QUERY PLAN
DELETE FROM session_ends WHERE seq IN
  (SELECT seq FROM session_ends WHERE ended_at < NOW - 3600 LIMIT 1000);
EXPLAIN QUERY PLAN
DELETE FROM login_throttle WHERE key IN
  (SELECT key FROM login_throttle WHERE tat < NOW * 1000 LIMIT 1000);
BEGIN;
DELETE FROM sessions WHERE id IN (SELECT id FROM sessions WHERE expires_at <= NOW LIMIT 1000);
DELETE FROM sessions WHERE id IN
  (SELECT id FROM sessions WHERE last_used_day < (NOW - 1209600) / 86400 LIMIT 1000);
DELETE FROM session_ends WHERE seq IN
  (SELECT seq FROM session_ends WHERE ended_at < NOW - 3600 LIMIT 1000);
DELETE FROM login_throttle WHERE key IN
  (SELECT key FROM login_throttle WHERE tat < NOW * 1000 LIMIT 1000);
ROLLBACK;
