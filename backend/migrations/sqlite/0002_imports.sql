-- Imports (SPEC sections 6 and 9): a preview kept server-side until it is
-- committed, cancelled or expires, then the history of the commit.
-- Keep in step with ../postgres/0002_imports.sql: the queries are shared.

CREATE TABLE imports (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    state         TEXT    NOT NULL,        -- preview, running, done, failed
    created_by    INTEGER NOT NULL,        -- users.id (no FK: purges may remove the user)
    created_by_name TEXT  NOT NULL,        -- the username then
    created_at    INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL,        -- a preview's end
    file_name     TEXT    NOT NULL,
    sha256        TEXT    NOT NULL,        -- of the file, or of the rows' JSON
    role_id       INTEGER NOT NULL,
    role_name     TEXT    NOT NULL,
    hierarchy_id  INTEGER NOT NULL,
    hierarchy_path TEXT   NOT NULL,
    rows_json     TEXT    NOT NULL,        -- the rows as uploaded, passwords left out
    fingerprint   TEXT    NOT NULL,        -- SHA-256 of every row's classification
    summary_json  TEXT    NOT NULL,        -- the preview's answer
    errors_json   TEXT    NOT NULL,        -- every row error of the preview
    passwords     INTEGER NOT NULL DEFAULT 0, -- how many rows gave one (held in memory only)
    progress_done INTEGER NOT NULL DEFAULT 0, -- rows written while a commit runs
    total_rows    INTEGER NOT NULL,
    created       INTEGER NOT NULL DEFAULT 0,
    synced        INTEGER NOT NULL DEFAULT 0,
    skipped       INTEGER NOT NULL DEFAULT 0,
    committed_at  INTEGER,
    committed_by  INTEGER
);
CREATE INDEX imports_state_expiry ON imports (state, expires_at);
CREATE INDEX imports_created ON imports (created_at, id);

-- Every user an import created or changed, with the values before and after.
CREATE TABLE import_changes (
    import_id INTEGER NOT NULL REFERENCES imports (id) ON DELETE CASCADE,
    row_number INTEGER NOT NULL,
    user_pk   INTEGER NOT NULL,
    action    TEXT    NOT NULL,            -- create, sync
    before_json TEXT,                      -- NULL for create
    after_json  TEXT  NOT NULL,
    PRIMARY KEY (import_id, row_number)
);
