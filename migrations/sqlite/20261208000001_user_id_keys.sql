-- Sessions, authorization codes and consents are filed under the user's stable id (`users.subject`,
-- OpenID Connect's `sub`), not under the name: a name is what a person types and may one day
-- be given to someone else, the id never is. Deleting the user still deletes them all.
-- The TOTP tables stay filed under the name: each sealed secret is bound to it (the AEAD's
-- associated data), and resealing needs TOTP_ENCRYPTION_KEY, which SQL has not.
-- SQLite cannot change a column's foreign key in place: each table is rebuilt.
CREATE TABLE sessions_by_id (
    id               TEXT PRIMARY KEY,
    user_id          TEXT NOT NULL REFERENCES users (subject) ON DELETE CASCADE,
    scope            TEXT NOT NULL,
    created_at       BIGINT NOT NULL,
    last_used_at     BIGINT NOT NULL,
    expires_at       BIGINT NOT NULL,
    -- SHA-256 digests only: a copy of this table cannot refresh anything.
    family           BLOB NOT NULL UNIQUE,
    current_token    BLOB NOT NULL,
    previous_token   BLOB,
    previous_used_at BIGINT,
    last_used_day    BIGINT NOT NULL DEFAULT 0,
    client_id        TEXT,
    pending          BOOLEAN NOT NULL DEFAULT FALSE,
    auth_time        BIGINT,
    browser_session  TEXT
);
INSERT INTO sessions_by_id (id, user_id, scope, created_at, last_used_at, expires_at, family,
                            current_token, previous_token, previous_used_at, last_used_day,
                            client_id, pending, auth_time, browser_session)
SELECT s.id, u.subject, s.scope, s.created_at, s.last_used_at, s.expires_at, s.family,
       s.current_token, s.previous_token, s.previous_used_at, s.last_used_day, s.client_id,
       s.pending, s.auth_time, s.browser_session
FROM sessions AS s JOIN users AS u ON u.username = s.username;
DROP TABLE sessions;
ALTER TABLE sessions_by_id RENAME TO sessions;
CREATE INDEX sessions_by_user ON sessions (user_id);
CREATE INDEX sessions_by_client ON sessions (client_id, user_id);
CREATE INDEX sessions_by_expiry ON sessions (expires_at);
CREATE INDEX sessions_by_last_used_day ON sessions (last_used_day);
CREATE INDEX sessions_by_browser_session ON sessions (browser_session)
    WHERE browser_session IS NOT NULL;

CREATE TABLE authorization_codes_by_id (
    digest          BLOB PRIMARY KEY,
    client_id       TEXT NOT NULL,
    -- As the authorization request carried it; NULL when it named none (one registered).
    redirect_uri    TEXT,
    -- The S256 PKCE challenge (RFC 7636 §4.2), when the request carried one.
    code_challenge  TEXT,
    nonce           TEXT,
    user_id         TEXT NOT NULL REFERENCES users (subject) ON DELETE CASCADE,
    scope           TEXT NOT NULL,
    -- When the user last proved their password: OpenID Connect's auth_time.
    auth_time       BIGINT NOT NULL,
    expires_at      BIGINT NOT NULL,
    session_id      TEXT NOT NULL,
    browser_session TEXT
);
INSERT INTO authorization_codes_by_id (digest, client_id, redirect_uri, code_challenge, nonce,
                                       user_id, scope, auth_time, expires_at, session_id,
                                       browser_session)
SELECT c.digest, c.client_id, c.redirect_uri, c.code_challenge, c.nonce, u.subject, c.scope,
       c.auth_time, c.expires_at, c.session_id, c.browser_session
FROM authorization_codes AS c JOIN users AS u ON u.username = c.username;
DROP TABLE authorization_codes;
ALTER TABLE authorization_codes_by_id RENAME TO authorization_codes;
CREATE INDEX authorization_codes_by_expiry ON authorization_codes (expires_at);

CREATE TABLE consents_by_id (
    user_id    TEXT NOT NULL REFERENCES users (subject) ON DELETE CASCADE,
    client_id  TEXT NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
    -- Space-separated, as the `scope` parameter.
    scope      TEXT NOT NULL,
    granted_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, client_id)
);
INSERT INTO consents_by_id (user_id, client_id, scope, granted_at)
SELECT u.subject, c.client_id, c.scope, c.granted_at
FROM consents AS c JOIN users AS u ON u.username = c.username;
DROP TABLE consents;
ALTER TABLE consents_by_id RENAME TO consents;
