-- The second factor (RFC 6238). A row is a pending enrolment until `enabled`; the secret is
-- AES-256-GCM sealed under TOTP_ENCRYPTION_KEY, never stored in the clear.
CREATE TABLE totp_secrets (
    username  TEXT PRIMARY KEY REFERENCES users (username) ON DELETE CASCADE,
    secret    BLOB NOT NULL,
    enabled   BOOLEAN NOT NULL DEFAULT FALSE,
    -- The last time step a code was accepted for: each code works once (RFC 6238 §5.2).
    last_step BIGINT
);

-- SHA-256 digests of the unspent recovery codes; a spent code's row is deleted.
CREATE TABLE totp_recovery_codes (
    username TEXT NOT NULL REFERENCES users (username) ON DELETE CASCADE,
    digest   BLOB NOT NULL,
    PRIMARY KEY (username, digest)
);
