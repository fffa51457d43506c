-- Registered clients (RFC 6749 §2) for the authorization-code flow. A confidential client's
-- secret is stored as its SHA-256 only: secrets are 256 random bits made by passflow, so a
-- fast digest is as good as a password hash here, and a copy of this table signs nobody in.
CREATE TABLE clients (
    client_id     TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    -- Space-separated: a registered URI never holds a space.
    redirect_uris TEXT NOT NULL,
    secret_sha256 BLOB,
    first_party   BOOLEAN NOT NULL DEFAULT FALSE,
    -- Space-separated, as the `scope` parameter; NULL: any scope the deployment offers.
    scopes        TEXT,
    pkce          TEXT NOT NULL DEFAULT 'required',
    refresh_token BOOLEAN NOT NULL DEFAULT FALSE,
    created_at    BIGINT NOT NULL
);
