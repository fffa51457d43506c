-- Each user's stable id, the `sub` of OpenID Connect (never reassigned: a user deleted and
-- added again under the same name gets a new one). Users from before this migration are given
-- a random one here; passflow gives every new user its own when adding it.
ALTER TABLE users ADD COLUMN subject TEXT;
UPDATE users SET subject = replace(gen_random_uuid()::text, '-', '');
ALTER TABLE users ALTER COLUMN subject SET NOT NULL;
CREATE UNIQUE INDEX users_by_subject ON users (subject);
