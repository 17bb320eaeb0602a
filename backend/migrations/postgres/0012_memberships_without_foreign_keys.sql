-- Memberships without foreign keys: a check per row on each cost a commit
-- of 100,000 new users about 1 s of its ~14 s (scripts/memberships_fk_writes.sql,
-- docs/PERFORMANCE.md "Below the search index"). What they guarded is held
-- by the code, under the directory's write lock (db::begin_directory_write)
-- that every writer of users, nodes and memberships takes: a node is
-- deleted only when no membership names it (http/hierarchy.rs; an undo
-- deletes the memberships of the nodes it removes first), a user only by
-- the trash can's purge, which deletes their memberships first, and a
-- membership is written only for nodes read or checked inside that lock.
-- The API tests check that none is left without its user or node.
-- Keep in step with ../sqlite/0012_….sql.

ALTER TABLE user_memberships DROP CONSTRAINT user_memberships_user_pk_fkey;
ALTER TABLE user_memberships DROP CONSTRAINT user_memberships_node_id_fkey;
