-- One query of search_storage_reads.sql: psql variable :q, a tsquery.
\echo query :q
EXPLAIN (ANALYZE, COSTS OFF)
  SELECT id FROM px WHERE terms @@ :'q'::tsquery ORDER BY sort_key, id LIMIT 50;
SET enable_indexscan = off;
EXPLAIN (ANALYZE, COSTS OFF)
  SELECT id FROM px WHERE terms @@ :'q'::tsquery ORDER BY sort_key, id LIMIT 50;
RESET enable_indexscan;
EXPLAIN (ANALYZE, COSTS OFF)
  SELECT count(*) FROM (SELECT 1 FROM px WHERE terms @@ :'q'::tsquery LIMIT 10001) s;
SELECT count(*) FROM px WHERE terms @@ :'q'::tsquery;
