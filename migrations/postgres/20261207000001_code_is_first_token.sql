-- An authorization code is the first token of the session it starts: the session is stored,
-- pending, when the code is issued, and the exchange rotates the code out for a refresh token
-- in place (one UPDATE of one row, as a refresh) instead of inserting a session then. A
-- pending session has no token anyone holds but the code; the per-user cap counts it, but
-- nothing lists or refreshes it, and the prune deletes it once its code expires. Replays of a code are found
-- through the session's family, as reused refresh tokens are, for as long as it lives.
ALTER TABLE sessions ADD COLUMN pending BOOLEAN NOT NULL DEFAULT FALSE;

-- Codes in flight at the upgrade (they live 60 s) have no pending session: they go.
DELETE FROM authorization_codes;
ALTER TABLE authorization_codes DROP COLUMN spent_at;
ALTER TABLE authorization_codes ALTER COLUMN session_id SET NOT NULL;
