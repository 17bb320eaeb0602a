-- A stored preview's passwords (SPEC section 5: never stored in clear),
-- sealed with the server's secret key: XChaCha20-Poly1305, a random nonce,
-- the preview's id as associated data (docs/SERVER.md, "Imports"). Kept
-- beside the preview, so any process sharing the key commits it, also after
-- a restart; deleted with the preview (cancel, expiry: the cascade) and by
-- its commit. `imports.passwords` still counts the rows that gave one.
-- Keep in step with ../sqlite/0005_preview_secrets.sql.

CREATE TABLE preview_secrets (
    import_id BIGINT  PRIMARY KEY REFERENCES imports (id) ON DELETE CASCADE,
    sealed    BYTEA   NOT NULL
);
