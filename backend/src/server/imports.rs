//! Imports against the directory (SPEC sections 5 and 6): classify checked
//! rows as create / sync / `in_use`, keep the preview, and commit it in one
//! transaction with bulk statements. The HTTP side is `http/imports.rs`.
//!
//! The rows are re-checked with `roster_shared::check_rows` (the same rules
//! as the browser); only the comparison with the directory lives here.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use roster_shared::rules::{identity_key, parse_yes_no};
use roster_shared::{CheckedRows, Field, MappedRow, RowError, RuleOptions, check_rows};
use serde::Serialize;
use serde::de::{self, Deserializer, SeqAccess, Visitor};
use sha2::{Digest, Sha256};
use sqlx::{AnyConnection, Connection};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use utoipa::ToSchema;

use crate::clock::Clock;
use crate::db::{self, Tx, username_key};
use crate::error::{Error, Result};
use crate::http::hierarchy::MAX_DEPTH;
use crate::password::{PasswordPolicy, hex};
use crate::permissions::Permissions;
use crate::search;
use crate::secret::SecretKey;

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
/// Values bound in one `IN (…)` list.
const IN_CHUNK: usize = 1000;
/// Placeholders in one multi-row statement (SQLite allows 32,766).
const MAX_BINDS: usize = 30_000;

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
async fn open_passwords(db: &db::Db, key: &SecretKey, id: i64) -> Result<HashMap<u32, String>> {
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
enum CommitTracker<'a> {
    Postgres {
        conn: AnyConnection,
        id: i64,
        done: usize,
        written: std::time::Instant,
    },
    Sqlite(SqliteRunning<'a>),
}

/// A commit this process runs on SQLite, until dropped.
struct SqliteRunning<'a> {
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
    async fn start(db: &db::Db, registry: &'a ImportRegistry, id: i64) -> Result<Self> {
        if db::DbKind::of_pool(db) == db::DbKind::Sqlite {
            let done = Arc::new(AtomicUsize::new(0));
            let mut running = locked(&registry.running);
            if running.contains_key(&id) {
                return Err(being_imported());
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
            return Err(being_imported());
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
    async fn advance(&mut self, rows: usize) {
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
    async fn finish(self) {
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

/// A user of the directory, as the comparison needs it.
#[derive(sqlx::FromRow, Clone)]
struct Existing {
    id: i64,
    first_name: String,
    last_name: String,
    username: String,
    email: String,
    user_id: String,
    role_id: i64,
    special_needs: Option<i64>,
    sync_key: Option<String>,
    time_zone: String,
    has_password: i64,
    deleted_at: Option<i64>,
}

const EXISTING_COLUMNS: &str = "id, first_name, last_name, username, email, user_id, role_id, \
    special_needs, sync_key, time_zone, \
    CAST(CASE WHEN password_hash IS NULL THEN 0 ELSE 1 END AS BIGINT) AS has_password, deleted_at";

/// A row's hierarchy node: one that exists, or one the import creates.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
enum NodeRef {
    Existing(i64),
    New(usize),
}

struct NewNode {
    parent: NodeRef,
    name: String,
    path: String,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Action {
    /// Some rule of section 4 failed (or `in_use`).
    Error,
    Create,
    Sync {
        user_pk: i64,
        unchanged: bool,
    },
}

/// The rows classified against the directory.
struct Plan {
    checked: CheckedRows,
    actions: Vec<Action>,
    nodes: Vec<NodeRef>,
    new_nodes: Vec<NewNode>,
    existing: HashMap<i64, Existing>,
    fingerprint: String,
    summary: ImportSummary,
    /// The start node's path.
    start_path: String,
}

impl Plan {
    fn preview(&self, id: i64) -> ImportPreview {
        let mut errors = Vec::new();
        let mut error_rows = 0;
        let mut last = None;
        for e in &self.checked.errors {
            if last != Some(e.row) {
                error_rows += 1;
                last = Some(e.row);
            }
            if error_rows > LISTED {
                break;
            }
            errors.push(e.clone());
        }
        let mut sync = Vec::new();
        let mut in_trash = Vec::new();
        for (row, action) in self.checked.rows.iter().zip(&self.actions) {
            if let Action::Sync { user_pk, .. } = action {
                if sync.len() < LISTED {
                    sync.push(SyncRow {
                        row: row.row,
                        username: row.get(Field::Username).to_string(),
                        user_id: row.get(Field::UserId).to_string(),
                    });
                }
                if self.existing[user_pk].deleted_at.is_some() {
                    in_trash.push(TrashRow {
                        row: row.row,
                        username: self.existing[user_pk].username.clone(),
                    });
                }
            }
        }
        ImportPreview {
            id,
            summary: self.summary.clone(),
            errors,
            sync,
            hierarchy_to_create: self.new_nodes.iter().map(|n| n.path.clone()).collect(),
            in_trash,
        }
    }
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

/// `items` in slices of at most `chunk`.
fn chunks<T>(items: &[T], chunk: usize) -> impl Iterator<Item = &[T]> {
    items.chunks(chunk.max(1))
}

/// How a bulk statement writes its placeholders. SQLite gets anonymous `?`:
/// with numbered `$N` it looks each parameter's name up in a list, so
/// binding a statement of n parameters costs n² (a 30,000-value INSERT
/// took a second); PostgreSQL needs `$N`. Both are bound in order.
#[derive(Clone, Copy)]
enum Style {
    Anonymous,
    Numbered,
}

fn style(conn: &AnyConnection) -> Style {
    if conn.backend_name().eq_ignore_ascii_case("sqlite") {
        Style::Anonymous
    } else {
        Style::Numbered
    }
}

fn placeholders(style: Style, first: usize, count: usize) -> String {
    (first..first + count)
        .map(|i| match style {
            Style::Anonymous => "?".to_string(),
            Style::Numbered => format!("${i}"),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// `($1, $2, $3), ($4, $5, $6), …` for `rows` tuples of `width`.
fn values_list(style: Style, rows: usize, width: usize) -> String {
    (0..rows)
        .map(|r| format!("({})", placeholders(style, r * width + 1, width)))
        .collect::<Vec<_>>()
        .join(", ")
}

async fn load_users_by(
    conn: &mut AnyConnection,
    column: &str,
    keys: &[String],
    into: &mut HashMap<i64, Existing>,
) -> sqlx::Result<()> {
    for part in chunks(keys, IN_CHUNK) {
        let sql = format!(
            "SELECT {EXISTING_COLUMNS} FROM users WHERE {column} IN ({})",
            placeholders(style(conn), 1, part.len())
        );
        let mut query = sqlx::query_as::<_, Existing>(&sql);
        for k in part {
            query = query.bind(k);
        }
        for user in query.fetch_all(&mut *conn).await? {
            into.insert(user.id, user);
        }
    }
    Ok(())
}

async fn load_memberships(
    conn: &mut AnyConnection,
    users: &[i64],
) -> sqlx::Result<HashSet<(i64, i64)>> {
    let mut out = HashSet::new();
    for part in chunks(users, IN_CHUNK) {
        let sql = format!(
            "SELECT user_pk, node_id FROM user_memberships WHERE user_pk IN ({})",
            placeholders(style(conn), 1, part.len())
        );
        let mut query = sqlx::query_as::<_, (i64, i64)>(&sql);
        for id in part {
            query = query.bind(*id);
        }
        out.extend(query.fetch_all(&mut *conn).await?);
    }
    Ok(out)
}

/// The hierarchy: `(parent, lowercase name) → id` and each node's path.
/// The tree is small next to the users: it is read whole.
struct Tree {
    children: HashMap<(i64, String), i64>,
    paths: HashMap<i64, String>,
    /// The start node's level, the root being 1.
    start_depth: usize,
}

async fn load_tree(conn: &mut AnyConnection, start: i64) -> Result<Tree> {
    let nodes = crate::http::hierarchy::all_nodes(&mut *conn).await?;
    let parents: HashMap<i64, Option<i64>> = nodes.iter().map(|n| (n.id, n.parent_id)).collect();
    // Counted up to one past the limit: a damaged table's cycle ends there.
    let mut start_depth = 1;
    let mut up = parents.get(&start).copied().flatten();
    while let Some(parent) = up
        && start_depth <= MAX_DEPTH
    {
        start_depth += 1;
        up = parents.get(&parent).copied().flatten();
    }
    let tree = Tree {
        children: nodes
            .iter()
            .filter_map(|n| n.parent_id.map(|p| ((p, n.name.to_lowercase()), n.id)))
            .collect(),
        paths: nodes.into_iter().map(|n| (n.id, n.path)).collect(),
        start_depth,
    };
    if !tree.paths.contains_key(&start) {
        return Err(Error::invalid(
            "hierarchy_id",
            "not_found",
            "Hierarchy: no such node",
        ));
    }
    Ok(tree)
}

/// Classifies every row (SPEC section 5). Reads only; run inside the
/// commit's transaction to see what the commit will write over.
async fn classify(
    conn: &mut AnyConnection,
    rows: Vec<MappedRow>,
    hierarchy_id: i64,
    rules: &RuleOptions,
) -> Result<Plan> {
    let mut checked = check_rows(rows, rules);
    let tree = load_tree(conn, hierarchy_id).await?;
    let start_path = tree.paths[&hierarchy_id].clone();

    let index_of: HashMap<u32, usize> = checked
        .rows
        .iter()
        .enumerate()
        .map(|(i, r)| (r.row, i))
        .collect();
    let mut has_error = vec![false; checked.rows.len()];
    for e in &checked.errors {
        if let Some(&i) = index_of.get(&e.row) {
            has_error[i] = true;
        }
    }

    // Every user the rows could touch, in a few bulk reads: by username,
    // then by user ID only where the row's username did not already find
    // the ID's holder (a sync that keeps its ID reads its user once).
    let mut keys = Vec::new();
    for (row, _) in checked.rows.iter().zip(&has_error).filter(|(_, e)| !**e) {
        keys.push(identity_key(Field::Username, row.get(Field::Username)));
    }
    let mut existing = HashMap::new();
    load_users_by(conn, "username_key", &keys, &mut existing).await?;
    let by_key: HashMap<String, i64> = existing
        .values()
        .map(|u| (username_key(&u.username), u.id))
        .collect();
    let mut ids = Vec::new();
    for ((row, _), key) in checked
        .rows
        .iter()
        .zip(&has_error)
        .filter(|(_, e)| !**e)
        .zip(&keys)
    {
        let id = row.get(Field::UserId);
        let held_by_own = by_key.get(key).is_some_and(|pk| existing[pk].user_id == id);
        if !held_by_own {
            ids.push(id.to_string());
        }
    }
    load_users_by(conn, "user_id", &ids, &mut existing).await?;
    let by_user_id: HashMap<&str, i64> = existing
        .values()
        .map(|u| (u.user_id.as_str(), u.id))
        .collect();
    let matched: Vec<i64> = keys.iter().filter_map(|k| by_key.get(k).copied()).collect();
    let memberships = load_memberships(conn, &matched).await?;

    let mut new_nodes: Vec<NewNode> = Vec::new();
    let mut new_index: HashMap<(NodeRef, String), usize> = HashMap::new();
    let mut nodes = Vec::with_capacity(checked.rows.len());
    let mut actions = Vec::with_capacity(checked.rows.len());
    let mut in_use = Vec::new();
    let mut summary = ImportSummary {
        rows: checked.rows.len(),
        ..ImportSummary::default()
    };
    let mut fingerprint = Sha256::new();
    for (i, row) in checked.rows.iter().enumerate() {
        // `in_use` first: such a row creates no node.
        let key = identity_key(Field::Username, row.get(Field::Username));
        let owner = by_key.get(&key).copied();
        if !has_error[i]
            && let Some(holder) = by_user_id.get(row.get(Field::UserId))
            && Some(*holder) != owner
        {
            in_use.push(RowError::in_use(row.row, &existing[holder].username));
            has_error[i] = true;
        }
        // The row's node: existing ones by name (any case), the rest new.
        let mut node = NodeRef::Existing(hierarchy_id);
        let mut path = start_path.clone();
        for (below, level) in Field::SUB_LEVELS.into_iter().enumerate() {
            let name = row.get(level);
            if name.is_empty() || has_error[i] {
                break;
            }
            // The tree's depth bound holds for imported nodes too.
            if tree.start_depth + below + 1 > MAX_DEPTH {
                return Err(Error::invalid(
                    "hierarchy_id",
                    "too_deep",
                    format!(
                        "Row {}: its sub-levels would make the hierarchy deeper than {MAX_DEPTH} levels",
                        row.row
                    ),
                ));
            }
            let key = name.to_lowercase();
            node = match node {
                NodeRef::Existing(parent) if tree.children.contains_key(&(parent, key.clone())) => {
                    let child = tree.children[&(parent, key)];
                    path.clone_from(&tree.paths[&child]);
                    NodeRef::Existing(child)
                }
                parent => {
                    path = format!("{path}/{name}");
                    let next = new_nodes.len();
                    let index = *new_index.entry((parent, key)).or_insert(next);
                    if index == next {
                        new_nodes.push(NewNode {
                            parent,
                            name: name.to_string(),
                            path: path.clone(),
                        });
                    }
                    NodeRef::New(index)
                }
            };
        }
        nodes.push(node);

        let action = match (has_error[i], owner) {
            (true, _) => Action::Error,
            (false, None) => Action::Create,
            (false, Some(user_pk)) => Action::Sync {
                user_pk,
                unchanged: unchanged(row, &existing[&user_pk], node, &memberships),
            },
        };
        match action {
            Action::Error => {
                summary.with_errors += 1;
                fingerprint.update(format!("{}:e\n", row.row));
            }
            Action::Create => {
                summary.to_create += 1;
                fingerprint.update(format!("{}:c\n", row.row));
            }
            Action::Sync { user_pk, unchanged } => {
                summary.to_sync += 1;
                summary.unchanged += usize::from(unchanged);
                fingerprint.update(format!("{}:s{user_pk}:{unchanged}\n", row.row));
            }
        }
        // The node the row lands in: a rename or move meanwhile must not
        // make the commit create a node the preview never listed.
        if action != Action::Error {
            fingerprint.update(match node {
                NodeRef::Existing(id) => format!("n{id}\n"),
                NodeRef::New(i) => format!("p{}\n", new_nodes[i].path),
            });
        }
        actions.push(action);
    }
    if !in_use.is_empty() {
        // `in_use` rows had no other error: merge them in row order.
        checked.errors.extend(in_use);
        checked
            .errors
            .sort_by_key(|e| index_of.get(&e.row).copied());
    }
    Ok(Plan {
        checked,
        actions,
        nodes,
        new_nodes,
        existing,
        fingerprint: hex(&fingerprint.finalize()),
        summary,
        start_path,
    })
}

/// Whether syncing `row` into `user` would change nothing. A supplied
/// password always counts as a change (hashes cannot be compared).
fn unchanged(
    row: &MappedRow,
    user: &Existing,
    node: NodeRef,
    memberships: &HashSet<(i64, i64)>,
) -> bool {
    let same_optional = |field: Field, current: Option<&str>| {
        let value = row.get(field);
        value.is_empty() || Some(value) == current
    };
    let special = row.get(Field::SpecialNeeds);
    row.get(Field::FirstName) == user.first_name
        && row.get(Field::LastName) == user.last_name
        && row.get(Field::Email) == user.email
        && row.get(Field::UserId) == user.user_id
        && row.get(Field::Password).is_empty()
        && (special.is_empty() || parse_yes_no(special).map(i64::from) == user.special_needs)
        && same_optional(Field::SyncKey, user.sync_key.as_deref())
        && same_optional(Field::TimeZone, Some(&user.time_zone))
        && matches!(node, NodeRef::Existing(n) if memberships.contains(&(user.id, n)))
    // The role is compared by `apply_role` (the same for every row).
}

/// The role's name and permissions, or 422.
async fn role(conn: &mut AnyConnection, role_id: i64) -> Result<(String, Permissions)> {
    let row: Option<(String, i64)> =
        sqlx::query_as("SELECT name, permissions FROM roles WHERE id = $1")
            .bind(role_id)
            .fetch_optional(&mut *conn)
            .await?;
    row.map(|(name, bits)| (name, Permissions::from_bits(bits)))
        .ok_or_else(|| Error::invalid("role_id", "not_found", "Role: no such role"))
}

/// 403 unless the actor may give the role and may change every user the
/// import synchronises (the rule of `PUT /api/users/{id}`).
async fn check_access(
    conn: &mut AnyConnection,
    actor: Actor,
    role_permissions: Permissions,
    plan: &Plan,
) -> Result<()> {
    if !actor.permissions.covers(role_permissions) {
        return Err(Error::forbidden(
            "you cannot give this role: it needs permissions your role lacks",
        ));
    }
    let roles: Vec<(i64, i64)> = sqlx::query_as("SELECT id, permissions FROM roles")
        .fetch_all(&mut *conn)
        .await?;
    let roles: HashMap<i64, Permissions> = roles
        .into_iter()
        .map(|(id, bits)| (id, Permissions::from_bits(bits)))
        .collect();
    for (row, action) in plan.checked.rows.iter().zip(&plan.actions) {
        if let Action::Sync { user_pk, .. } = action {
            let user = &plan.existing[user_pk];
            if !roles
                .get(&user.role_id)
                .is_none_or(|p| actor.permissions.covers(*p))
            {
                return Err(Error::forbidden(format!(
                    "row {}: you cannot change the user {}: their role holds permissions yours lacks",
                    row.row, user.username
                )));
            }
        }
    }
    Ok(())
}

/// Counts a row as unchanged only if its user already has the role, and
/// adds the role as it is now to the fingerprint.
fn apply_role(plan: &mut Plan, role_id: i64, role_name: &str, role_permissions: Permissions) {
    for action in plan.actions.iter_mut() {
        if let Action::Sync { user_pk, unchanged } = action
            && *unchanged
            && plan.existing[user_pk].role_id != role_id
        {
            *unchanged = false;
            plan.summary.unchanged -= 1;
        }
    }
    // The fingerprint covers the role too: which one, its name and what
    // it allows, as the preview showed them.
    let mut h = Sha256::new();
    h.update(plan.fingerprint.as_bytes());
    h.update(format!(
        "r{role_id}:{}:{role_name}\n",
        role_permissions.bits()
    ));
    for action in &plan.actions {
        if let Action::Sync { unchanged, .. } = action {
            h.update([u8::from(*unchanged)]);
        }
    }
    plan.fingerprint = hex(&h.finalize());
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

fn put_passwords(rows: &mut [MappedRow], passwords: &HashMap<u32, String>) {
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
struct StoredPreview {
    file_name: String,
    sha256: String,
    role_id: i64,
    hierarchy_id: i64,
    rows_json: String,
    fingerprint: String,
    passwords: i64,
    summary_json: String,
    created_by: i64,
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

async fn load_preview(db: &db::Db, id: i64, now: i64, actor: Actor) -> Result<StoredPreview> {
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
pub async fn cancel_preview(db: &db::Db, id: i64, actor: Actor) -> Result<bool> {
    let owner: Option<i64> =
        sqlx::query_scalar("SELECT created_by FROM imports WHERE id = $1 AND state = 'preview'")
            .bind(id)
            .fetch_optional(db)
            .await?;
    match owner {
        None => Ok(false),
        Some(owner) => {
            owned_by(owner, actor)?;
            discard_preview(db, id).await
        }
    }
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

/// How a commit ended when it did not commit.
pub enum CommitRefused {
    /// The directory changed: a fresh preview (already stored).
    Stale(Box<ImportPreview>),
    Error(Error),
}

impl From<Error> for CommitRefused {
    fn from(e: Error) -> Self {
        CommitRefused::Error(e)
    }
}

impl From<sqlx::Error> for CommitRefused {
    fn from(e: sqlx::Error) -> Self {
        CommitRefused::Error(Error::Database(e))
    }
}

/// Argon2id of every supplied password of the rows that will be written,
/// on all cores, before any transaction begins.
async fn hash_passwords(
    policy: PasswordPolicy,
    passwords: Vec<(u32, String)>,
) -> Result<HashMap<u32, String>> {
    if passwords.is_empty() {
        return Ok(HashMap::new());
    }
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    let per = passwords.len().div_ceil(workers);
    let mut tasks = Vec::new();
    let mut rest = passwords;
    while !rest.is_empty() {
        let tail = rest.split_off(per.min(rest.len()));
        let part = std::mem::replace(&mut rest, tail);
        // One of the process's bounded hashers per chunk (waiting its turn):
        // sign-ins keep the others.
        let permit = crate::password::hashing_permit().await;
        tasks.push(tokio::task::spawn_blocking(move || {
            let _permit = permit;
            part.into_iter()
                .map(|(row, p)| policy.hash(&p).map(|h| (row, h)))
                .collect::<anyhow::Result<Vec<_>>>()
        }));
    }
    let mut out = HashMap::new();
    for task in tasks {
        out.extend(task.await.map_err(anyhow::Error::from)??);
    }
    Ok(out)
}

/// Import: applies the preview `id` in one transaction (SPEC section 6).
#[allow(clippy::too_many_arguments)]
pub async fn commit(
    db: &db::Db,
    registry: &ImportRegistry,
    rules: &RuleOptions,
    policy: PasswordPolicy,
    actor: Actor,
    id: i64,
    skip_errors: bool,
    now: i64,
) -> std::result::Result<CommitResult, CommitRefused> {
    let stored = load_preview(db, id, now, actor).await?;
    let summary: ImportSummary = serde_json::from_str(&stored.summary_json)
        .map_err(anyhow::Error::from)
        .map_err(Error::from)?;
    if summary.with_errors > 0 && !skip_errors {
        return Err(Error::invalid(
            "skip_errors",
            "rows_with_errors",
            format!(
                "{} rows have errors: fix them, or confirm to skip them (skip_errors)",
                summary.with_errors
            ),
        )
        .into());
    }
    let mut rows: Vec<MappedRow> = serde_json::from_str(&stored.rows_json)
        .map_err(anyhow::Error::from)
        .map_err(Error::from)?;
    let passwords = if stored.passwords > 0 {
        open_passwords(db, &registry.key, id).await?
    } else {
        HashMap::new()
    };
    put_passwords(&mut rows, &passwords);
    let mut tracker = CommitTracker::start(db, registry, id).await?;
    let outcome = commit_running(
        db,
        registry,
        rules,
        policy,
        actor,
        (id, stored),
        rows,
        &passwords,
        now,
        &mut tracker,
    )
    .await;
    tracker.finish().await;
    outcome
}

/// The commit once marked running: hashes, then writes in one transaction.
#[allow(clippy::too_many_arguments)]
async fn commit_running(
    db: &db::Db,
    registry: &ImportRegistry,
    rules: &RuleOptions,
    policy: PasswordPolicy,
    actor: Actor,
    (id, stored): (i64, StoredPreview),
    rows: Vec<MappedRow>,
    passwords: &HashMap<u32, String>,
    now: i64,
    tracker: &mut CommitTracker<'_>,
) -> std::result::Result<CommitResult, CommitRefused> {
    // Hash before the transaction: the passwords of rows without rule errors
    // (a row that turns out `in_use` makes the preview stale anyway).
    let checked_once = check_rows(rows.clone(), rules);
    let erroneous: HashSet<u32> = checked_once.errors.iter().map(|e| e.row).collect();
    let to_hash: Vec<(u32, String)> = checked_once
        .rows
        .iter()
        .filter(|r| !erroneous.contains(&r.row) && !r.get(Field::Password).is_empty())
        .map(|r| (r.row, r.get(Field::Password).to_string()))
        .collect();
    drop(checked_once);
    let hashes = hash_passwords(policy, to_hash).await?;

    let mut tx = db::begin_directory_write(db).await?;
    // The preview may have been committed by someone else meanwhile.
    let still: Option<i64> =
        sqlx::query_scalar("SELECT id FROM imports WHERE id = $1 AND state = 'preview'")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
    if still.is_none() {
        return Err(Error::not_found("no such preview: it was already imported").into());
    }
    let (role_name, role_permissions) = role(&mut tx, stored.role_id).await?;
    let mut plan = classify(&mut tx, rows, stored.hierarchy_id, rules).await?;
    apply_role(&mut plan, stored.role_id, &role_name, role_permissions);
    if plan.fingerprint != stored.fingerprint {
        tx.rollback().await?;
        let mut rows = plan.checked.rows;
        put_passwords(&mut rows, passwords);
        let fresh = create_preview(
            db,
            registry,
            rules,
            actor,
            ImportRequest {
                file_name: stored.file_name,
                sha256: stored.sha256,
                role_id: stored.role_id,
                hierarchy_id: stored.hierarchy_id,
                rows,
            },
            now,
        )
        .await?;
        discard_preview(db, id).await?;
        return Err(CommitRefused::Stale(Box::new(fresh)));
    }
    check_access(&mut tx, actor, role_permissions, &plan).await?;

    let result = write(&mut tx, &plan, stored.role_id, &hashes, id, now, tracker).await?;
    crate::http::users::ensure_full_administrator_remains(&mut tx).await?;
    sqlx::query(
        "UPDATE imports SET state = 'done', created = $1, synced = $2, skipped = $3, \
         progress_done = total_rows, committed_at = $4, committed_by = $5 WHERE id = $6",
    )
    .bind(result.created as i64)
    .bind(result.synced as i64)
    .bind(result.skipped as i64)
    .bind(now)
    .bind(actor.user_pk)
    .bind(id)
    .execute(&mut *tx)
    .await?;
    // The passwords were needed until now only: the import keeps none.
    sqlx::query("DELETE FROM preview_secrets WHERE import_id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await.map_err(unique_conflict)?;
    Ok(result)
}

fn unique_conflict(e: sqlx::Error) -> CommitRefused {
    if db::is_unique_violation(&e) {
        Error::conflict("a username, user ID or node was taken at the same moment; try again")
            .into()
    } else {
        e.into()
    }
}

/// A user's values in the import history (never a password or hash).
#[derive(Serialize)]
struct UserValues<'a> {
    first_name: &'a str,
    last_name: &'a str,
    username: &'a str,
    email: &'a str,
    user_id: &'a str,
    role_id: i64,
    special_needs: Option<bool>,
    sync_key: Option<&'a str>,
    time_zone: &'a str,
    has_password: bool,
    in_trash: bool,
    /// The node the import placed the user in (after only).
    #[serde(skip_serializing_if = "Option::is_none")]
    hierarchy_id: Option<i64>,
}

fn json(v: &impl Serialize) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

fn non_empty(row: &MappedRow, field: Field) -> Option<&str> {
    Some(row.get(field)).filter(|v| !v.is_empty())
}

/// Writes the plan: nodes, new users, synchronised users, memberships,
/// search terms, history. Multi-row statements in chunks throughout.
async fn write(
    tx: &mut Tx,
    plan: &Plan,
    role_id: i64,
    hashes: &HashMap<u32, String>,
    import_id: i64,
    now: i64,
    tracker: &mut CommitTracker<'_>,
) -> std::result::Result<CommitResult, CommitRefused> {
    let bulk = style(tx);
    // Nodes: one statement per new node, parents first (they are few).
    let mut node_ids: Vec<i64> = Vec::with_capacity(plan.new_nodes.len());
    for node in &plan.new_nodes {
        let parent = match node.parent {
            NodeRef::Existing(id) => id,
            NodeRef::New(i) => node_ids[i],
        };
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO hierarchy_nodes (parent_id, name, name_key) VALUES ($1, $2, $3) RETURNING id",
        )
        .bind(parent)
        .bind(&node.name)
        .bind(node.name.to_lowercase())
        .fetch_one(&mut **tx)
        .await
        .map_err(unique_conflict)?;
        node_ids.push(id);
    }
    let node_of = |n: NodeRef| match n {
        NodeRef::Existing(id) => id,
        NodeRef::New(i) => node_ids[i],
    };
    let site_zone = crate::http::settings::site_time_zone(&mut **tx).await?;

    let mut result = CommitResult {
        created: 0,
        synced: 0,
        skipped: 0,
    };
    let mut creates: Vec<usize> = Vec::new();
    let mut syncs: Vec<usize> = Vec::new();
    for (i, action) in plan.actions.iter().enumerate() {
        match action {
            Action::Error => result.skipped += 1,
            Action::Create => creates.push(i),
            Action::Sync { unchanged, .. } => {
                result.synced += 1;
                if !unchanged {
                    syncs.push(i);
                }
            }
        }
    }
    result.created = creates.len();

    let mut history: Vec<(u32, i64, &str, Option<String>, String)> = Vec::new();
    let mut terms: Vec<(String, i64, String, i64)> = Vec::new();
    let mut memberships: Vec<(i64, i64)> = Vec::new();

    // New users: 14 values each.
    const USER_WIDTH: usize = 14;
    for part in chunks(&creates, MAX_BINDS / USER_WIDTH) {
        let sql = format!(
            "INSERT INTO users (first_name, last_name, username, username_key, email, user_id, \
             password_hash, role_id, special_needs, sync_key, time_zone, sort_key, created_at, \
             updated_at) VALUES {} RETURNING id, username_key",
            values_list(bulk, part.len(), USER_WIDTH)
        );
        let mut query = sqlx::query_as::<_, (i64, String)>(&sql);
        for &i in part {
            let row = &plan.checked.rows[i];
            query = query
                .bind(row.get(Field::FirstName))
                .bind(row.get(Field::LastName))
                .bind(row.get(Field::Username))
                .bind(username_key(row.get(Field::Username)))
                .bind(row.get(Field::Email))
                .bind(row.get(Field::UserId))
                .bind(hashes.get(&row.row).cloned())
                .bind(role_id)
                .bind(parse_yes_no(row.get(Field::SpecialNeeds)).map(i64::from))
                .bind(non_empty(row, Field::SyncKey).map(str::to_string))
                .bind(
                    non_empty(row, Field::TimeZone)
                        .unwrap_or(&site_zone)
                        .to_string(),
                )
                .bind(search::sort_key(
                    row.get(Field::FirstName),
                    row.get(Field::LastName),
                    row.get(Field::Username),
                ))
                .bind(now)
                .bind(now);
        }
        let ids: HashMap<String, i64> = query
            .fetch_all(&mut **tx)
            .await
            .map_err(unique_conflict)?
            .into_iter()
            .map(|(id, key)| (key, id))
            .collect();
        for &i in part {
            let row = &plan.checked.rows[i];
            let user_pk = ids
                .get(&username_key(row.get(Field::Username)))
                .copied()
                .ok_or_else(|| Error::Internal(anyhow::anyhow!("an inserted user has no id")))?;
            let node = node_of(plan.nodes[i]);
            memberships.push((user_pk, node));
            add_terms(&mut terms, user_pk, row, true);
            let after = UserValues {
                first_name: row.get(Field::FirstName),
                last_name: row.get(Field::LastName),
                username: row.get(Field::Username),
                email: row.get(Field::Email),
                user_id: row.get(Field::UserId),
                role_id,
                special_needs: parse_yes_no(row.get(Field::SpecialNeeds)),
                sync_key: non_empty(row, Field::SyncKey),
                time_zone: non_empty(row, Field::TimeZone).unwrap_or(&site_zone),
                has_password: hashes.contains_key(&row.row),
                in_trash: false,
                hierarchy_id: Some(node),
            };
            history.push((row.row, user_pk, "create", None, json(&after)));
        }
        tracker.advance(part.len()).await;
    }

    // Synchronised users: one UPDATE … FROM (VALUES …) per chunk.
    const SYNC_WIDTH: usize = 11;
    let mut reindexed_pks = Vec::new();
    // Users given a new password: their sessions end, as on PUT.
    let mut new_password_pks = Vec::new();
    for part in chunks(&syncs, MAX_BINDS / SYNC_WIDTH) {
        let sql = format!(
            "UPDATE users SET first_name = v.column2, last_name = v.column3, email = v.column4, \
             user_id = v.column5, password_hash = COALESCE(v.column6, password_hash), \
             role_id = v.column7, special_needs = COALESCE(v.column8, special_needs), \
             sync_key = COALESCE(v.column9, sync_key), time_zone = COALESCE(v.column10, time_zone), \
             sort_key = v.column11, updated_at = {now} \
             FROM (VALUES {}) AS v WHERE users.id = v.column1",
            values_list(bulk, part.len(), SYNC_WIDTH)
        );
        let mut query = sqlx::query(&sql);
        for &i in part {
            let row = &plan.checked.rows[i];
            let Action::Sync { user_pk, .. } = plan.actions[i] else {
                continue;
            };
            let user = &plan.existing[&user_pk];
            query = query
                .bind(user_pk)
                .bind(row.get(Field::FirstName))
                .bind(row.get(Field::LastName))
                .bind(row.get(Field::Email))
                .bind(row.get(Field::UserId))
                .bind(hashes.get(&row.row).cloned())
                .bind(role_id)
                .bind(parse_yes_no(row.get(Field::SpecialNeeds)).map(i64::from))
                .bind(non_empty(row, Field::SyncKey).map(str::to_string))
                .bind(non_empty(row, Field::TimeZone).map(str::to_string))
                .bind(search::sort_key(
                    row.get(Field::FirstName),
                    row.get(Field::LastName),
                    &user.username,
                ));
        }
        query.execute(&mut **tx).await.map_err(unique_conflict)?;
        for &i in part {
            let row = &plan.checked.rows[i];
            let Action::Sync { user_pk, .. } = plan.actions[i] else {
                continue;
            };
            let user = &plan.existing[&user_pk];
            let node = node_of(plan.nodes[i]);
            memberships.push((user_pk, node));
            if hashes.contains_key(&row.row) {
                new_password_pks.push(user_pk);
            }
            let mut renamed = row.clone();
            renamed.set(Field::Username, user.username.as_str());
            // Most syncs change nothing that is searched: their terms stay.
            if search_fields_changed(user, &renamed) {
                reindexed_pks.push(user_pk);
                add_terms(&mut terms, user_pk, &renamed, user.deleted_at.is_none());
            }
            let before = UserValues {
                first_name: &user.first_name,
                last_name: &user.last_name,
                username: &user.username,
                email: &user.email,
                user_id: &user.user_id,
                role_id: user.role_id,
                special_needs: user.special_needs.map(|v| v != 0),
                sync_key: user.sync_key.as_deref(),
                time_zone: &user.time_zone,
                has_password: user.has_password != 0,
                in_trash: user.deleted_at.is_some(),
                hierarchy_id: None,
            };
            let after = UserValues {
                first_name: row.get(Field::FirstName),
                last_name: row.get(Field::LastName),
                username: &user.username,
                email: row.get(Field::Email),
                user_id: row.get(Field::UserId),
                role_id,
                special_needs: parse_yes_no(row.get(Field::SpecialNeeds)).or(before.special_needs),
                sync_key: non_empty(row, Field::SyncKey).or(before.sync_key),
                time_zone: non_empty(row, Field::TimeZone).unwrap_or(&user.time_zone),
                has_password: before.has_password || hashes.contains_key(&row.row),
                in_trash: before.in_trash,
                hierarchy_id: Some(node),
            };
            history.push((row.row, user_pk, "sync", Some(json(&before)), json(&after)));
        }
        tracker.advance(part.len()).await;
    }
    for (table, pks) in [
        ("user_search_terms", &reindexed_pks),
        ("sessions", &new_password_pks),
    ] {
        for part in chunks(pks, IN_CHUNK) {
            let sql = format!(
                "DELETE FROM {table} WHERE user_pk IN ({})",
                placeholders(bulk, 1, part.len())
            );
            let mut query = sqlx::query(&sql);
            for pk in part {
                query = query.bind(*pk);
            }
            query.execute(&mut **tx).await?;
        }
    }
    for part in chunks(&terms, MAX_BINDS / 4) {
        let sql = format!(
            "INSERT INTO user_search_terms (term, user_pk, sort_key, active) VALUES {}",
            values_list(bulk, part.len(), 4)
        );
        let mut query = sqlx::query(&sql);
        for (term, pk, sort_key, active) in part {
            query = query.bind(term).bind(*pk).bind(sort_key).bind(*active);
        }
        query.execute(&mut **tx).await?;
    }
    for part in chunks(&memberships, MAX_BINDS / 2) {
        let sql = format!(
            "INSERT INTO user_memberships (user_pk, node_id) VALUES {} ON CONFLICT DO NOTHING",
            values_list(bulk, part.len(), 2)
        );
        let mut query = sqlx::query(&sql);
        for (pk, node) in part {
            query = query.bind(*pk).bind(*node);
        }
        query.execute(&mut **tx).await?;
    }
    for part in chunks(&history, MAX_BINDS / 6) {
        let sql = format!(
            "INSERT INTO import_changes (import_id, row_number, user_pk, action, before_json, \
             after_json) VALUES {}",
            values_list(bulk, part.len(), 6)
        );
        let mut query = sqlx::query(&sql);
        for (row, pk, action, before, after) in part {
            query = query
                .bind(import_id)
                .bind(i64::from(*row))
                .bind(*pk)
                .bind(*action)
                .bind(before.clone())
                .bind(after.clone());
        }
        query.execute(&mut **tx).await?;
    }
    tracker
        .advance(result.skipped + result.synced - syncs.len())
        .await;
    Ok(result)
}

/// The search terms of a user as `db::insert_user` writes them.
/// Whether a synchronised user's search terms or sort key change: only then
/// are their `user_search_terms` rows rewritten (a sync that leaves the
/// names, username, email and user ID as they were writes none; they were
/// 60 % of a 100,000-row sync's commit, docs/PERFORMANCE.md).
fn search_fields_changed(user: &Existing, row: &MappedRow) -> bool {
    let fields = |first: &str, last: &str, username: &str, email: &str, user_id: &str| {
        (
            search::sort_key(first, last, username),
            search::terms(&[first, last, username, email, user_id]),
        )
    };
    fields(
        &user.first_name,
        &user.last_name,
        &user.username,
        &user.email,
        &user.user_id,
    ) != fields(
        row.get(Field::FirstName),
        row.get(Field::LastName),
        row.get(Field::Username),
        row.get(Field::Email),
        row.get(Field::UserId),
    )
}

fn add_terms(
    out: &mut Vec<(String, i64, String, i64)>,
    user_pk: i64,
    row: &MappedRow,
    active: bool,
) {
    let sort_key = search::sort_key(
        row.get(Field::FirstName),
        row.get(Field::LastName),
        row.get(Field::Username),
    );
    for term in search::terms(&[
        row.get(Field::FirstName),
        row.get(Field::LastName),
        row.get(Field::Username),
        row.get(Field::Email),
        row.get(Field::UserId),
    ]) {
        out.push((term, user_pk, sort_key.clone(), i64::from(active)));
    }
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

/// The fields of the errors file and the template: SPEC section 2's
/// columns. The password is left out of the errors file: it is never
/// returned (an empty password changes nothing on a second import).
fn sheet_fields(with_password: bool) -> Vec<Field> {
    Field::ALL
        .into_iter()
        .filter(|f| with_password || *f != Field::Password)
        .collect()
}

/// A cell as text that a spreadsheet never runs as a formula: every cell is
/// written as a string, and those starting like a formula (`=`, `+`, `-`,
/// `@`, tab, CR) also get the quote prefix, so editing them keeps them text.
fn write_text(
    sheet: &mut rust_xlsxwriter::Worksheet,
    row: u32,
    col: u16,
    value: &str,
    quoted: &rust_xlsxwriter::Format,
) -> std::result::Result<(), rust_xlsxwriter::XlsxError> {
    if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        sheet.write_string_with_format(row, col, value, quoted)?;
    } else if !value.is_empty() {
        sheet.write_string(row, col, value)?;
    }
    Ok(())
}

/// The rows with errors, as uploaded (names trimmed, passwords left out),
/// with the spreadsheet's row number first and every message last.
pub fn errors_workbook(rows: &[MappedRow], errors: &[RowError]) -> anyhow::Result<Vec<u8>> {
    use rust_xlsxwriter::{Format, Workbook};
    let mut messages: HashMap<u32, Vec<&str>> = HashMap::new();
    for e in errors {
        messages.entry(e.row).or_default().push(&e.message);
    }
    let fields = sheet_fields(false);
    let bold = Format::new().set_bold();
    let quoted = Format::new().set_quote_prefix();
    let mut workbook = Workbook::new();
    let sheet = workbook.add_worksheet();
    sheet.set_name("Errors")?;
    sheet.write_string_with_format(0, 0, "Row", &bold)?;
    for (c, field) in fields.iter().enumerate() {
        sheet.write_string_with_format(0, col(c + 1)?, field.label(), &bold)?;
    }
    let error_col = col(fields.len() + 1)?;
    sheet.write_string_with_format(0, error_col, "Errors", &bold)?;
    sheet.set_column_width(error_col, 60)?;
    let mut r = 1u32;
    for row in rows {
        let Some(list) = messages.get(&row.row) else {
            continue;
        };
        sheet.write_number(r, 0, f64::from(row.row))?;
        for (c, field) in fields.iter().enumerate() {
            write_text(sheet, r, col(c + 1)?, row.get(*field), &quoted)?;
        }
        write_text(sheet, r, error_col, &list.join("; "), &quoted)?;
        r += 1;
    }
    Ok(workbook.save_to_buffer()?)
}

fn col(c: usize) -> anyhow::Result<u16> {
    Ok(u16::try_from(c)?)
}

/// The example file: SPEC section 2's headers and two sample rows.
pub fn template_workbook() -> anyhow::Result<Vec<u8>> {
    use rust_xlsxwriter::{Format, Workbook};
    let fields = sheet_fields(true);
    let samples: [&[(Field, &str)]; 2] = [
        &[
            (Field::FirstName, "Zoë"),
            (Field::LastName, "Janssen"),
            (Field::Username, "zjanssen"),
            (Field::Email, "zoe.janssen@example.com"),
            (Field::UserId, "1001"),
            (Field::SubLevel1, "School A"),
            (Field::SubLevel2, "Class 1"),
            (Field::SpecialNeeds, "no"),
        ],
        &[
            (Field::FirstName, "Liam"),
            (Field::LastName, "de Vries"),
            (Field::Username, "ldevries"),
            (Field::Email, "liam.devries@example.com"),
            (Field::UserId, "1002"),
            (Field::Password, "change-me-2024"),
            (Field::SubLevel1, "School A"),
            (Field::SpecialNeeds, "yes"),
            (Field::SyncKey, "HR-1002"),
            (Field::TimeZone, "Europe/Amsterdam"),
        ],
    ];
    let bold = Format::new().set_bold();
    let quoted = Format::new().set_quote_prefix();
    let mut workbook = Workbook::new();
    let sheet = workbook.add_worksheet();
    sheet.set_name("Users")?;
    for (c, field) in fields.iter().enumerate() {
        sheet.write_string_with_format(0, col(c)?, field.label(), &bold)?;
        sheet.set_column_width(col(c)?, 18)?;
    }
    for (r, sample) in samples.iter().enumerate() {
        for (field, value) in sample.iter() {
            if let Some(c) = fields.iter().position(|f| f == field) {
                write_text(sheet, u32::try_from(r + 1)?, col(c)?, value, &quoted)?;
            }
        }
    }
    Ok(workbook.save_to_buffer()?)
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

#[cfg(test)]
mod tests {
    use roster_shared::cells::CellValue;
    use roster_shared::{ErrorCode, ReadOptions, read_table};

    use super::*;

    #[test]
    fn the_errors_file_reads_back_and_keeps_formulas_as_text() {
        let rows = vec![
            MappedRow::new(2)
                .with(Field::FirstName, "=1+1")
                .with(Field::Username, "@cmd")
                .with(Field::Password, "secret-password"),
            MappedRow::new(3).with(Field::FirstName, "Fine"),
        ];
        let errors = vec![
            RowError::new(
                2,
                Field::Email,
                ErrorCode::Required,
                "Email: This value is required".into(),
            ),
            RowError::in_use(2, "holder"),
        ];
        let bytes = errors_workbook(&rows, &errors).expect("a workbook");
        let table = read_table(&bytes, Some("errors.xlsx"), &ReadOptions::default())
            .expect("it reads back");
        assert_eq!(table.headers[0], "Row");
        assert_eq!(table.headers[1], "First Name");
        assert!(!table.headers.iter().any(|h| h == "Password"));
        assert_eq!(table.headers.last().map(String::as_str), Some("Errors"));
        assert_eq!(table.rows.len(), 1, "only rows with errors");
        let text = |c: usize| match table.rows[0].cells.get(c) {
            Some(CellValue::Text(t)) => t.to_string(),
            other => panic!("column {c}: {other:?}"),
        };
        assert_eq!(text(1), "=1+1", "a formula-like value stays text");
        assert_eq!(
            text(table.headers.len() - 1),
            "Email: This value is required; User ID: This value is already in use"
        );
        let template = template_workbook().expect("the template");
        let table = read_table(&template, Some("t.xlsx"), &ReadOptions::default())
            .expect("the template reads");
        assert_eq!(table.headers.len(), Field::ALL.len());
        assert_eq!(table.rows.len(), 2);
    }
}
