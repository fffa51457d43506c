-- The refresh grant's rotation (ROTATE_CURRENT_POSTGRES) of the client's own session, without
-- the current-token condition so that it can run in a loop.
\set i :i + 1
UPDATE sessions AS s SET previous_token = s.current_token, previous_used_at = 1000 + :i,
  current_token = int8send(:i), last_used_at = 1000 + :i
FROM users AS u
WHERE s.family = int8send(-1 - :client_id) AND s.expires_at > 1000 AND s.client_id IS NULL
  AND u.subject = s.user_id AND NOT u.disabled
RETURNING s.id, s.user_id, u.username, s.scope, s.created_at, s.last_used_at, s.expires_at, s.client_id,
  u.email, u.full_name, u.hashed_password, u.scopes AS user_scopes;
