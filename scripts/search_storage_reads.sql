-- What a search of 1,000,000 users costs if their terms were one tsvector
-- per user with a GIN index, PostgreSQL (docs/PERFORMANCE.md, "What the
-- write floor takes"). The queries are tests/api/scale.rs's; each prints
-- three execution times: the first page (50 in listing order) as the
-- planner chooses, the same page from the GIN index alone (index scans
-- off: a bitmap, then a sort), and the count up to the cap (10,001); then
-- the true count. Run in a scratch database (about 30 s to build):
--   createdb -h 127.0.0.1 -U postgres storage_bench
--   psql -h 127.0.0.1 -U postgres -d storage_bench -f scripts/search_storage_seed.sql \
--        -f scripts/search_storage_reads.sql \
--     | grep -E '^query|Execution Time|^ +[0-9]+$' | paste - - - - -
--   dropdb -h 127.0.0.1 -U postgres storage_bench
\set ON_ERROR_STOP on
DROP TABLE IF EXISTS px;
CREATE TABLE px AS
  SELECT user_pk AS id, sort_key COLLATE "C" AS sort_key, array_to_tsvector(terms) AS terms
  FROM seeded_terms(1000000);
ALTER TABLE px ADD PRIMARY KEY (id);
CREATE INDEX px_order ON px (sort_key, id);
CREATE INDEX px_terms ON px USING gin (terms);
VACUUM ANALYZE px;
SET jit = off;
\set q 'u0123456:*'
\ir search_storage_query.sql
\set q '10500000:*'
\ir search_storage_query.sql
\set q 'muller:*'
\ir search_storage_query.sql
\set q 'muller:* & zoe:*'
\ir search_storage_query.sql
\set q 'angstrom:* & u00:*'
\ir search_storage_query.sql
\set q 'school42:*'
\ir search_storage_query.sql
\set q 'a:*'
\ir search_storage_query.sql
DROP TABLE px;
