-- The security events (issue 42, ASVS V16): one row per event, appended and never changed;
-- only the retention (AUDIT_RETENTION_DAYS) deletes, oldest first. The database itself refuses
-- an UPDATE (V16.4.2), whoever sends it.
CREATE TABLE audit_events (
    -- UUIDv7: time-ordered, so the primary key serves "newest first" and a page's cursor.
    id          TEXT PRIMARY KEY,
    -- Milliseconds since the epoch.
    occurred_at BIGINT NOT NULL,
    event_type  TEXT NOT NULL,
    outcome     TEXT NOT NULL,
    -- The account's name, or the name that was typed.
    username    TEXT,
    subject     TEXT,
    actor_kind  TEXT NOT NULL,
    actor_name  TEXT,
    client_id   TEXT,
    session_id  TEXT,
    address     TEXT,
    user_agent  TEXT,
    request_id  TEXT,
    reason      TEXT
);
CREATE INDEX audit_events_by_user ON audit_events (username, id);
CREATE INDEX audit_events_by_time ON audit_events (occurred_at);

CREATE TRIGGER audit_events_append_only BEFORE UPDATE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit events are append-only');
END;
