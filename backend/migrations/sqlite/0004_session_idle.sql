-- A session's last use, for the idle timeout (`--session-idle-minutes`).
-- Sessions open at the upgrade count as last used when they began.
ALTER TABLE sessions ADD COLUMN last_seen_at INTEGER NOT NULL DEFAULT 0;
UPDATE sessions SET last_seen_at = created_at;
