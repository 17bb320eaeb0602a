-- What the two foreign keys of `user_memberships` cost a commit's write on
-- PostgreSQL (docs/PERFORMANCE.md, "Below the search index"): 100,000
-- memberships into a table shaped like it, with and without them, empty
-- and beside 100,000 more. Run in a scratch database:
--   createdb -h 127.0.0.1 -U postgres storage_bench
--   psql -h 127.0.0.1 -U postgres -d storage_bench -f scripts/memberships_fk_writes.sql
--   dropdb -h 127.0.0.1 -U postgres storage_bench
\set ON_ERROR_STOP on
DROP TABLE IF EXISTS m_fk, m_nofk, u, n;
CREATE TABLE u (id BIGINT PRIMARY KEY);
CREATE TABLE n (id BIGINT PRIMARY KEY);
INSERT INTO u SELECT generate_series(1, 200000);
INSERT INTO n SELECT generate_series(1, 100);
ANALYZE u; ANALYZE n;
CREATE TABLE m_fk (user_pk BIGINT NOT NULL REFERENCES u (id) ON DELETE CASCADE,
  node_id BIGINT NOT NULL REFERENCES n (id), PRIMARY KEY (user_pk, node_id));
CREATE INDEX m_fk_node ON m_fk (node_id);
CREATE TABLE m_nofk (user_pk BIGINT NOT NULL, node_id BIGINT NOT NULL, PRIMARY KEY (user_pk, node_id));
CREATE INDEX m_nofk_node ON m_nofk (node_id);
CHECKPOINT;
\timing on
\echo == with foreign keys
BEGIN; INSERT INTO m_fk SELECT g, 1 + g % 60 FROM generate_series(1, 100000) g; COMMIT;
\echo == without
BEGIN; INSERT INTO m_nofk SELECT g, 1 + g % 60 FROM generate_series(1, 100000) g; COMMIT;
\echo == with foreign keys, beside
BEGIN; INSERT INTO m_fk SELECT g, 1 + g % 60 FROM generate_series(100001, 200000) g; COMMIT;
\echo == without, beside
BEGIN; INSERT INTO m_nofk SELECT g, 1 + g % 60 FROM generate_series(100001, 200000) g; COMMIT;
\timing off
DROP TABLE m_fk, m_nofk, u, n;
