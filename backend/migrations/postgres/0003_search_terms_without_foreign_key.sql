-- Search terms without a foreign key to users: every path that deletes a
-- user (the trash can's purge) deletes their terms first, and the per-row
-- check cost a commit of 100,000 new users (~1 M terms) about 40 % of its
-- time (docs/PERFORMANCE.md). Keep in step with ../sqlite/0003_….sql.

ALTER TABLE user_search_terms DROP CONSTRAINT user_search_terms_user_pk_fkey;
