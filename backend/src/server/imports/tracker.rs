//! Which commits run now, seen from every process (docs/SERVER.md,
//! "Imports"): PostgreSQL's advisory lock per import, SQLite's registry.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use sqlx::{AnyConnection, Connection};

use super::{ImportRegistry, locked};
use crate::db;
use crate::error::{Error, Result};

/// The PostgreSQL advisory lock class of "this import is being committed"
/// (the two-key form; the second key is the import's id).
const COMMIT_LOCK_CLASS: i64 = 0x526f_7374; // "Rost"

/// How every process sees a commit run (docs/SERVER.md, "Imports").
///
/// PostgreSQL: a connection of the commit's own, outside its transaction,
/// holds the import's advisory lock from the commit's start (before the
/// passwords are hashed) to its end, and writes the rows done to
/// `imports.progress_done` at most once a second. "Running" is "that lock
/// is held" (`pg_locks`, read by any process): a commit cut short, its
/// process killed, stops looking running as soon as PostgreSQL closes the
/// dead process's connections, which also rolls its transaction back.
///
/// SQLite: the commit's transaction holds the database's one write lock,
/// so no other connection could write its progress; and SQLite is served
/// by one process, which keeps it in memory.
pub(super) enum CommitTracker<'a> {
    Postgres {
        conn: AnyConnection,
        id: i64,
        done: usize,
        written: std::time::Instant,
    },
    Sqlite(SqliteRunning<'a>),
}

/// A commit this process runs on SQLite, until dropped.
pub(super) struct SqliteRunning<'a> {
    registry: &'a ImportRegistry,
    id: i64,
    done: Arc<AtomicUsize>,
}

impl Drop for SqliteRunning<'_> {
    fn drop(&mut self) {
        locked(&self.registry.running).remove(&self.id);
    }
}

/// How often a running commit writes its progress on PostgreSQL.
const PROGRESS_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

fn being_imported() -> Error {
    Error::conflict("this preview is being imported already")
}

impl<'a> CommitTracker<'a> {
    /// Marks the commit of `id` running; 409 if it runs already.
    pub(super) async fn start(db: &db::Db, registry: &'a ImportRegistry, id: i64) -> Result<Self> {
        Self::claim(db, registry, id, being_imported).await
    }

    /// Holds `id` as its commit does, so that no commit of it starts
    /// until [`CommitTracker::finish`]; `taken()` if one runs now. Cancel
    /// discards a preview under it: never one whose commit runs.
    pub(super) async fn claim(
        db: &db::Db,
        registry: &'a ImportRegistry,
        id: i64,
        taken: fn() -> Error,
    ) -> Result<Self> {
        if db::DbKind::of_pool(db) == db::DbKind::Sqlite {
            let done = Arc::new(AtomicUsize::new(0));
            let mut running = locked(&registry.running);
            if running.contains_key(&id) {
                return Err(taken());
            }
            running.insert(id, done.clone());
            return Ok(CommitTracker::Sqlite(SqliteRunning { registry, id, done }));
        }
        // Detached: should the commit end without `finish` (a panic), the
        // connection is closed rather than pooled, which frees the lock.
        let mut conn = db.acquire().await?.detach();
        // Booleans travel as integers through the `Any` driver.
        let locked: i64 = sqlx::query_scalar(
            "SELECT CAST(CASE WHEN pg_try_advisory_lock(CAST($1 AS INTEGER), \
             CAST($2 AS INTEGER)) THEN 1 ELSE 0 END AS BIGINT)",
        )
        .bind(COMMIT_LOCK_CLASS)
        .bind(commit_lock_key(id)?)
        .fetch_one(&mut conn)
        .await?;
        if locked == 0 {
            return Err(taken());
        }
        sqlx::query("UPDATE imports SET progress_done = 0 WHERE id = $1")
            .bind(id)
            .execute(&mut conn)
            .await?;
        Ok(CommitTracker::Postgres {
            conn,
            id,
            done: 0,
            written: std::time::Instant::now(),
        })
    }

    /// `rows` more are written.
    pub(super) async fn advance(&mut self, rows: usize) {
        match self {
            CommitTracker::Sqlite(running) => {
                running.done.fetch_add(rows, Ordering::Relaxed);
            }
            CommitTracker::Postgres {
                conn,
                id,
                done,
                written,
            } => {
                *done += rows;
                if written.elapsed() < PROGRESS_EVERY {
                    return;
                }
                *written = std::time::Instant::now();
                // Progress is a courtesy: failing to show it must not fail
                // the commit.
                if let Err(e) = sqlx::query("UPDATE imports SET progress_done = $1 WHERE id = $2")
                    .bind(*done as i64)
                    .bind(*id)
                    .execute(&mut *conn)
                    .await
                {
                    tracing::warn!(import = *id, error = %e, "writing an import's progress failed");
                }
            }
        }
    }

    /// The commit ended (written, refused or failed): it no longer runs.
    pub(super) async fn finish(self) {
        if let CommitTracker::Postgres { mut conn, id, .. } = self {
            let key = commit_lock_key(id).unwrap_or_default();
            let _ = sqlx::query(
                "SELECT CAST(CASE WHEN pg_advisory_unlock(CAST($1 AS INTEGER), \
                 CAST($2 AS INTEGER)) THEN 1 ELSE 0 END AS BIGINT)",
            )
            .bind(COMMIT_LOCK_CLASS)
            .bind(key)
            .execute(&mut conn)
            .await;
            // Closing the session frees the lock even if the unlock failed.
            let _ = conn.close().await;
        }
    }
}

/// The second key of an import's commit lock: its id, which PostgreSQL
/// takes as an `integer` (an id beyond it is never reached: one per Try
/// Import).
fn commit_lock_key(id: i64) -> Result<i64> {
    i32::try_from(id).map(i64::from).map_err(|_| {
        Error::Internal(anyhow::anyhow!(
            "import id {id} is beyond the commit lock's keys"
        ))
    })
}

/// The imports whose commit runs now, with the rows written so far: in any
/// process on PostgreSQL (its commit lock is held), in this one on SQLite.
pub async fn running_commits(
    db: &db::Db,
    registry: &ImportRegistry,
) -> Result<HashMap<i64, usize>> {
    if db::DbKind::of_pool(db) == db::DbKind::Sqlite {
        return Ok(locked(&registry.running)
            .iter()
            .map(|(id, done)| (*id, done.load(Ordering::Relaxed)))
            .collect());
    }
    let rows: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT id, progress_done FROM imports WHERE state = 'preview' AND id IN \
         (SELECT CAST(objid AS BIGINT) FROM pg_locks WHERE locktype = 'advisory' \
          AND granted AND objsubid = 2 AND CAST(classid AS BIGINT) = $1 \
          AND database = (SELECT oid FROM pg_database WHERE datname = current_database()))",
    )
    .bind(COMMIT_LOCK_CLASS)
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(id, done)| (id, usize::try_from(done).unwrap_or(0)))
        .collect())
}
