//! Users and the trash can (SPEC sections 1 and 9).
//!
//! A user's fields are checked with the same rules as an imported row
//! (`roster_shared::rules::check_row`), so the messages are the same.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use roster_shared::rules::check_row;
use roster_shared::{Field, MappedRow, RuleOptions};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::ApiContext;
use super::auth::AuthUser;
use super::json::{Json, Path, Query};
use crate::TRASH_RETENTION_DAYS;
use crate::clock::rfc3339;
use crate::db::{self, Db, NewUser, Tx, username_key};
use crate::error::{Error, FieldError, Result};
use crate::permissions::{Permission, Permissions};
use crate::search::{prefix_end, query_words};

pub fn router() -> Router<ApiContext> {
    Router::new()
        .route("/users", get(list_users).post(create_user))
        .route(
            "/users/{id}",
            get(get_user).put(update_user).delete(delete_user),
        )
        .route("/trash", get(list_trash))
        .route("/trash/{id}/restore", post(restore_user))
}

/// A user as the API shows it. No password or hash, ever.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserOut {
    /// The directory's own id, used in URLs.
    pub id: i64,
    pub first_name: String,
    pub last_name: String,
    pub username: String,
    pub email: String,
    /// The second identifier (SPEC section 1), compared exactly.
    pub user_id: String,
    pub role_id: i64,
    pub hierarchy_ids: Vec<i64>,
    pub special_needs: Option<bool>,
    pub sync_key: Option<String>,
    pub time_zone: String,
    /// Whether the user can sign in at all.
    pub has_password: bool,
    pub created_at: String,
    pub updated_at: String,
    /// Set for a user in the trash can.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deleted_at: Option<String>,
    /// When a user in the trash can is deleted for good.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub purge_at: Option<String>,
}

#[derive(sqlx::FromRow)]
struct UserRow {
    id: i64,
    first_name: String,
    last_name: String,
    username: String,
    email: String,
    user_id: String,
    has_password: i64,
    role_id: i64,
    special_needs: Option<i64>,
    sync_key: Option<String>,
    time_zone: String,
    created_at: i64,
    updated_at: i64,
    deleted_at: Option<i64>,
}

const USER_COLUMNS: &str = "id, first_name, last_name, username, email, user_id, \
    CAST(CASE WHEN password_hash IS NULL THEN 0 ELSE 1 END AS BIGINT) AS has_password, \
    role_id, special_needs, sync_key, time_zone, created_at, updated_at, deleted_at";

impl UserRow {
    fn into_out(self, hierarchy_ids: Vec<i64>) -> UserOut {
        UserOut {
            id: self.id,
            first_name: self.first_name,
            last_name: self.last_name,
            username: self.username,
            email: self.email,
            user_id: self.user_id,
            role_id: self.role_id,
            hierarchy_ids,
            special_needs: self.special_needs.map(|v| v != 0),
            sync_key: self.sync_key,
            time_zone: self.time_zone,
            has_password: self.has_password != 0,
            created_at: rfc3339(self.created_at),
            updated_at: rfc3339(self.updated_at),
            deleted_at: self.deleted_at.map(rfc3339),
            purge_at: self
                .deleted_at
                .map(|d| rfc3339(d + TRASH_RETENTION_DAYS * 86_400)),
        }
    }
}

async fn memberships(db: &Db, ids: &[i64]) -> sqlx::Result<Vec<(i64, i64)>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let placeholders: Vec<String> = (1..=ids.len()).map(|i| format!("${i}")).collect();
    let sql = format!(
        "SELECT user_pk, node_id FROM user_memberships WHERE user_pk IN ({}) \
         ORDER BY user_pk, node_id",
        placeholders.join(", ")
    );
    let mut query = sqlx::query_as(&sql);
    for id in ids {
        query = query.bind(*id);
    }
    query.fetch_all(db).await
}

async fn with_memberships(db: &Db, rows: Vec<UserRow>) -> sqlx::Result<Vec<UserOut>> {
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let pairs = memberships(db, &ids).await?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let nodes = pairs
                .iter()
                .filter(|(u, _)| *u == row.id)
                .map(|(_, n)| *n)
                .collect();
            row.into_out(nodes)
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

#[derive(Debug, Deserialize, IntoParams)]
pub struct SearchParams {
    /// Words that each must begin a first name, last name, username, email
    /// or user ID (or a word of one), ignoring case and accents.
    #[serde(default)]
    pub q: String,
    /// 1-based page number.
    #[serde(default = "first_page")]
    pub page: u32,
    /// Users per page, 1 to 200 (default 50).
    #[serde(default = "default_per_page")]
    pub per_page: u32,
}

fn first_page() -> u32 {
    1
}

fn default_per_page() -> u32 {
    50
}

#[derive(Serialize, ToSchema)]
pub struct UserPage {
    pub users: Vec<UserOut>,
    /// How many users match in all.
    pub total: i64,
    pub page: u32,
    pub per_page: u32,
}

/// Search (or list) users, active or in the trash can, one page at a time.
async fn search_users(db: &Db, params: &SearchParams, in_trash: bool) -> Result<UserPage> {
    if params.page == 0 {
        return Err(Error::invalid("page", "invalid", "page: starts at 1"));
    }
    if !(1..=200).contains(&params.per_page) {
        return Err(Error::invalid(
            "per_page",
            "invalid",
            "per_page: from 1 to 200",
        ));
    }
    let mut filter = format!("deleted_at IS {} NULL", if in_trash { "NOT" } else { "" });
    let mut binds: Vec<String> = Vec::new();
    for word in query_words(&params.q) {
        let n = binds.len();
        filter.push_str(&format!(
            " AND id IN (SELECT user_pk FROM user_search_terms WHERE term >= ${} AND term < ${})",
            n + 1,
            n + 2
        ));
        binds.push(prefix_end(&word));
        binds.insert(n, word);
    }
    let count_sql = format!("SELECT COUNT(*) FROM users WHERE {filter}");
    let mut count = sqlx::query_scalar(&count_sql);
    for b in &binds {
        count = count.bind(b);
    }
    let total: i64 = count.fetch_one(db).await?;

    let order = if in_trash {
        "deleted_at DESC, id DESC"
    } else {
        "sort_key, id"
    };
    let n = binds.len();
    let list_sql = format!(
        "SELECT {USER_COLUMNS} FROM users WHERE {filter} ORDER BY {order} LIMIT ${} OFFSET ${}",
        n + 1,
        n + 2
    );
    let mut list = sqlx::query_as(&list_sql);
    for b in &binds {
        list = list.bind(b);
    }
    let offset = i64::from(params.page - 1) * i64::from(params.per_page);
    let rows: Vec<UserRow> = list
        .bind(i64::from(params.per_page))
        .bind(offset)
        .fetch_all(db)
        .await?;
    Ok(UserPage {
        users: with_memberships(db, rows).await?,
        total,
        page: params.page,
        per_page: params.per_page,
    })
}

/// A user to create, or the new state of one (PUT replaces every field;
/// only `password` may be left out to keep the current one).
#[derive(Debug, Deserialize, ToSchema)]
pub struct UserInput {
    pub first_name: String,
    pub last_name: String,
    pub username: String,
    pub email: String,
    pub user_id: String,
    /// Left out or null: no password on create (nobody can sign in as the
    /// user), unchanged on update.
    #[serde(default)]
    pub password: Option<String>,
    pub role_id: i64,
    /// At least one hierarchy node.
    pub hierarchy_ids: Vec<i64>,
    #[serde(default)]
    pub special_needs: Option<bool>,
    #[serde(default)]
    pub sync_key: Option<String>,
    /// An IANA name; left out: the site's time zone.
    #[serde(default)]
    pub time_zone: Option<String>,
}

/// The input checked with the import's row rules; names trimmed.
fn check_input(input: &UserInput, min_len: usize) -> Result<MappedRow> {
    let mut row = MappedRow::new(0)
        .with(Field::FirstName, input.first_name.as_str())
        .with(Field::LastName, input.last_name.as_str())
        .with(Field::Username, input.username.as_str())
        .with(Field::Email, input.email.as_str())
        .with(Field::UserId, input.user_id.as_str());
    if let Some(p) = &input.password {
        row.set(Field::Password, p.as_str());
    }
    if let Some(k) = &input.sync_key {
        row.set(Field::SyncKey, k.as_str());
    }
    if let Some(tz) = &input.time_zone {
        row.set(Field::TimeZone, tz.as_str());
    }
    let options = RuleOptions {
        password_min_len: min_len,
    };
    let errors = check_row(&mut row, &options);
    if errors.is_empty() {
        return Ok(row);
    }
    let details: Vec<FieldError> = errors
        .iter()
        .map(|e| FieldError {
            field: e.field.key().to_string(),
            code: e.code.key().to_string(),
            message: e.message.clone(),
        })
        .collect();
    let message = details
        .iter()
        .map(|d| d.message.as_str())
        .collect::<Vec<_>>()
        .join("; ");
    Err(Error::Invalid { message, details })
}

async fn role_permissions(tx: &mut Tx, role_id: i64) -> Result<Option<Permissions>> {
    let bits: Option<i64> = sqlx::query_scalar("SELECT permissions FROM roles WHERE id = $1")
        .bind(role_id)
        .fetch_optional(&mut **tx)
        .await?;
    Ok(bits.map(Permissions::from_bits))
}

/// Checks what the rules cannot: the role exists and the actor may grant
/// it, the nodes exist, username and user ID are free. Builds the row.
async fn prepare_user(
    ctx: &ApiContext,
    tx: &mut Tx,
    auth: &AuthUser,
    input: UserInput,
    existing: Option<i64>,
) -> Result<NewUser> {
    let row = check_input(&input, ctx.config.password.min_len)?;
    let Some(role) = role_permissions(tx, input.role_id).await? else {
        return Err(Error::invalid("role_id", "not_found", "Role: no such role"));
    };
    auth.require_covers(role, "you cannot give this role")?;

    let mut nodes = input.hierarchy_ids.clone();
    nodes.sort_unstable();
    nodes.dedup();
    if nodes.is_empty() {
        return Err(Error::invalid(
            "hierarchy_ids",
            "required",
            "Hierarchy: a user belongs to at least one node",
        ));
    }
    for node in &nodes {
        let found: Option<i64> = sqlx::query_scalar("SELECT id FROM hierarchy_nodes WHERE id = $1")
            .bind(node)
            .fetch_optional(&mut **tx)
            .await?;
        if found.is_none() {
            return Err(Error::invalid(
                "hierarchy_ids",
                "not_found",
                format!("Hierarchy: no node with id {node}"),
            ));
        }
    }

    let username = row.get(Field::Username).to_string();
    let user_id = row.get(Field::UserId).to_string();
    let taken: Option<i64> =
        sqlx::query_scalar("SELECT id FROM users WHERE username_key = $1 AND ($2 < 0 OR id <> $2)")
            .bind(username_key(&username))
            .bind(existing.unwrap_or(-1))
            .fetch_optional(&mut **tx)
            .await?;
    if taken.is_some() {
        return Err(Error::conflict(
            "Username: this username is already taken (also counting the trash can)",
        ));
    }
    let held_by: Option<String> = sqlx::query_scalar(
        "SELECT username FROM users WHERE user_id = $1 AND ($2 < 0 OR id <> $2)",
    )
    .bind(&user_id)
    .bind(existing.unwrap_or(-1))
    .fetch_optional(&mut **tx)
    .await?;
    if let Some(holder) = held_by {
        return Err(Error::conflict(format!(
            "User ID: This value is already in use (by {holder})"
        )));
    }

    let time_zone = match input.time_zone {
        Some(tz) => tz,
        None => super::settings::site_time_zone(&mut **tx).await?,
    };
    let password_hash = match input.password {
        Some(p) => Some(ctx.config.password.hash_async(p).await?),
        None => None,
    };
    let optional = |f: Field| Some(row.get(f).to_string()).filter(|v| !v.is_empty());
    Ok(NewUser {
        first_name: row.get(Field::FirstName).to_string(),
        last_name: row.get(Field::LastName).to_string(),
        username,
        email: row.get(Field::Email).to_string(),
        user_id,
        password_hash,
        role_id: input.role_id,
        special_needs: input.special_needs,
        sync_key: optional(Field::SyncKey),
        time_zone,
    })
}

fn conflict_on_unique(e: sqlx::Error) -> Error {
    if db::is_unique_violation(&e) {
        Error::conflict("the username or user ID was taken at the same moment; try again")
    } else {
        Error::Database(e)
    }
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

/// The role of an active user, for the rule that nobody acts on a user
/// who holds more than they do.
async fn target_role(tx: &mut Tx, id: i64) -> Result<Permissions> {
    let bits: Option<i64> = sqlx::query_scalar(
        "SELECT r.permissions FROM users u JOIN roles r ON r.id = u.role_id \
         WHERE u.id = $1 AND u.deleted_at IS NULL",
    )
    .bind(id)
    .fetch_optional(&mut **tx)
    .await?;
    bits.map(Permissions::from_bits)
        .ok_or_else(|| Error::not_found("no such user"))
}

/// Search users (active only).
#[utoipa::path(get, path = "/api/users", tag = "users", params(SearchParams),
    responses((status = 200, body = UserPage), (status = 401, body = crate::error::ErrorBody),
        (status = 403, body = crate::error::ErrorBody)))]
pub async fn list_users(
    State(ctx): State<ApiContext>,
    auth: AuthUser,
    Query(params): Query<SearchParams>,
) -> Result<Json<UserPage>> {
    auth.require(Permission::ManageUsers)?;
    Ok(Json(search_users(&ctx.db, &params, false).await?))
}

#[utoipa::path(post, path = "/api/users", tag = "users", request_body = UserInput,
    responses((status = 201, body = UserOut), (status = 403, body = crate::error::ErrorBody),
        (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub async fn create_user(
    State(ctx): State<ApiContext>,
    auth: AuthUser,
    Json(input): Json<UserInput>,
) -> Result<Response> {
    auth.require(Permission::ManageUsers)?;
    let mut tx = ctx.db.begin().await?;
    let hierarchy = input.hierarchy_ids.clone();
    let user = prepare_user(&ctx, &mut tx, &auth, input, None).await?;
    let id = db::insert_user(&mut tx, &user, ctx.now())
        .await
        .map_err(conflict_on_unique)?;
    db::set_memberships(&mut tx, id, &dedup(hierarchy)).await?;
    tx.commit().await?;
    tracing::info!(actor = auth.user_pk, user = id, "created a user");
    let out = load(&ctx.db, id, false)
        .await?
        .ok_or_else(|| Error::not_found("no such user"))?;
    Ok((StatusCode::CREATED, Json(out)).into_response())
}

fn dedup(mut ids: Vec<i64>) -> Vec<i64> {
    ids.sort_unstable();
    ids.dedup();
    ids
}

#[utoipa::path(get, path = "/api/users/{id}", tag = "users", params(("id" = i64, Path)),
    responses((status = 200, body = UserOut), (status = 404, body = crate::error::ErrorBody)))]
pub async fn get_user(
    State(ctx): State<ApiContext>,
    auth: AuthUser,
    Path(id): Path<i64>,
) -> Result<Json<UserOut>> {
    auth.require(Permission::ManageUsers)?;
    load(&ctx.db, id, false)
        .await?
        .map(Json)
        .ok_or_else(|| Error::not_found("no such user"))
}

#[utoipa::path(put, path = "/api/users/{id}", tag = "users", params(("id" = i64, Path)),
    request_body = UserInput,
    responses((status = 200, body = UserOut), (status = 403, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody),
        (status = 422, body = crate::error::ErrorBody)))]
pub async fn update_user(
    State(ctx): State<ApiContext>,
    auth: AuthUser,
    Path(id): Path<i64>,
    Json(input): Json<UserInput>,
) -> Result<Json<UserOut>> {
    auth.require(Permission::ManageUsers)?;
    let mut tx = ctx.db.begin().await?;
    let current = target_role(&mut tx, id).await?;
    auth.require_covers(current, "you cannot change this user")?;
    let hierarchy = input.hierarchy_ids.clone();
    let new_password = input.password.is_some();
    let user = prepare_user(&ctx, &mut tx, &auth, input, Some(id)).await?;
    db::update_user(&mut tx, id, &user, ctx.now())
        .await
        .map_err(conflict_on_unique)?;
    db::set_memberships(&mut tx, id, &dedup(hierarchy)).await?;
    ensure_full_administrator_remains(&mut tx).await?;
    if new_password && id != auth.user_pk {
        // A new password ends the user's sessions (not the actor's own).
        sqlx::query("DELETE FROM sessions WHERE user_pk = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    tracing::info!(actor = auth.user_pk, user = id, "changed a user");
    load(&ctx.db, id, false)
        .await?
        .map(Json)
        .ok_or_else(|| Error::not_found("no such user"))
}

/// Moves a user to the trash can and ends their sessions.
#[utoipa::path(delete, path = "/api/users/{id}", tag = "users", params(("id" = i64, Path)),
    responses((status = 204, description = "in the trash can"), (status = 403, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)))]
pub async fn delete_user(
    State(ctx): State<ApiContext>,
    auth: AuthUser,
    Path(id): Path<i64>,
) -> Result<StatusCode> {
    auth.require(Permission::ManageUsers)?;
    if id == auth.user_pk {
        return Err(Error::conflict("you cannot delete yourself"));
    }
    let mut tx = ctx.db.begin().await?;
    let current = target_role(&mut tx, id).await?;
    auth.require_covers(current, "you cannot delete this user")?;
    sqlx::query("UPDATE users SET deleted_at = $1 WHERE id = $2 AND deleted_at IS NULL")
        .bind(ctx.now())
        .bind(id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM sessions WHERE user_pk = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    ensure_full_administrator_remains(&mut tx).await?;
    tx.commit().await?;
    tracing::info!(
        actor = auth.user_pk,
        user = id,
        "moved a user to the trash can"
    );
    Ok(StatusCode::NO_CONTENT)
}

/// The trash can: deleted users, newest first, with when each is purged.
#[utoipa::path(get, path = "/api/trash", tag = "trash", params(SearchParams),
    responses((status = 200, body = UserPage), (status = 403, body = crate::error::ErrorBody)))]
pub async fn list_trash(
    State(ctx): State<ApiContext>,
    auth: AuthUser,
    Query(params): Query<SearchParams>,
) -> Result<Json<UserPage>> {
    auth.require(Permission::RestoreUsers)?;
    Ok(Json(search_users(&ctx.db, &params, true).await?))
}

#[utoipa::path(post, path = "/api/trash/{id}/restore", tag = "trash", params(("id" = i64, Path)),
    responses((status = 200, body = UserOut), (status = 403, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody)))]
pub async fn restore_user(
    State(ctx): State<ApiContext>,
    auth: AuthUser,
    Path(id): Path<i64>,
) -> Result<Json<UserOut>> {
    auth.require(Permission::RestoreUsers)?;
    let restored = sqlx::query(
        "UPDATE users SET deleted_at = NULL, updated_at = $1 WHERE id = $2 AND deleted_at IS NOT NULL",
    )
    .bind(ctx.now())
    .bind(id)
    .execute(&ctx.db)
    .await?
    .rows_affected();
    if restored == 0 {
        return Err(Error::not_found("no such user in the trash can"));
    }
    tracing::info!(actor = auth.user_pk, user = id, "restored a user");
    load(&ctx.db, id, false)
        .await?
        .map(Json)
        .ok_or_else(|| Error::not_found("no such user"))
}
