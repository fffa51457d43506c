-- The periodic prunes find their rows by index and delete them in batches (issue 22).
--
-- The idle prune's index covers `last_used_day` (last_used_at in whole days since the epoch)
-- rather than last_used_at, which every refresh changes: a rotation changes the day at most
-- once a day, so PostgreSQL keeps updating the row in place (a HOT update) instead of adding
-- an entry to every index of the table on each refresh.
ALTER TABLE sessions ADD COLUMN last_used_day BIGINT NOT NULL DEFAULT 0;
UPDATE sessions SET last_used_day = last_used_at / 86400;
CREATE INDEX sessions_by_expiry ON sessions (expires_at);
CREATE INDEX sessions_by_last_used_day ON sessions (last_used_day);
CREATE INDEX session_ends_by_time ON session_ends (ended_at);
CREATE INDEX login_throttle_by_time ON login_throttle (tat);
