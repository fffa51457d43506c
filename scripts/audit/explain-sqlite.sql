-- scripts/bench.sh --audit: the SQLite plans of the trail's statements at full size, then
-- one retention batch timed inside a transaction that is rolled back. The shell substitutes
-- USER, SUB and CUTOFF.
.timeout 10000
EXPLAIN QUERY PLAN
SELECT * FROM audit_events WHERE username = 'USER' ORDER BY id DESC LIMIT 100;
EXPLAIN QUERY PLAN
SELECT * FROM audit_events WHERE subject = 'SUB' ORDER BY id DESC LIMIT 20;
EXPLAIN QUERY PLAN
DELETE FROM audit_events WHERE id IN
  (SELECT id FROM audit_events WHERE occurred_at < CUTOFF LIMIT 1000);
.timer on
BEGIN;
DELETE FROM audit_events WHERE id IN
  (SELECT id FROM audit_events WHERE occurred_at < CUTOFF LIMIT 1000);
ROLLBACK;
