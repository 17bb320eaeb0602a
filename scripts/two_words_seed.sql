-- For docs/PERFORMANCE.md "Two broad words": 1,000,000 users as
-- tests/api/scale.rs `seed` writes them (user i: FIRST[i % 16],
-- LAST[(i / 16) % 16], u{i:07}, u…@school{i % 97}.example.com, user ID
-- 10,000,000 + i), each user's search terms written together, in SQL (40 s
-- instead of minutes). The names' terms are folded here as
-- `search::terms` folds them (NFKD, no marks, lowercase, ø/ł by hand; each
-- word and the whole). On a database the postgres migrations made:
--   createdb roster_two_words
--   for f in backend/migrations/postgres/*.sql; do psql -d roster_two_words -f $f; done
--   psql -d roster_two_words -f scripts/two_words_seed.sql
\timing on
CREATE TEMP TABLE names (kind text, i int, name text, norm text, terms text[]);
INSERT INTO names VALUES
('f',0,'Anna','anna',ARRAY['anna']::text[]),
('f',1,'Jürgen','jurgen',ARRAY['jurgen']::text[]),
('f',2,'Zoë','zoe',ARRAY['zoe']::text[]),
('f',3,'Łukasz','lukasz',ARRAY['lukasz']::text[]),
('f',4,'Marie','marie',ARRAY['marie']::text[]),
('f',5,'José','jose',ARRAY['jose']::text[]),
('f',6,'Søren','soren',ARRAY['soren']::text[]),
('f',7,'Ingrid','ingrid',ARRAY['ingrid']::text[]),
('f',8,'Mohammed','mohammed',ARRAY['mohammed']::text[]),
('f',9,'Aoife','aoife',ARRAY['aoife']::text[]),
('f',10,'Chloé','chloe',ARRAY['chloe']::text[]),
('f',11,'Björn','bjorn',ARRAY['bjorn']::text[]),
('f',12,'Emma','emma',ARRAY['emma']::text[]),
('f',13,'Noah','noah',ARRAY['noah']::text[]),
('f',14,'Renée','renee',ARRAY['renee']::text[]),
('f',15,'Tomás','tomas',ARRAY['tomas']::text[]),
('l',0,'Müller','muller',ARRAY['muller']::text[]),
('l',1,'Ångström','angstrom',ARRAY['angstrom']::text[]),
('l',2,'Smith','smith',ARRAY['smith']::text[]),
('l',3,'van der Berg','van der berg',ARRAY['berg','der','van','van der berg']::text[]),
('l',4,'García','garcia',ARRAY['garcia']::text[]),
('l',5,'Dubois','dubois',ARRAY['dubois']::text[]),
('l',6,'Nowak','nowak',ARRAY['nowak']::text[]),
('l',7,'Jensen','jensen',ARRAY['jensen']::text[]),
('l',8,'O''Brien','o''brien',ARRAY['brien','o','o''brien']::text[]),
('l',9,'Rossi','rossi',ARRAY['rossi']::text[]),
('l',10,'Novák','novak',ARRAY['novak']::text[]),
('l',11,'Kowalski','kowalski',ARRAY['kowalski']::text[]),
('l',12,'Öztürk','ozturk',ARRAY['ozturk']::text[]),
('l',13,'Lefèvre','lefevre',ARRAY['lefevre']::text[]),
('l',14,'Schröder','schroder',ARRAY['schroder']::text[]),
('l',15,'Fernández','fernandez',ARRAY['fernandez']::text[]);
INSERT INTO roles (id, name, name_key, permissions) VALUES (1, 'Administrator', 'administrator', 0);
INSERT INTO users (id, first_name, last_name, username, username_key, email, user_id, role_id,
                   time_zone, sort_key, created_at, updated_at, dup_key)
SELECT 1000 + n0, f.name, l.name, u, u, u || '@school' || (n0 % 97) || '.example.com',
       (10000000 + n0)::text, 1, 'UTC', l.norm || chr(1) || f.norm || chr(1) || u,
       1700000000, 1700000000, ''
FROM generate_series(0, 999999) g(n0)
CROSS JOIN LATERAL (SELECT 'u' || lpad(n0::text, 7, '0') AS u) n
JOIN names f ON f.kind = 'f' AND f.i = n0 % 16
JOIN names l ON l.kind = 'l' AND l.i = (n0 / 16) % 16;
ALTER TABLE user_search_terms DROP CONSTRAINT user_search_terms_pkey;
DROP INDEX user_search_terms_user;
-- Each user's terms together, users in id order: as an import writes them.
INSERT INTO user_search_terms (term, user_pk, sort_key, active)
SELECT t.term, u.id, u.sort_key, 1
FROM users u
JOIN names f ON f.kind = 'f' AND f.name = u.first_name
JOIN names l ON l.kind = 'l' AND l.name = u.last_name
CROSS JOIN LATERAL (
  SELECT DISTINCT x AS term FROM unnest(f.terms || l.terms || ARRAY[u.username, u.email,
     split_part(split_part(u.email, '@', 2), '.', 1), 'example', 'com', u.user_id]) x
) t
ORDER BY u.id, t.term;
ALTER TABLE user_search_terms
    ADD CONSTRAINT user_search_terms_pkey PRIMARY KEY (term, sort_key, user_pk) INCLUDE (active);
CREATE INDEX user_search_terms_user ON user_search_terms (user_pk);
VACUUM ANALYZE;
SELECT COUNT(*) FROM user_search_terms;
