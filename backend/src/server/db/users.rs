//! The users table and what hangs off it (memberships, search terms): the
//! queries that more than one caller needs (handlers, the import, the
//! first start), each written once.

use roster_shared::api::UserOut;

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::bulk::{self, Style};
use super::{Db, Tx};
use crate::TRASH_RETENTION_DAYS;
use crate::clock::rfc3339;
use crate::error::{Error, Result};
use crate::permissions::Permissions;
use crate::search::{self, Searched, TermRow};

/// A user as [`USER_COLUMNS`] reads them: decoded straight into the wire
/// type, so its field list is written once (in `roster_shared::api`). The
/// nodes (`hierarchy_ids`) are not columns: [`with_memberships`] adds them.
pub struct UserRow(pub UserOut);

/// The columns of [`UserRow`].
pub const USER_COLUMNS: &str = "id, first_name, last_name, username, email, user_id, \
    CAST(CASE WHEN password_hash IS NULL THEN 0 ELSE 1 END AS BIGINT) AS has_password, \
    role_id, special_needs, sync_key, time_zone, created_at, updated_at, deleted_at";

impl sqlx::FromRow<'_, AnyRow> for UserRow {
    fn from_row(row: &AnyRow) -> sqlx::Result<Self> {
        let deleted_at: Option<i64> = row.try_get("deleted_at")?;
        Ok(UserRow(UserOut {
            id: row.try_get("id")?,
            first_name: row.try_get("first_name")?,
            last_name: row.try_get("last_name")?,
            username: row.try_get("username")?,
            email: row.try_get("email")?,
            user_id: row.try_get("user_id")?,
            role_id: row.try_get("role_id")?,
            hierarchy_ids: Vec::new(),
            special_needs: row
                .try_get::<Option<i64>, _>("special_needs")?
                .map(|v| v != 0),
            sync_key: row.try_get("sync_key")?,
            time_zone: row.try_get("time_zone")?,
            has_password: row.try_get::<i64, _>("has_password")? != 0,
            created_at: rfc3339(row.try_get("created_at")?),
            updated_at: rfc3339(row.try_get("updated_at")?),
            deleted_at: deleted_at.map(rfc3339),
            purge_at: deleted_at.map(|d| rfc3339(d + TRASH_RETENTION_DAYS * 86_400)),
        }))
    }
}

async fn memberships(db: &Db, ids: &[i64]) -> sqlx::Result<Vec<(i64, i64)>> {
    let mut out = Vec::new();
    bulk::fetch_in(
        &mut *db.acquire().await?,
        "SELECT user_pk, node_id FROM user_memberships WHERE user_pk",
        ids,
        |pair| out.push(pair),
    )
    .await?;
    // Each user's nodes in order (one statement's ORDER BY did it when the
    // list was one statement).
    out.sort_unstable();
    Ok(out)
}

/// The rows with their nodes, as the API shows users.
pub async fn with_memberships(db: &Db, rows: Vec<UserRow>) -> sqlx::Result<Vec<UserOut>> {
    let ids: Vec<i64> = rows.iter().map(|r| r.0.id).collect();
    let pairs = memberships(db, &ids).await?;
    Ok(rows
        .into_iter()
        .map(|UserRow(mut user)| {
            user.hierarchy_ids = pairs
                .iter()
                .filter(|(u, _)| *u == user.id)
                .map(|(_, n)| *n)
                .collect();
            user
        })
        .collect())
}

/// One user, in the trash can (`in_trash`) or not.
pub async fn load(db: &Db, id: i64, in_trash: bool) -> sqlx::Result<Option<UserOut>> {
    let sql = format!(
        "SELECT {USER_COLUMNS} FROM users WHERE id = $1 AND deleted_at IS {} NULL",
        if in_trash { "NOT" } else { "" }
    );
    let row: Option<UserRow> = sqlx::query_as(&sql).bind(id).fetch_optional(db).await?;
    match row {
        Some(row) => Ok(with_memberships(db, vec![row]).await?.pop()),
        None => Ok(None),
    }
}

/// The stored fields of a user, as written.
pub struct NewUser {
    pub first_name: String,
    pub last_name: String,
    pub username: String,
    pub email: String,
    pub user_id: String,
    pub password_hash: Option<String>,
    pub role_id: i64,
    pub special_needs: Option<bool>,
    pub sync_key: Option<String>,
    pub time_zone: String,
}

impl NewUser {
    /// The fields the user is found and listed by.
    pub fn searched(&self) -> Searched<'_> {
        Searched {
            first_name: &self.first_name,
            last_name: &self.last_name,
            username: &self.username,
            email: &self.email,
            user_id: &self.user_id,
        }
    }
}

/// The key a username is unique under (SPEC section 1: case-insensitive):
/// the rules crate's, so the duplicate check and the directory agree.
pub fn username_key(username: &str) -> String {
    roster_shared::rules::username_key(username).into_owned()
}

/// The `users.dup_key` of a user: the rules crate's `duplicate_key`, ''
/// when a name is blank (NULL means "not computed yet", see
/// [`fill_duplicate_keys`]).
pub fn dup_key(first_name: &str, last_name: &str, email: &str) -> String {
    roster_shared::warnings::duplicate_key(first_name, last_name, email).unwrap_or_default()
}

/// Users keyed per statement by [`fill_duplicate_keys`].
const DUP_KEY_BATCH: usize = 1000;

/// Fills `users.dup_key` where migration 0010 left it NULL (users written
/// before it, or by an older binary meanwhile): if any is NULL, one pass
/// over the users in batches of [`DUP_KEY_BATCH`] by increasing id. Each batch
/// is one statement that only fills keys still NULL: processes starting
/// together may both run it, and a user rewritten meanwhile (whose write
/// set its own key) keeps that one. How many were filled.
pub async fn fill_duplicate_keys(db: &Db) -> sqlx::Result<u64> {
    // Nothing to fill (every start but the first after 0010): one probe.
    let missing: Option<i64> =
        sqlx::query_scalar("SELECT CAST(1 AS BIGINT) FROM users WHERE dup_key IS NULL LIMIT 1")
            .fetch_optional(db)
            .await?;
    if missing.is_none() {
        return Ok(0);
    }
    let style = Style::of_pool(db);
    let mut after = 0_i64;
    let mut filled = 0;
    loop {
        // By the primary key alone: `dup_key IS NULL … ORDER BY id` made
        // PostgreSQL sort every NULL entry for each batch (1.2 s a batch on
        // 1,000,000 users under load).
        let read: Vec<(i64, String, String, String, i64)> = sqlx::query_as(
            "SELECT id, first_name, last_name, email, \
             CAST(CASE WHEN dup_key IS NULL THEN 1 ELSE 0 END AS BIGINT) FROM users \
             WHERE id > $1 ORDER BY id LIMIT $2",
        )
        .bind(after)
        .bind(DUP_KEY_BATCH as i64)
        .fetch_all(db)
        .await?;
        let Some(&(last, ..)) = read.last() else {
            return Ok(filled);
        };
        after = last;
        let batch: Vec<(i64, String, String, String)> = read
            .into_iter()
            .filter(|row| row.4 == 1)
            .map(|(id, first, last, email, _)| (id, first, last, email))
            .collect();
        if batch.is_empty() {
            continue;
        }
        // Only where the names and email are still the ones read: a user
        // renamed meanwhile by an older binary (which writes no key) is not
        // given the key of their old name.
        let sql = format!(
            "UPDATE users SET dup_key = v.column2 FROM (VALUES {}) AS v \
             WHERE users.id = v.column1 AND users.dup_key IS NULL \
             AND users.first_name = v.column3 AND users.last_name = v.column4 \
             AND users.email = v.column5",
            super::bulk::values_list(style, batch.len(), 5)
        );
        let mut query = sqlx::query(&sql);
        for (id, first, last, email) in &batch {
            query = query
                .bind(*id)
                .bind(dup_key(first, last, email))
                .bind(first)
                .bind(last)
                .bind(email);
        }
        filled += query.execute(db).await?.rows_affected();
    }
}

/// Binds a user's columns as `$1`…`$14` in the order `insert_user` and
/// `update_user` name them (a macro: `query` and `query_as` are different
/// types with the same `bind`).
macro_rules! bind_user {
    ($query:expr, $u:expr, $now:expr) => {
        $query
            .bind(&$u.first_name)
            .bind(&$u.last_name)
            .bind(&$u.username)
            .bind(username_key(&$u.username))
            .bind(&$u.email)
            .bind(&$u.user_id)
            .bind(&$u.password_hash)
            .bind($u.role_id)
            .bind($u.special_needs.map(i64::from))
            .bind(&$u.sync_key)
            .bind(&$u.time_zone)
            .bind($u.searched().sort_key())
            .bind($now)
            .bind(dup_key(&$u.first_name, &$u.last_name, &$u.email))
    };
}

pub async fn insert_user(tx: &mut Tx, u: &NewUser, now: i64) -> sqlx::Result<i64> {
    let insert = sqlx::query_as::<_, (i64,)>(
        "INSERT INTO users (first_name, last_name, username, username_key, email, user_id, \
         password_hash, role_id, special_needs, sync_key, time_zone, sort_key, created_at, updated_at, \
         dup_key) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13, $14) RETURNING id",
    );
    let (id,) = bind_user!(insert, u, now).fetch_one(&mut **tx).await?;
    write_search_terms(tx, id, u).await?;
    Ok(id)
}

/// Forgets the earlier password hashes imports kept of `user_pk` for an
/// undo (SPEC 6b): once the password is set anew an undo leaves it alone
/// (the kept digest of the import's hash no longer matches), so the older
/// hash is of no use and is not kept.
pub async fn forget_kept_hashes(tx: &mut Tx, user_pk: i64) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE import_changes SET password_hash_before = NULL \
         WHERE user_pk = $1 AND password_hash_before IS NOT NULL",
    )
    .bind(user_pk)
    .execute(&mut **tx)
    .await
    .map(|_| ())
}

/// Rewrites a user's fields; `password_hash: None` keeps the current one.
/// A user in the trash can keeps no search terms (see [`delete_search_terms`]).
pub async fn update_user(tx: &mut Tx, id: i64, u: &NewUser, now: i64) -> sqlx::Result<()> {
    let update = sqlx::query_as::<_, (Option<i64>,)>(
        "UPDATE users SET first_name = $1, last_name = $2, username = $3, username_key = $4, \
         email = $5, user_id = $6, password_hash = COALESCE($7, password_hash), role_id = $8, \
         special_needs = $9, sync_key = $10, time_zone = $11, sort_key = $12, updated_at = $13, \
         dup_key = $14 WHERE id = $15 RETURNING deleted_at",
    );
    let updated = bind_user!(update, u, now)
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?;
    if u.password_hash.is_some() {
        forget_kept_hashes(tx, id).await?;
    }
    if let Some((None,)) = updated {
        delete_search_terms(tx, &[id]).await?;
        write_search_terms(tx, id, u).await?;
    }
    Ok(())
}

async fn write_search_terms(tx: &mut Tx, id: i64, u: &NewUser) -> sqlx::Result<()> {
    let mut rows = Vec::new();
    search::add_term_rows(&mut rows, id, &u.searched());
    insert_search_terms(tx, &rows).await
}

/// Writes `user_search_terms` rows with as few statements as
/// [`bulk::insert_rows`] allows: the one place they are written.
pub async fn insert_search_terms(conn: &mut AnyConnection, rows: &[TermRow]) -> sqlx::Result<()> {
    bulk::insert_rows(
        conn,
        "INSERT INTO user_search_terms (term, user_pk, sort_key)",
        "",
        3,
        rows,
        |q, r| q.bind(&r.term).bind(r.user_pk).bind(&r.sort_key),
    )
    .await
}

/// Deletes the search terms of `users`: of users moved to the trash can
/// (whose search reads `users`, docs/SERVER.md "Search"), so that trashing
/// 100,000 users deletes their terms instead of rewriting every index
/// entry of them; and before a user's terms are written anew.
pub async fn delete_search_terms(conn: &mut AnyConnection, users: &[i64]) -> sqlx::Result<()> {
    bulk::execute_in(conn, "DELETE FROM user_search_terms WHERE user_pk", users).await
}

/// Writes the search terms of users just brought back from the trash can,
/// from their stored values (the terms they had were deleted with
/// [`delete_search_terms`] when they were trashed).
pub async fn restore_search_terms(conn: &mut AnyConnection, users: &[i64]) -> sqlx::Result<()> {
    let mut stored: Vec<(i64, String, String, String, String, String)> = Vec::new();
    bulk::fetch_in(
        &mut *conn,
        "SELECT id, first_name, last_name, username, email, user_id FROM users \
         WHERE deleted_at IS NULL AND id",
        users,
        |row| stored.push(row),
    )
    .await?;
    let mut rows = Vec::new();
    for (id, first_name, last_name, username, email, user_id) in &stored {
        let searched = Searched {
            first_name,
            last_name,
            username,
            email,
            user_id,
        };
        search::add_term_rows(&mut rows, *id, &searched);
    }
    // Any left from before (none, unless written by hand): the key is unique.
    delete_search_terms(conn, users).await?;
    insert_search_terms(conn, &rows).await
}

pub async fn set_memberships(tx: &mut Tx, user_pk: i64, nodes: &[i64]) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM user_memberships WHERE user_pk = $1")
        .bind(user_pk)
        .execute(&mut **tx)
        .await?;
    for node in nodes {
        sqlx::query("INSERT INTO user_memberships (user_pk, node_id) VALUES ($1, $2)")
            .bind(user_pk)
            .bind(node)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// 409 unless some active user still holds every permission: nobody may
/// lock the site out of its own administration.
pub async fn ensure_full_administrator_remains(tx: &mut Tx) -> Result<()> {
    let admins: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM users u JOIN roles r ON r.id = u.role_id \
         WHERE u.deleted_at IS NULL AND (r.permissions & $1) = $1",
    )
    .bind(Permissions::ALL_BITS)
    .fetch_one(&mut **tx)
    .await?;
    if admins == 0 {
        return Err(Error::conflict(
            "this would leave no user holding every permission",
        ));
    }
    Ok(())
}

/// Ends every session of a user (a new password, the trash can, an
/// administrator's "sign out everywhere"). How many ended. A new password
/// or the trash can changes the user's row first, in the same transaction:
/// a sign-in under way reads that row again, locked, before it opens its
/// session (`http/auth.rs`, `open_session`).
pub async fn end_sessions(tx: &mut Tx, user_pk: i64) -> sqlx::Result<u64> {
    Ok(sqlx::query("DELETE FROM sessions WHERE user_pk = $1")
        .bind(user_pk)
        .execute(&mut **tx)
        .await?
        .rows_affected())
}

/// The password hashes of `users` (those with one), by id. Never returned
/// by the API: the import keeps them for an undo.
pub async fn password_hashes(
    conn: &mut sqlx::AnyConnection,
    users: &[i64],
) -> sqlx::Result<std::collections::HashMap<i64, String>> {
    let mut out = std::collections::HashMap::new();
    bulk::fetch_in(
        conn,
        "SELECT id, password_hash FROM users WHERE password_hash IS NOT NULL AND id",
        users,
        |(id, hash)| {
            out.insert(id, hash);
        },
    )
    .await?;
    Ok(out)
}
