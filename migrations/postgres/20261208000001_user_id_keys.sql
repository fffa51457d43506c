-- Sessions, authorization codes and consents are filed under the user's stable id (`users.subject`,
-- OpenID Connect's `sub`), not under the name: a name is what a person types and may one day
-- be given to someone else, the id never is. Deleting the user still deletes them all.
-- The TOTP tables stay filed under the name: each sealed secret is bound to it (the AEAD's
-- associated data), and resealing needs TOTP_ENCRYPTION_KEY, which SQL has not.
ALTER TABLE sessions ADD COLUMN user_id TEXT;
UPDATE sessions AS s SET user_id = u.subject FROM users AS u WHERE u.username = s.username;
ALTER TABLE sessions ALTER COLUMN user_id SET NOT NULL;
ALTER TABLE sessions ADD CONSTRAINT sessions_user_id_fkey
    FOREIGN KEY (user_id) REFERENCES users (subject) ON DELETE CASCADE;
-- Drops sessions_by_username and sessions_by_client with the column.
ALTER TABLE sessions DROP COLUMN username;
CREATE INDEX sessions_by_user ON sessions (user_id);
CREATE INDEX sessions_by_client ON sessions (client_id, user_id);

ALTER TABLE authorization_codes ADD COLUMN user_id TEXT;
UPDATE authorization_codes AS c SET user_id = u.subject FROM users AS u
    WHERE u.username = c.username;
ALTER TABLE authorization_codes ALTER COLUMN user_id SET NOT NULL;
ALTER TABLE authorization_codes ADD CONSTRAINT authorization_codes_user_id_fkey
    FOREIGN KEY (user_id) REFERENCES users (subject) ON DELETE CASCADE;
ALTER TABLE authorization_codes DROP COLUMN username;

ALTER TABLE consents ADD COLUMN user_id TEXT;
UPDATE consents AS c SET user_id = u.subject FROM users AS u WHERE u.username = c.username;
ALTER TABLE consents ALTER COLUMN user_id SET NOT NULL;
ALTER TABLE consents ADD CONSTRAINT consents_user_id_fkey
    FOREIGN KEY (user_id) REFERENCES users (subject) ON DELETE CASCADE;
-- Drops the primary key (username, client_id) with the column.
ALTER TABLE consents DROP COLUMN username;
ALTER TABLE consents ADD PRIMARY KEY (user_id, client_id);
