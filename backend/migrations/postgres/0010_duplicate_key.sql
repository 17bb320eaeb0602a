-- Each user's possible_duplicate key (SPEC 4b): first name, last name and
-- email folded as the search folds them (roster_shared::warnings::
-- duplicate_key), '' when a name is blank. The folding (Unicode
-- decomposition, hand-folded letters) cannot be written in SQL the same way
-- in both databases, so the column starts NULL and the server fills it from
-- Rust when it starts (db::users::fill_duplicate_keys: batches by id, each
-- one idempotent statement, safe in several processes at once); every write
-- of those fields sets it. Indexed with deleted_at: Try Import looks rows up
-- by key (trash can included), the duplicates view groups active users.
-- Keep in step with ../sqlite/0010_….sql.

ALTER TABLE users ADD COLUMN dup_key TEXT COLLATE "C";
CREATE INDEX users_dup_key ON users (dup_key, deleted_at);
