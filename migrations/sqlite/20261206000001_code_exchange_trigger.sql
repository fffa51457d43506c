-- A code exchange spends its code and starts its session in one statement, as a refresh
-- rotates in one. SQLite has no data-modifying WITH (PostgreSQL's exchange uses one), so the
-- UPDATE that spends the code carries the session's random parts, and this trigger, run by
-- that same statement, inserts the session and clears them: the code row keeps no token
-- digest. 86400: last_used_day is last_used_at in whole days (migration 20261202000002).
ALTER TABLE authorization_codes ADD COLUMN session_expires_at BIGINT;
ALTER TABLE authorization_codes ADD COLUMN session_family BLOB;
ALTER TABLE authorization_codes ADD COLUMN session_token BLOB;

CREATE TRIGGER authorization_code_starts_session
AFTER UPDATE OF session_id ON authorization_codes
WHEN OLD.session_id IS NULL AND NEW.session_id IS NOT NULL
BEGIN
    INSERT INTO sessions (id, username, scope, created_at, last_used_at, expires_at, client_id,
                          family, current_token, last_used_day)
    VALUES (NEW.session_id, NEW.username, NEW.scope, NEW.spent_at, NEW.spent_at,
            NEW.session_expires_at, NEW.client_id, NEW.session_family, NEW.session_token,
            NEW.spent_at / 86400);
    UPDATE authorization_codes
    SET session_expires_at = NULL, session_family = NULL, session_token = NULL
    WHERE digest = NEW.digest;
END;
