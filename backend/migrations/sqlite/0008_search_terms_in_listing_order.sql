-- Search terms keyed (term, sort_key, user_pk): the entries of one term are
-- in listing order, so the first page of a broad word is read from the
-- start of each term it begins and merged, instead of sorting every match
-- (users.rs `search_terms`, docs/SERVER.md "Search"). (term, user_pk) stays
-- unique: a user has one sort key. SQLite cannot change a primary key, so
-- the table is rebuilt. Keep in step with ../postgres/0008_….sql.

CREATE TABLE user_search_terms_new (
    term     TEXT    NOT NULL,
    user_pk  INTEGER NOT NULL,             -- users.id
    sort_key TEXT    NOT NULL,
    active   INTEGER NOT NULL,             -- 1, or 0 in the trash can
    PRIMARY KEY (term, sort_key, user_pk)
) WITHOUT ROWID;
INSERT INTO user_search_terms_new (term, user_pk, sort_key, active)
    SELECT term, user_pk, sort_key, active FROM user_search_terms;
DROP TABLE user_search_terms;
ALTER TABLE user_search_terms_new RENAME TO user_search_terms;
CREATE INDEX user_search_terms_user ON user_search_terms (user_pk);
