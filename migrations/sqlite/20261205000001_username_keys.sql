-- Each name's RFC 8265 §3.3 key (UsernameCaseMapped: width, case, NFC), so that `Zoe` and `zoe`
-- cannot both be added, by any number of servers at once. passflow fills the key in for rows
-- from before this migration when it opens the database (it is computed in Rust, not SQL).
-- Names that already shared a key keep their accounts: the first by name takes rank 0, the
-- others 1, 2, ...; a new name always takes rank 0, so it collides with any of them.
ALTER TABLE users ADD COLUMN username_key TEXT;
ALTER TABLE users ADD COLUMN key_rank INTEGER NOT NULL DEFAULT 0;
CREATE UNIQUE INDEX users_by_key ON users (username_key, key_rank);
