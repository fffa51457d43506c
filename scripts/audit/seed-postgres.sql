-- scripts/bench.sh --audit: :n security events spread over :users accounts and the last
-- 400 days (so the default 180-day retention has half of them to delete), one statement.
-- psql variables: n, users, now (milliseconds).
INSERT INTO audit_events (id, occurred_at, event_type, outcome, username, subject, actor_kind,
                          actor_name, address, user_agent, request_id, reason)
SELECT
    -- Shaped and ordered as UUIDv7s are: the first 12 hex digits are the time.
    substr(lpad(to_hex(t), 12, '0'), 1, 8) || '-' || substr(lpad(to_hex(t), 12, '0'), 9, 4)
        || '-7000-8000-' || lpad(to_hex(i), 12, '0'),
    t,
    CASE WHEN i % 3 = 0 THEN 'login.failed' ELSE 'login.succeeded' END,
    CASE WHEN i % 3 = 0 THEN 'failure' ELSE 'success' END,
    'user-' || (i % :users),
    'sub-' || (i % :users),
    CASE WHEN i % 3 = 0 THEN 'anonymous' ELSE 'user' END,
    CASE WHEN i % 3 = 0 THEN NULL ELSE 'user-' || (i % :users) END,
    '10.' || (i % 250) || '.' || (i / 250 % 250) || '.7',
    'Mozilla/5.0 (X11; Linux x86_64) bench',
    md5(i::text),
    CASE WHEN i % 3 = 0 THEN 'wrong_password' END
FROM (SELECT i, :now - (:n - i) * (400::bigint * 86400000 / :n) AS t
      FROM generate_series(1, :n) AS i) AS s;
ANALYZE audit_events;
