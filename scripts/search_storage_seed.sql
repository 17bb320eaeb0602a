-- Users shaped like tests/api/scale.rs `seed` (first and last names of 16
-- each, folded as search::normalize folds them; username u0000000;
-- email at school0..96.example.com; user ID 10000000 + i), with the terms
-- search::terms gives them: each field whole and its words. Used by
-- search_storage_writes.sql and search_storage_reads.sql (docs/PERFORMANCE.md,
-- "What the write floor takes"). seeded_terms(n): users 0 … n - 1.
CREATE OR REPLACE FUNCTION seeded_terms(n BIGINT)
RETURNS TABLE (user_pk BIGINT, sort_key TEXT, terms TEXT[]) LANGUAGE sql AS $$
  WITH u AS (
    SELECT g AS i,
      (ARRAY['anna','jurgen','zoe','lukasz','marie','jose','soren','ingrid','mohammed',
             'aoife','chloe','bjorn','emma','noah','renee','tomas'])[1 + g % 16] AS f,
      (ARRAY['muller','angstrom','smith','van der berg','garcia','dubois','nowak','jensen',
             'o''brien','rossi','novak','kowalski','ozturk','lefevre','schroder',
             'fernandez'])[1 + (g / 16) % 16] AS l,
      'u' || lpad(g::text, 7, '0') AS un,
      'school' || (g % 97) AS dom,
      (10000000 + g)::text AS uid
    FROM generate_series(0, n - 1) g)
  SELECT 1000 + i, l || chr(1) || f || chr(1) || un,
    ARRAY(SELECT DISTINCT w FROM unnest(
      ARRAY[f, l, un, un || '@' || dom || '.example.com', un, dom, 'example', 'com', uid]
      || regexp_split_to_array(l, '[^a-z0-9]+')) w WHERE w <> '' ORDER BY w)
  FROM u
$$;
