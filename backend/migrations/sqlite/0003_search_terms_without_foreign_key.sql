-- Search terms without a foreign key to users: every path that deletes a
-- user (the trash can's purge) deletes their terms first, and the per-row
-- check cost a commit of 100,000 new users (~1 M terms) a large share of
-- its time (docs/PERFORMANCE.md). SQLite cannot drop a constraint, so the
-- table is rebuilt. Keep in step with ../postgres/0003_….sql.

CREATE TABLE user_search_terms_new (
    term     TEXT    NOT NULL,
    user_pk  INTEGER NOT NULL,             -- users.id
    sort_key TEXT    NOT NULL,
    active   INTEGER NOT NULL,             -- 1, or 0 in the trash can
    PRIMARY KEY (term, user_pk)
) WITHOUT ROWID;
INSERT INTO user_search_terms_new (term, user_pk, sort_key, active)
    SELECT term, user_pk, sort_key, active FROM user_search_terms;
DROP TABLE user_search_terms;
ALTER TABLE user_search_terms_new RENAME TO user_search_terms;
CREATE INDEX user_search_terms_user ON user_search_terms (user_pk);
