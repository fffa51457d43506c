-- scripts/bench.sh --audit: the same events as seed-postgres.sql, for SQLite. The shell
-- substitutes N, USERS and NOW (milliseconds).
PRAGMA journal_mode = WAL;
PRAGMA synchronous = OFF;
WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < N)
INSERT INTO audit_events (id, occurred_at, event_type, outcome, username, subject, actor_kind,
                          actor_name, address, user_agent, request_id, reason)
SELECT
    substr(printf('%012x', NOW - (N - i) * (400 * 86400000 / N)), 1, 8) || '-'
        || substr(printf('%012x', NOW - (N - i) * (400 * 86400000 / N)), 9, 4)
        || printf('-7000-8000-%012x', i),
    NOW - (N - i) * (400 * 86400000 / N),
    CASE WHEN i % 3 = 0 THEN 'login.failed' ELSE 'login.succeeded' END,
    CASE WHEN i % 3 = 0 THEN 'failure' ELSE 'success' END,
    'user-' || (i % USERS),
    'sub-' || (i % USERS),
    CASE WHEN i % 3 = 0 THEN 'anonymous' ELSE 'user' END,
    CASE WHEN i % 3 = 0 THEN NULL ELSE 'user-' || (i % USERS) END,
    '10.' || (i % 250) || '.' || (i / 250 % 250) || '.7',
    'Mozilla/5.0 (X11; Linux x86_64) bench',
    printf('%x', i * 2654435761),
    CASE WHEN i % 3 = 0 THEN 'wrong_password' END
FROM s;
ANALYZE;
