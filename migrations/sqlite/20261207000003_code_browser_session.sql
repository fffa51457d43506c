-- The browser session a code was issued in: the `sid` of the id_token its exchange mints
-- (OpenID Connect Core §3.1.3.6, RP-Initiated Logout). Codes issued before have none.
ALTER TABLE authorization_codes ADD COLUMN browser_session TEXT;
