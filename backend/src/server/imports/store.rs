//! Step 2: the preview kept in the database (its passwords sealed with the
//! process's secret key), read back, cancelled or expired.

use std::collections::HashMap;

use roster_shared::api::ImportPreview;
use roster_shared::{Field, MappedRow, RowError, RuleOptions};

use super::classify::{add_directory_duplicates, apply_role, check_access, classify, role};
use super::tracker::CommitTracker;
use super::{Actor, ImportRegistry, ImportRequest, PREVIEW_TTL_SECS, check_shape, running_commits};
use crate::db::{self, Tx};
use crate::error::{Error, Result};
use crate::secret::SecretKey;

/// Deletes the previews expired at `now`, their sealed passwords with them
/// (`ON DELETE CASCADE`), but not one whose commit runs now: a commit that
/// began before the hour was up finishes. One idempotent statement: every
/// process may run it at once (a row another deletes first is skipped).
pub async fn delete_expired_previews(
    db: &db::Db,
    registry: &ImportRegistry,
    now: i64,
) -> Result<u64> {
    let running = running_commits(db, registry).await?;
    if db::DbKind::of_pool(db) == db::DbKind::Sqlite && !running.is_empty() {
        // The commit holds SQLite's one write lock: a DELETE would only
        // wait for it and time out. The next sweep deletes.
        return Ok(0);
    }
    let mut sql = "DELETE FROM imports WHERE state = 'preview' AND expires_at <= $1".to_string();
    if !running.is_empty() {
        let ids: Vec<String> = running.keys().map(i64::to_string).collect();
        sql.push_str(&format!(" AND id NOT IN ({})", ids.join(", ")));
    }
    let deleted = sqlx::query(&sql).bind(now).execute(db).await?;
    Ok(deleted.rows_affected())
}

/// The associated data of a preview's sealed passwords: its id, so a blob
/// copied to another preview does not open there.
fn sealed_context(id: i64) -> Vec<u8> {
    format!("roster preview {id} passwords").into_bytes()
}

/// Seals a preview's passwords and keeps them with it (in its transaction).
async fn seal_passwords(
    tx: &mut Tx,
    key: &SecretKey,
    id: i64,
    passwords: &HashMap<u32, String>,
) -> Result<()> {
    if passwords.is_empty() {
        return Ok(());
    }
    let plain = serde_json::to_vec(passwords).map_err(anyhow::Error::from)?;
    let sealed = key.seal(&sealed_context(id), &plain)?;
    sqlx::query("INSERT INTO preview_secrets (import_id, sealed) VALUES ($1, $2)")
        .bind(id)
        .bind(sealed)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// A preview's passwords, opened. 409 when they cannot be: sealed with
/// another key (another process's, or a key changed since), or gone.
pub(super) async fn open_passwords(
    db: &db::Db,
    key: &SecretKey,
    id: i64,
) -> Result<HashMap<u32, String>> {
    let sealed: Option<Vec<u8>> =
        sqlx::query_scalar("SELECT sealed FROM preview_secrets WHERE import_id = $1")
            .bind(id)
            .fetch_optional(db)
            .await?;
    let sealed = sealed.ok_or_else(|| {
        Error::conflict("this preview's passwords are no longer kept: run Try Import again")
    })?;
    let plain = key.open(&sealed_context(id), &sealed).ok_or_else(|| {
        Error::conflict("this preview was made with another secret key: run Try Import again")
    })?;
    Ok(serde_json::from_slice(&plain).map_err(anyhow::Error::from)?)
}

/// Splits the supplied passwords off the rows (they are never stored).
fn take_passwords(rows: &mut [MappedRow]) -> HashMap<u32, String> {
    let mut out = HashMap::new();
    for row in rows.iter_mut() {
        let p = row.get(Field::Password);
        if !p.is_empty() {
            out.insert(row.row, p.to_string());
            row.set(Field::Password, "");
        }
    }
    out
}

pub(super) fn put_passwords(rows: &mut [MappedRow], passwords: &HashMap<u32, String>) {
    for row in rows.iter_mut() {
        if let Some(p) = passwords.get(&row.row) {
            row.set(Field::Password, p.as_str());
        }
    }
}

/// Try Import: classifies the rows and stores the preview. Returns it.
pub async fn create_preview(
    db: &db::Db,
    registry: &ImportRegistry,
    rules: &RuleOptions,
    actor: Actor,
    request: ImportRequest,
    now: i64,
) -> Result<ImportPreview> {
    check_shape(&request.rows)?;
    let mut conn = db.acquire().await?;
    let (role_name, role_permissions) = role(&mut conn, request.role_id).await?;
    let mut plan = classify(&mut conn, request.rows, request.hierarchy_id, rules).await?;
    apply_role(&mut plan, request.role_id, &role_name, role_permissions);
    check_access(&mut conn, actor, role_permissions, &plan).await?;
    add_directory_duplicates(&mut conn, &mut plan).await?;
    drop(conn);
    let start_path = plan.start_path.clone();
    // The rows are stored as checked: first and last names trimmed, which
    // the rules do silently, so the stored rows check again alike.
    let mut rows = plan.checked.rows.clone();
    let passwords = take_passwords(&mut rows);
    let rows_json = serde_json::to_string(&rows).map_err(anyhow::Error::from)?;
    let summary_json = serde_json::to_string(&plan.summary).map_err(anyhow::Error::from)?;
    let errors_json = serde_json::to_string(&plan.checked.errors).map_err(anyhow::Error::from)?;
    // The command line acts as no user (`user_pk` 0).
    let created_by_name: String = sqlx::query_scalar("SELECT username FROM users WHERE id = $1")
        .bind(actor.user_pk)
        .fetch_optional(db)
        .await?
        .unwrap_or_else(|| "(command line)".to_string());
    delete_expired_previews(db, registry, now).await?;
    let mut tx = db::begin(db).await?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO imports (state, created_by, created_by_name, created_at, expires_at, \
         file_name, sha256, role_id, role_name, hierarchy_id, hierarchy_path, rows_json, \
         fingerprint, summary_json, errors_json, passwords, total_rows) \
         VALUES ('preview', $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) \
         RETURNING id",
    )
    .bind(actor.user_pk)
    .bind(created_by_name)
    .bind(now)
    .bind(now + PREVIEW_TTL_SECS)
    .bind(&request.file_name)
    .bind(&request.sha256)
    .bind(request.role_id)
    .bind(role_name)
    .bind(request.hierarchy_id)
    .bind(start_path)
    .bind(rows_json)
    .bind(&plan.fingerprint)
    .bind(summary_json)
    .bind(errors_json)
    .bind(passwords.len() as i64)
    .bind(plan.summary.rows as i64)
    .fetch_one(&mut *tx)
    .await?;
    seal_passwords(&mut tx, &registry.key, id, &passwords).await?;
    tx.commit().await?;
    Ok(plan.preview(id))
}

#[derive(sqlx::FromRow)]
pub(super) struct StoredPreview {
    pub(super) file_name: String,
    pub(super) sha256: String,
    pub(super) role_id: i64,
    pub(super) hierarchy_id: i64,
    pub(super) rows_json: String,
    pub(super) fingerprint: String,
    pub(super) passwords: i64,
    pub(super) summary_json: String,
    pub(super) created_by: i64,
}

/// A preview is its maker's: only they commit or cancel it, so one
/// administrator never imports what another was still reviewing.
fn owned_by(created_by: i64, actor: Actor) -> Result<()> {
    if created_by == actor.user_pk {
        Ok(())
    } else {
        Err(Error::forbidden(
            "this preview was made by another administrator: run Try Import yourself",
        ))
    }
}

pub(super) async fn load_preview(
    db: &db::Db,
    id: i64,
    now: i64,
    actor: Actor,
) -> Result<StoredPreview> {
    let stored: Option<StoredPreview> = sqlx::query_as(
        "SELECT file_name, sha256, role_id, hierarchy_id, rows_json, fingerprint, passwords, \
         summary_json, created_by FROM imports \
         WHERE id = $1 AND state = 'preview' AND expires_at > $2",
    )
    .bind(id)
    .bind(now)
    .fetch_optional(db)
    .await?;
    let stored = stored.ok_or_else(|| {
        Error::not_found("no such preview: it expired, was cancelled or was already imported")
    })?;
    owned_by(stored.created_by, actor)?;
    Ok(stored)
}

/// Cancel by an administrator: discards their own preview. Returns whether
/// there was one.
pub async fn cancel_preview(
    db: &db::Db,
    registry: &ImportRegistry,
    id: i64,
    actor: Actor,
) -> Result<bool> {
    let owner: Option<i64> =
        sqlx::query_scalar("SELECT created_by FROM imports WHERE id = $1 AND state = 'preview'")
            .bind(id)
            .fetch_optional(db)
            .await?;
    match owner {
        None => Ok(false),
        Some(owner) => {
            owned_by(owner, actor)?;
            // Held as a commit holds it: 409 while its commit runs (which
            // would otherwise fail half-way or wait for the directory's
            // lock), and no commit starts while it is being discarded.
            let held = CommitTracker::claim(db, registry, id, being_committed).await?;
            let discarded = discard_preview(db, id).await;
            held.finish().await;
            discarded
        }
    }
}

fn being_committed() -> Error {
    Error::conflict(
        "this import is being committed and can no longer be cancelled; \
         wait for it to end, then see it in the history",
    )
}

/// Discards a preview. Returns whether there was one.
/// Its sealed passwords go with it (`ON DELETE CASCADE`).
pub async fn discard_preview(db: &db::Db, id: i64) -> Result<bool> {
    let deleted = sqlx::query("DELETE FROM imports WHERE id = $1 AND state = 'preview'")
        .bind(id)
        .execute(db)
        .await?
        .rows_affected();
    Ok(deleted > 0)
}

/// The rows and errors of a stored import, for its errors file. While it
/// is a preview it is its maker's, as for commit and cancel.
pub async fn stored_errors(
    db: &db::Db,
    id: i64,
    actor: Actor,
    now: i64,
) -> Result<(Vec<MappedRow>, Vec<RowError>)> {
    let stored: Option<(String, String, String, i64)> = sqlx::query_as(
        "SELECT rows_json, errors_json, state, created_by FROM imports \
         WHERE id = $1 AND (state <> 'preview' OR expires_at > $2)",
    )
    .bind(id)
    .bind(now)
    .fetch_optional(db)
    .await?;
    let (rows, errors, state, created_by) =
        stored.ok_or_else(|| Error::not_found("no such import"))?;
    if state == "preview" {
        owned_by(created_by, actor)?;
    }
    let rows = serde_json::from_str(&rows).map_err(anyhow::Error::from)?;
    let errors = serde_json::from_str(&errors).map_err(anyhow::Error::from)?;
    Ok((rows, errors))
}
