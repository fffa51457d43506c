-- What each user allowed each registered client (ASVS V10.7): one row per (user, client),
-- its scopes widened by every later consent. Removing the user or the client removes its consents.
CREATE TABLE consents (
    username   TEXT NOT NULL REFERENCES users (username) ON DELETE CASCADE,
    client_id  TEXT NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
    -- Space-separated, as the `scope` parameter.
    scope      TEXT NOT NULL,
    granted_at BIGINT NOT NULL,
    PRIMARY KEY (username, client_id)
);
