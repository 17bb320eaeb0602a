-- Undo an import (SPEC section 6b): what an import's record must keep to
-- be undone, and the link between an undo and the import it undid.
-- Keep in step with ../postgres/0009_undo.sql: the queries are shared.

-- The undo's own history entry names the import it undid; an import is
-- undone at most once (NULLs, every other import, are not compared).
ALTER TABLE imports ADD COLUMN undo_of INTEGER;
CREATE UNIQUE INDEX imports_undo_of ON imports (undo_of);

-- 1: committed by a Roster that keeps what an undo needs (the hashes,
-- memberships and nodes below). Imports committed before this migration
-- keep 0 and are refused an undo rather than undone in part.
ALTER TABLE imports ADD COLUMN undo_record INTEGER NOT NULL DEFAULT 0;

-- A synchronised user's password hash before the import changed it: never
-- shown, never returned, set to NULL when the user is purged. Beside it a
-- SHA-256 of the hash the import wrote (created or synchronised), to see
-- whether the password changed since. The node whose membership the import
-- added (NULL: none, the user was a member already).
ALTER TABLE import_changes ADD COLUMN password_hash_before TEXT;
ALTER TABLE import_changes ADD COLUMN password_after_digest TEXT;
ALTER TABLE import_changes ADD COLUMN membership_added INTEGER;
-- The purge finds the kept hashes of the users it deletes.
CREATE INDEX import_changes_kept_hash ON import_changes (user_pk)
    WHERE password_hash_before IS NOT NULL OR password_after_digest IS NOT NULL;

-- The hierarchy nodes an import created (no foreign key: an undo or an
-- administrator may remove them).
CREATE TABLE import_nodes (
    import_id INTEGER NOT NULL REFERENCES imports (id) ON DELETE CASCADE,
    node_id   INTEGER NOT NULL,
    PRIMARY KEY (import_id, node_id)
);
