-- Search terms keyed (term, sort_key, user_pk): the entries of one term are
-- in listing order, so the first page of a broad word is read from the
-- start of each term it begins and merged, instead of sorting every match
-- (users.rs `search_terms`, docs/SERVER.md "Search"). (term, user_pk) stays
-- unique: a user has one sort key. Keep in step with ../sqlite/0008_….sql.

ALTER TABLE user_search_terms DROP CONSTRAINT user_search_terms_pkey;
ALTER TABLE user_search_terms
    ADD CONSTRAINT user_search_terms_pkey PRIMARY KEY (term, sort_key, user_pk) INCLUDE (active);
