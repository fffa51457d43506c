-- The authorization-code grant (RFC 6749 §4.1). A session started by a code exchange belongs
-- to the client that exchanged it: only that client may refresh it, and removing the client
-- or revoking its consent ends it.
ALTER TABLE sessions ADD COLUMN client_id TEXT;
CREATE INDEX sessions_by_client ON sessions (client_id, username);

-- Codes are kept as SHA-256 digests, like refresh tokens. A spent code stays (spent_at set,
-- and session_id the session its exchange started) until pruned after expires_at, so that a
-- second exchange is recognised and ends that session (RFC 6749 §4.1.2, ASVS V10.4.2).
CREATE TABLE authorization_codes (
    digest         BYTEA PRIMARY KEY,
    client_id      TEXT NOT NULL,
    -- As the authorization request carried it; NULL when it named none (one registered).
    redirect_uri   TEXT,
    -- The S256 PKCE challenge (RFC 7636 §4.2), when the request carried one.
    code_challenge TEXT,
    nonce          TEXT,
    username       TEXT NOT NULL REFERENCES users (username) ON DELETE CASCADE,
    scope          TEXT NOT NULL,
    -- When the user last proved their password: OpenID Connect's auth_time.
    auth_time      BIGINT NOT NULL,
    expires_at     BIGINT NOT NULL,
    spent_at       BIGINT,
    session_id     TEXT
);
CREATE INDEX authorization_codes_by_expiry ON authorization_codes (expires_at);
