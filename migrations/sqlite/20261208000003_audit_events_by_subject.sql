-- A user's own activity (GET /users/me/activity) is read by the account's stable id, never by
-- its name: a name deleted and added again is another account, whose events are not theirs.
CREATE INDEX audit_events_by_subject ON audit_events (subject, id);
