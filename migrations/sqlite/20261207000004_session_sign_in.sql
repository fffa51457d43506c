-- How the user signed in for a session an authorization code started (OpenID Connect): when
-- they last gave their password (a refresh's id_token repeats it, Core §12.2) and the browser
-- session they allowed the client in (the id_token's `sid`; its logout ends the session).
-- Both NULL for every other session.
ALTER TABLE sessions ADD COLUMN auth_time BIGINT;
ALTER TABLE sessions ADD COLUMN browser_session TEXT;
CREATE INDEX sessions_by_browser_session ON sessions (browser_session)
    WHERE browser_session IS NOT NULL;
