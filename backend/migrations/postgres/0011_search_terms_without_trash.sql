-- Search terms only for users out of the trash can, and no `active` column:
-- moving users to the trash can deletes their terms, restoring one writes
-- them again from the user's values, and the trash can's search tests its
-- users in Rust with the rule the terms are built by (users.rs
-- `trash_search`, docs/SERVER.md "Search"). Marking the terms of 100,000
-- users undone rewrote ~1,000,000 rows and their index entries (`active`
-- was INCLUDEd in the key): the undo took 23-28 s against the import's
-- 10-11 s (docs/PERFORMANCE.md "Undoing an import"). The key is now
-- (term, sort_key, user_pk) alone. Keep in step with ../sqlite/0011_….sql.

-- By `users.deleted_at`, the truth, as well as by `active`.
DELETE FROM user_search_terms
    WHERE active = 0 OR user_pk IN (SELECT id FROM users WHERE deleted_at IS NOT NULL);
ALTER TABLE user_search_terms DROP CONSTRAINT user_search_terms_pkey;
ALTER TABLE user_search_terms DROP COLUMN active;
ALTER TABLE user_search_terms
    ADD CONSTRAINT user_search_terms_pkey PRIMARY KEY (term, sort_key, user_pk);
