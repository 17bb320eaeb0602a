-- Search terms only for users out of the trash can, and no `active` column:
-- moving users to the trash can deletes their terms, restoring one writes
-- them again from the user's values, and the trash can's search tests its
-- users in Rust with the rule the terms are built by (users.rs
-- `trash_search`, docs/SERVER.md "Search"). Marking the terms of 100,000
-- users undone rewrote ~1,000,000 rows (docs/PERFORMANCE.md "Undoing an
-- import"). The table is rebuilt as 0008 did, with only the rows that
-- stay. Keep in step with ../postgres/0011_….sql.

CREATE TABLE user_search_terms_new (
    term     TEXT    NOT NULL,
    user_pk  INTEGER NOT NULL,             -- users.id, out of the trash can
    sort_key TEXT    NOT NULL,
    PRIMARY KEY (term, sort_key, user_pk)
) WITHOUT ROWID;
INSERT INTO user_search_terms_new (term, user_pk, sort_key)
    SELECT term, user_pk, sort_key FROM user_search_terms
    -- By `users.deleted_at`, the truth, as well as by `active`.
    WHERE active = 1 AND user_pk NOT IN (SELECT id FROM users WHERE deleted_at IS NOT NULL);
DROP TABLE user_search_terms;
ALTER TABLE user_search_terms_new RENAME TO user_search_terms;
CREATE INDEX user_search_terms_user ON user_search_terms (user_pk);
