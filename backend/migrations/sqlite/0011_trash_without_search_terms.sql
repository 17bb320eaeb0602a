-- A user in the trash can keeps no search terms: moving a user there
-- deletes their terms, restoring writes them again (db/users.rs). Marking
-- ~10 rows a user `active = 0` rewrote every row and both of its index
-- entries (PostgreSQL cannot update a key column in place), which made
-- undoing an import of 100,000 users take twice the import. The trash
-- can's own list reads `users`, never the terms. `active` stays (1 on
-- every row from here on): dropping it would rebuild the primary key.
-- Keep in step with ../postgres/0011_….sql.

DELETE FROM user_search_terms WHERE active = 0;
