-- The exchange statement of src/store/sql/codes.rs (EXCHANGE_POSTGRES): the code's pending
-- session rotated in place, as a refresh rotates. Each client trades its own codes in turn:
-- :base + client * 1 000 000 + i is the family, the code's digest and the session's id.
\set i :i + 1
\set k :base + :client_id * 1000000 + :i
UPDATE sessions AS s SET pending = FALSE, current_token = int8send(-:k), created_at = 1000,
  last_used_at = 1000
FROM authorization_codes AS c, users AS u
WHERE s.family = int8send(:k) AND s.current_token = int8send(:k) AND s.pending
  AND c.digest = int8send(:k) AND c.session_id = s.id AND c.expires_at > 1000
  AND u.subject = s.user_id AND NOT u.disabled
RETURNING s.id, s.user_id, u.username, s.scope, s.created_at, s.last_used_at, s.expires_at,
  s.client_id, CAST(0 AS BIGINT) AS pending, c.redirect_uri, c.code_challenge, c.nonce,
  c.auth_time, c.expires_at AS code_expires_at,
  u.email, u.full_name, u.hashed_password, u.scopes AS user_scopes;
