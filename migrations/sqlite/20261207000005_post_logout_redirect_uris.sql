-- Where a client may send its users after they sign out (OpenID Connect RP-Initiated Logout
-- 1.0 §3): space-separated, each matched exactly. Empty: the "signed out" page.
ALTER TABLE clients ADD COLUMN post_logout_redirect_uris TEXT NOT NULL DEFAULT '';
