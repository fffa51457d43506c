-- Users, their sessions, and the log of ended sessions that every server replays.
CREATE TABLE users (
    username        TEXT PRIMARY KEY,
    email           TEXT,
    full_name       TEXT,
    hashed_password TEXT NOT NULL,
    disabled        BOOLEAN NOT NULL DEFAULT FALSE,
    -- Space-separated, as the `scope` claim.
    scopes          TEXT NOT NULL
);

CREATE TABLE sessions (
    id               TEXT PRIMARY KEY,
    username         TEXT NOT NULL REFERENCES users (username) ON DELETE CASCADE,
    scope            TEXT NOT NULL,
    created_at       BIGINT NOT NULL,
    last_used_at     BIGINT NOT NULL,
    expires_at       BIGINT NOT NULL,
    -- SHA-256 digests only: a copy of this table cannot refresh anything.
    family           BLOB NOT NULL UNIQUE,
    current_token    BLOB NOT NULL,
    previous_token   BLOB,
    previous_used_at BIGINT
);
CREATE INDEX sessions_by_username ON sessions (username);

-- One row per ended session (session_id set) or per "log out everywhere" (session_id null):
-- servers poll it to refuse the access tokens of sessions ended elsewhere.
CREATE TABLE session_ends (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id TEXT,
    username   TEXT NOT NULL,
    ended_at   BIGINT NOT NULL
);
