-- scripts/bench.sh --audit: the trail's statements (src/store/sql/audit.rs) planned and timed
-- at full size, the retention inside a transaction that is rolled back. psql variables:
-- user, sub, cutoff (milliseconds).
\timing on
\echo 'audit list --user NAME --limit 100'
EXPLAIN (ANALYZE, COSTS OFF)
SELECT * FROM audit_events WHERE username = :'user' ORDER BY id DESC LIMIT 100;
\echo 'GET /users/me/activity (limit 20)'
EXPLAIN (ANALYZE, COSTS OFF)
SELECT * FROM audit_events WHERE subject = :'sub' ORDER BY id DESC LIMIT 20;
\echo 'audit list --type login.failed --since (a week) --limit 100'
EXPLAIN (ANALYZE, COSTS OFF)
SELECT * FROM audit_events WHERE event_type IN ('login.failed') AND occurred_at >= :cutoff
ORDER BY id DESC LIMIT 100;
BEGIN;
\echo 'retention, one batch'
EXPLAIN (ANALYZE, COSTS OFF)
DELETE FROM audit_events WHERE id IN
  (SELECT id FROM audit_events WHERE occurred_at < :cutoff LIMIT 1000);
ROLLBACK;
