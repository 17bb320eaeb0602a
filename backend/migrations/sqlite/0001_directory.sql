-- The user directory (SPEC section 1). Times are Unix seconds.
-- Keep in step with ../postgres/0001_directory.sql: the queries are shared.

CREATE TABLE roles (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT    NOT NULL,
    name_key    TEXT    NOT NULL UNIQUE,   -- lowercase name
    permissions INTEGER NOT NULL           -- bit set, see permissions.rs
);

CREATE TABLE hierarchy_nodes (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    parent_id INTEGER REFERENCES hierarchy_nodes (id),
    name      TEXT    NOT NULL,
    name_key  TEXT    NOT NULL             -- lowercase name
);
-- Names are unique among siblings, case-insensitively.
CREATE UNIQUE INDEX hierarchy_nodes_sibling_name
    ON hierarchy_nodes (COALESCE(parent_id, 0), name_key);

CREATE TABLE users (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    first_name    TEXT    NOT NULL,
    last_name     TEXT    NOT NULL,
    username      TEXT    NOT NULL,
    username_key  TEXT    NOT NULL UNIQUE, -- lowercase username
    email         TEXT    NOT NULL,
    user_id       TEXT    NOT NULL UNIQUE, -- compared exactly
    password_hash TEXT,                    -- Argon2id PHC string; NULL: no login
    role_id       INTEGER NOT NULL REFERENCES roles (id),
    special_needs INTEGER,                 -- 1 yes, 0 no, NULL unset
    sync_key      TEXT,
    time_zone     TEXT    NOT NULL,
    sort_key      TEXT    NOT NULL,        -- normalised "last first username"
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    deleted_at    INTEGER                  -- in the trash can since
);
CREATE INDEX users_active_order ON users (sort_key, id) WHERE deleted_at IS NULL;
CREATE INDEX users_trash_order ON users (deleted_at, id) WHERE deleted_at IS NOT NULL;
CREATE INDEX users_role ON users (role_id);

CREATE TABLE user_memberships (
    user_pk INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    node_id INTEGER NOT NULL REFERENCES hierarchy_nodes (id),
    PRIMARY KEY (user_pk, node_id)
) WITHOUT ROWID;
CREATE INDEX user_memberships_node ON user_memberships (node_id);

-- Search: normalised words and whole values, matched by prefix (search.rs).
-- The user's sort key and whether they are active (not in the trash can)
-- are copied here, so a search is answered from this table's key alone.
CREATE TABLE user_search_terms (
    term     TEXT    NOT NULL,
    user_pk  INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    sort_key TEXT    NOT NULL,
    active   INTEGER NOT NULL,             -- 1, or 0 in the trash can
    PRIMARY KEY (term, user_pk)
) WITHOUT ROWID;
CREATE INDEX user_search_terms_user ON user_search_terms (user_pk);

CREATE TABLE sessions (
    id         TEXT    PRIMARY KEY,        -- SHA-256 of the cookie's token
    user_pk    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    csrf_token TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_pk);

CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
