-- The exchange statement of src/store/sql/codes.rs (EXCHANGE_POSTGRES), each client trading
-- its own codes in turn: :base + client * 1 000 000 + i.
\set i :i + 1
\set k :base + :client_id * 1000000 + :i
WITH spent AS (
  UPDATE authorization_codes AS c SET spent_at = 1000, session_id = CASE WHEN EXISTS
    (SELECT 1 FROM users u WHERE u.username = c.username AND NOT u.disabled) THEN 's' || :k END
  WHERE c.digest = int8send(:k) AND c.spent_at IS NULL AND c.expires_at > 1000
  RETURNING c.digest, c.client_id, c.redirect_uri, c.code_challenge, c.nonce, c.username,
    c.scope, c.auth_time, c.expires_at, c.session_id
), started AS (
  INSERT INTO sessions (id, username, scope, created_at, last_used_at, expires_at,
    client_id, family, current_token, last_used_day)
  SELECT session_id, username, scope, 1000, 1000, 999999999, client_id, int8send(:k), int8send(:k), 1000 / 86400
  FROM spent WHERE session_id IS NOT NULL
)
SELECT spent.*, u.email, u.full_name, u.hashed_password, u.scopes AS user_scopes,
  (SELECT COUNT(*) FROM sessions s WHERE s.username = spent.username) AS others
FROM spent LEFT JOIN users u ON u.username = spent.username;
