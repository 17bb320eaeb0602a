-- For docs/PERFORMANCE.md "Possible duplicates against the directory".
-- 1,000,000 ASCII users (dup_key = lower() of each part: what the rules
-- crate's folding gives for ASCII), then every 50th twice: 20,000 groups.
\timing on
INSERT INTO users (first_name, last_name, username, username_key, email, user_id, role_id,
    time_zone, sort_key, created_at, updated_at, dup_key)
SELECT 'First' || (i % 1000), 'Last' || (i / 1000), 'u' || lpad(i::text, 7, '0'),
    'u' || lpad(i::text, 7, '0'), 'u' || lpad(i::text, 7, '0') || '@school' || (i % 97) || '.example.com',
    (10000000 + i)::text, (SELECT id FROM roles LIMIT 1), 'UTC', 'k' || lpad(i::text, 7, '0'),
    1700000000, 1700000000,
    'first' || (i % 1000) || chr(31) || 'last' || (i / 1000) || chr(31) || 'u' || lpad(i::text, 7, '0') || '@school' || (i % 97) || '.example.com'
FROM generate_series(1, 1000000) AS i;
INSERT INTO users (first_name, last_name, username, username_key, email, user_id, role_id,
    time_zone, sort_key, created_at, updated_at, dup_key)
SELECT first_name, last_name, 'd' || username, 'd' || username_key, email, 'd' || user_id, role_id,
    time_zone, sort_key, created_at, updated_at, dup_key
FROM users WHERE username LIKE 'u%' AND substr(username, 2)::int % 50 = 0;
INSERT INTO user_memberships (user_pk, node_id)
SELECT id, (SELECT id FROM hierarchy_nodes WHERE parent_id IS NULL) FROM users WHERE username <> 'admin';
VACUUM ANALYZE;
SELECT count(*) FROM users;
