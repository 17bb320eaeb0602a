-- What writing 100,000 users' search index costs on PostgreSQL, by shape
-- and order (docs/PERFORMANCE.md, "What the write floor takes").
-- Each write is one transaction: into an empty table, then beside the
-- first 100,000 users. Run in a scratch database:
--   createdb -h 127.0.0.1 -U postgres storage_bench
--   psql -h 127.0.0.1 -U postgres -d storage_bench -f scripts/search_storage_seed.sql \
--        -f scripts/search_storage_writes.sql
--   dropdb -h 127.0.0.1 -U postgres storage_bench
\set ON_ERROR_STOP on
DROP TABLE IF EXISTS stage, vecs, t_user, t_key, t_rand, t_pkonly, t_vec;
CREATE TABLE stage AS
  SELECT user_pk, sort_key COLLATE "C" AS sort_key, term COLLATE "C" AS term, random() AS r
  FROM seeded_terms(100000), unnest(terms) term;
CREATE TABLE vecs AS
  SELECT user_pk, sort_key COLLATE "C" AS sort_key, array_to_tsvector(terms) AS terms
  FROM seeded_terms(100000);
SELECT count(*) AS term_rows FROM stage;
-- Today's table (migration 0011) and index.
CREATE TABLE t_user (term TEXT COLLATE "C" NOT NULL, user_pk BIGINT NOT NULL,
  sort_key TEXT COLLATE "C" NOT NULL, PRIMARY KEY (term, sort_key, user_pk));
CREATE INDEX t_user_u ON t_user (user_pk);
CREATE TABLE t_key (LIKE t_user INCLUDING ALL);
CREATE TABLE t_rand (LIKE t_user INCLUDING ALL);
CREATE TABLE t_pkonly (term TEXT COLLATE "C" NOT NULL, user_pk BIGINT NOT NULL,
  sort_key TEXT COLLATE "C" NOT NULL, PRIMARY KEY (term, sort_key, user_pk));
CREATE TABLE t_vec (user_pk BIGINT PRIMARY KEY, sort_key TEXT COLLATE "C" NOT NULL,
  terms tsvector NOT NULL);
CREATE INDEX t_vec_terms ON t_vec USING gin (terms);
CHECKPOINT;
\timing on
\echo '== terms table, in user order (as the commit writes them): empty, beside'
BEGIN; INSERT INTO t_user SELECT term, user_pk, sort_key FROM stage ORDER BY user_pk, term; COMMIT;
BEGIN; INSERT INTO t_user SELECT term, user_pk + 1000000, sort_key FROM stage ORDER BY user_pk, term; COMMIT;
\echo '== terms table, in key order'
BEGIN; INSERT INTO t_key SELECT term, user_pk, sort_key FROM stage ORDER BY term, sort_key, user_pk; COMMIT;
BEGIN; INSERT INTO t_key SELECT term, user_pk + 1000000, sort_key FROM stage ORDER BY term, sort_key, user_pk; COMMIT;
\echo '== terms table, in random order'
BEGIN; INSERT INTO t_rand SELECT term, user_pk, sort_key FROM stage ORDER BY r; COMMIT;
BEGIN; INSERT INTO t_rand SELECT term, user_pk + 1000000, sort_key FROM stage ORDER BY r; COMMIT;
\echo '== terms table without the user_pk index, in key order'
BEGIN; INSERT INTO t_pkonly SELECT term, user_pk, sort_key FROM stage ORDER BY term, sort_key, user_pk; COMMIT;
BEGIN; INSERT INTO t_pkonly SELECT term, user_pk + 1000000, sort_key FROM stage ORDER BY term, sort_key, user_pk; COMMIT;
\echo '== a tsvector of the same terms per user, GIN index'
BEGIN; INSERT INTO t_vec SELECT * FROM vecs ORDER BY user_pk; COMMIT;
BEGIN; INSERT INTO t_vec SELECT user_pk + 1000000, sort_key, terms FROM vecs ORDER BY user_pk; COMMIT;
\timing off
SELECT pg_size_pretty(pg_total_relation_size('t_user')) AS terms_table,
       pg_size_pretty(pg_total_relation_size('t_vec')) AS tsvector_table;
DROP TABLE stage, vecs, t_user, t_key, t_rand, t_pkonly, t_vec;
