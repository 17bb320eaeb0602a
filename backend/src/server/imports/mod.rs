//! Imports against the directory (SPEC sections 5 and 6), in the order of
//! their steps: [`classify`] checked rows against the directory as create /
//! sync / `in_use`, [`store`] the preview (its passwords sealed), [`commit`]
//! it in one transaction with bulk statements, and [`workbooks`] (the
//! .xlsx downloads); [`undo`] takes a finished import back (SPEC section
//! 6b). This module holds the wire types, the per-process
//! [`ImportRegistry`] and the limits on what an import receives;
//! [`tracker`] says which commits run. The HTTP side is `http/imports.rs`.
//!
//! The rows are re-checked with `roster_shared::check_rows` (the same rules
//! as the browser); only the comparison with the directory lives here.

mod classify;
mod commit;
mod store;
mod tracker;
mod undo;
mod workbooks;

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex};

use roster_shared::{Field, MappedRow, RowError};
use serde::Serialize;
use serde::de::{self, Deserializer, SeqAccess, Visitor};
use sha2::{Digest, Sha256};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use utoipa::ToSchema;

use crate::clock::Clock;
use crate::db;
use crate::error::{Error, Result};
use crate::password::hex;
use crate::permissions::Permissions;
use crate::secret::SecretKey;

pub use commit::commit;
pub use store::{
    cancel_preview, create_preview, delete_expired_previews, discard_preview, stored_errors,
};
pub use tracker::running_commits;
pub use undo::{undo_commit, undo_preview};
pub use workbooks::{errors_workbook, template_workbook};

/// Most rows one import holds (SPEC section 3's limit).
pub const MAX_ROWS: usize = 250_000;
/// How long a preview waits for its commit.
pub const PREVIEW_TTL_SECS: i64 = 3600;
/// Previews built at once (each may hold a 64 MiB body and 250,000 rows).
const PREVIEWS_AT_ONCE: usize = 2;
/// How often expired previews (and their sealed passwords) are deleted.
const SWEEP_EVERY: std::time::Duration = std::time::Duration::from_secs(60);
/// How long a Try Import waits for a place before 503.
const PREVIEW_WAIT: std::time::Duration = std::time::Duration::from_secs(20);
/// Rows listed in the preview's `errors` and `sync`.
const LISTED: usize = 15;

/// `{"rows", "to_create", "to_sync", "unchanged", "with_errors"}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize, ToSchema)]
pub struct ImportSummary {
    pub rows: usize,
    pub to_create: usize,
    /// Rows matching an existing user (trash can included), unchanged ones too.
    pub to_sync: usize,
    /// Of `to_sync`, the rows that would change nothing.
    pub unchanged: usize,
    pub with_errors: usize,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize, ToSchema)]
pub struct SyncRow {
    pub row: u32,
    pub username: String,
    pub user_id: String,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize, ToSchema)]
pub struct TrashRow {
    pub row: u32,
    pub username: String,
}

/// The answer of Try Import (SPEC section 9).
#[derive(Debug, Clone, Serialize, serde::Deserialize, ToSchema)]
pub struct ImportPreview {
    pub id: i64,
    pub summary: ImportSummary,
    /// Every error of the first 15 rows with errors, as in `roster check`
    /// (`held_by` for `in_use`).
    #[schema(value_type = Vec<Object>)]
    pub errors: Vec<RowError>,
    /// The first 15 rows to be synchronised.
    pub sync: Vec<SyncRow>,
    /// Paths of the hierarchy nodes the import would create.
    pub hierarchy_to_create: Vec<String>,
    /// Every row matching a user in the trash can (updated, stays there).
    pub in_trash: Vec<TrashRow>,
}

/// The commit's answer.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CommitResult {
    pub created: usize,
    pub synced: usize,
    pub skipped: usize,
}

/// What one process holds about imports: the secret key that seals stored
/// previews' passwords (the sealed passwords are in the database, with the
/// preview), the commits it runs on SQLite (see [`CommitTracker`]), and how
/// many previews it may build at once.
pub struct ImportRegistry {
    key: SecretKey,
    /// SQLite only: import id → rows written, while this process commits it.
    running: Mutex<HashMap<i64, Arc<AtomicUsize>>>,
    /// Each preview being built holds up to 64 MiB of body and its rows in
    /// this process's memory: a bound on the process's own resources, so it
    /// is kept per process on purpose (N processes build up to N × 2).
    building: Arc<Semaphore>,
}

fn locked<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl ImportRegistry {
    /// A registry sealing with `key`.
    pub fn new(key: SecretKey) -> Self {
        ImportRegistry {
            key,
            running: Mutex::default(),
            building: Arc::new(Semaphore::new(PREVIEWS_AT_ONCE)),
        }
    }

    /// A registry whose process deletes expired previews (and so their
    /// sealed passwords) every minute, for as long as it lives.
    pub fn with_sweeper(db: db::Db, clock: Clock, key: SecretKey) -> Arc<Self> {
        let registry = Arc::new(ImportRegistry::new(key));
        let weak = Arc::downgrade(&registry);
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(SWEEP_EVERY);
            loop {
                ticker.tick().await;
                let Some(registry) = weak.upgrade() else {
                    break;
                };
                if let Err(e) = delete_expired_previews(&db, &registry, clock.now()).await {
                    tracing::error!(error = %e, "deleting expired previews failed");
                }
            }
        });
        registry
    }

    /// A place among the previews built at once: waits a little for one,
    /// then asks the client to come back (503).
    pub async fn preview_permit(&self) -> Result<OwnedSemaphorePermit> {
        match tokio::time::timeout(PREVIEW_WAIT, self.building.clone().acquire_owned()).await {
            Ok(Ok(permit)) => Ok(permit),
            _ => Err(Error::Busy {
                message: "the server is busy with other imports: try again in a moment".into(),
                retry_after_secs: PREVIEW_WAIT.as_secs() as i64,
            }),
        }
    }
}

/// What an import is asked to do, before classification.
pub struct ImportRequest {
    pub file_name: String,
    /// SHA-256 (hex) of the uploaded file, or of the rows' JSON.
    pub sha256: String,
    pub role_id: i64,
    pub hierarchy_id: i64,
    pub rows: Vec<MappedRow>,
}

/// Who runs an import.
#[derive(Clone, Copy)]
pub struct Actor {
    pub user_pk: i64,
    pub permissions: Permissions,
}

fn invalid_rows(message: impl Into<String>) -> Error {
    Error::invalid("rows", "invalid", message)
}

/// Limits and order of the rows: at most [`MAX_ROWS`], row numbers
/// increasing (the errors name rows by number).
pub fn check_shape(rows: &[MappedRow]) -> Result<()> {
    if rows.is_empty() {
        return Err(invalid_rows("rows: the import has no rows"));
    }
    if rows.len() > MAX_ROWS {
        return Err(too_many_rows());
    }
    if rows.windows(2).any(|w| w[0].row >= w[1].row) {
        return Err(invalid_rows("rows: row numbers must increase"));
    }
    Ok(())
}

/// More than [`MAX_ROWS`] rows: 422.
pub fn too_many_rows() -> Error {
    invalid_rows(format!("rows: at most {MAX_ROWS} rows in one import"))
}

/// Deserialises the rows array, failing at row `MAX_ROWS + 1`: a body of
/// millions of tiny rows never becomes millions of rows in memory.
pub fn bounded_rows<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> std::result::Result<Vec<MappedRow>, D::Error> {
    struct Rows;
    impl<'de> Visitor<'de> for Rows {
        type Value = Vec<MappedRow>;

        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            write!(f, "an array of at most {MAX_ROWS} rows")
        }

        fn visit_seq<A: SeqAccess<'de>>(
            self,
            mut seq: A,
        ) -> std::result::Result<Self::Value, A::Error> {
            let mut rows = Vec::new();
            while let Some(row) = seq.next_element()? {
                if rows.len() == MAX_ROWS {
                    return Err(de::Error::custom(too_many_rows()));
                }
                rows.push(row);
            }
            Ok(rows)
        }
    }
    deserializer.deserialize_seq(Rows)
}

/// A file uploaded by a script: read, mapped (suggested, then `mapping`'s
/// `field → header` overrides) and turned into rows with the rules crate's
/// own steps, as `roster check` does. A file-level problem is 422 with the
/// reader's one-line message.
pub fn rows_from_file(
    bytes: &[u8],
    file_name: &str,
    sheet: Option<String>,
    mapping: &[(Field, String)],
) -> Result<Vec<MappedRow>> {
    use roster_shared::{Mapping, ReadOptions, read_table, rows::into_mapped_rows};
    let file_error =
        |e: roster_shared::ReadError| Error::invalid("file", "unreadable", e.to_string());
    let options = ReadOptions {
        sheet,
        ..ReadOptions::default()
    };
    let mut table = read_table(bytes, Some(file_name), &options).map_err(file_error)?;
    let mut suggested = Mapping::suggest(&table.headers);
    for (field, header) in mapping {
        suggested
            .override_with(*field, header, &table.headers)
            .map_err(file_error)?;
    }
    let missing = suggested.missing_required();
    if !missing.is_empty() {
        return Err(file_error(roster_shared::ReadError::MissingColumns(
            missing,
        )));
    }
    Ok(into_mapped_rows(
        std::mem::take(&mut table.rows),
        &suggested,
    ))
}

/// SHA-256 (hex) of bytes: the history's fingerprint of a file or rows.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}
