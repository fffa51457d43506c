-- The failed-login throttle shared by every server on this database: one GCRA
-- "theoretical arrival time" per key, in milliseconds since the epoch.
CREATE TABLE login_throttle (
    key TEXT PRIMARY KEY,
    tat BIGINT NOT NULL
);
