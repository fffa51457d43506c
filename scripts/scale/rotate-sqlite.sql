-- scripts/bench.sh --scale: what one refresh's statement touches on SQLite, on the empty
-- database and on the seeded one. The fast path's UPDATE (src/store/sql/sessions.rs,
-- ROTATE_CURRENT_SQLITE) on the bench's most recently used chain session, in a transaction
-- rolled back, with the shell's counters for that statement alone (`.stats`: page cache
-- hits and misses, virtual machine steps).
-- bench.sh reads it twice, cold then warm, and substitutes FAMILY, CURRENT (hex), AT and DAY.
BEGIN;
.stats stmt
UPDATE sessions SET previous_token = current_token, previous_used_at = AT + 1,
  current_token = X'00', last_used_at = AT + 1
WHERE family = X'FAMILY' AND current_token = X'CURRENT' AND expires_at > AT + 1
  AND last_used_at > 0 AND last_used_day = DAY
  AND EXISTS (SELECT 1 FROM users u WHERE u.subject = sessions.user_id AND NOT u.disabled)
RETURNING id, user_id,
  (SELECT username FROM users u WHERE u.subject = sessions.user_id) AS username,
  (SELECT email FROM users u WHERE u.subject = sessions.user_id) AS email,
  (SELECT full_name FROM users u WHERE u.subject = sessions.user_id) AS full_name,
  (SELECT hashed_password FROM users u WHERE u.subject = sessions.user_id) AS hashed_password,
  (SELECT scopes FROM users u WHERE u.subject = sessions.user_id) AS user_scopes;
.stats off
ROLLBACK;
