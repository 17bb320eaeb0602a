//! Roles: a name and a set of permissions (SPEC sections 1 and 7). Nobody
//! creates, changes or deletes a role holding a permission they lack.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use roster_shared::Field;
use roster_shared::api::{ErrorBody, Permission, RoleInput, RoleList, RoleOut};

use super::ApiContext;
use super::extract::{AuthUser, Can, perm};
use super::json::{Json, Path};
use crate::db;
use crate::db::roles::{load, out};
use crate::db::users::ensure_full_administrator_remains;
use crate::error::{Error, Result, ResultExt};
use crate::permissions::Permissions;

pub fn router() -> Router<ApiContext> {
    Router::new()
        .route("/roles", get(list_roles).post(create_role))
        .route("/roles/{id}", put(update_role).delete(delete_role))
}

/// 409 when a unique index was reached first by a concurrent write.
const NAME_TAKEN: &str = "Name: a role with this name already exists";

/// Every role. Readable with `manage_roles`, or `manage_users` (to choose a
/// user's role).
#[utoipa::path(get, path = "/api/roles", tag = "roles",
    responses((status = 200, body = RoleList), (status = 403, body = ErrorBody)))]
pub async fn list_roles(State(ctx): State<ApiContext>, auth: AuthUser) -> Result<Json<RoleList>> {
    auth.require_any(&[Permission::ManageRoles, Permission::ManageUsers])?;
    let rows: Vec<(i64, String, i64)> =
        sqlx::query_as("SELECT id, name, permissions FROM roles ORDER BY name_key, id")
            .fetch_all(&ctx.db)
            .await?;
    Ok(Json(RoleList {
        roles: rows.into_iter().map(out).collect(),
    }))
}

#[utoipa::path(post, path = "/api/roles", tag = "roles", request_body = RoleInput,
    responses((status = 201, body = RoleOut), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_role(
    State(ctx): State<ApiContext>,
    auth: Can<perm::ManageRoles>,
    Json(input): Json<RoleInput>,
) -> Result<Response> {
    let name = super::check_name(&input.name, Field::FirstName)?;
    let permissions: Permissions = input.permissions.into_iter().collect();
    auth.require_covers(permissions, "you cannot create this role")?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO roles (name, name_key, permissions) VALUES ($1, $2, $3) RETURNING id",
    )
    .bind(&name)
    .bind(name.to_lowercase())
    .bind(permissions.bits())
    .fetch_one(&ctx.db)
    .await
    .conflict_on_unique(NAME_TAKEN)?;
    tracing::info!(actor = auth.user_pk, role = id, "created a role");
    let role = load(&ctx.db, id)
        .await?
        .ok_or_else(|| Error::not_found("no such role"))?;
    Ok((StatusCode::CREATED, Json(role)).into_response())
}

#[utoipa::path(put, path = "/api/roles/{id}", tag = "roles", params(("id" = i64, Path)),
    request_body = RoleInput,
    responses((status = 200, body = RoleOut), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn update_role(
    State(ctx): State<ApiContext>,
    auth: Can<perm::ManageRoles>,
    Path(id): Path<i64>,
    Json(input): Json<RoleInput>,
) -> Result<Json<RoleOut>> {
    let name = super::check_name(&input.name, Field::FirstName)?;
    let permissions: Permissions = input.permissions.into_iter().collect();
    let mut tx = db::begin_directory_write(&ctx.db).await?;
    let current = db::roles::permissions(&mut tx, id)
        .await?
        .ok_or_else(|| Error::not_found("no such role"))?;
    auth.require_covers(current, "you cannot change this role")?;
    auth.require_covers(permissions, "you cannot give this role these permissions")?;
    sqlx::query("UPDATE roles SET name = $1, name_key = $2, permissions = $3 WHERE id = $4")
        .bind(&name)
        .bind(name.to_lowercase())
        .bind(permissions.bits())
        .bind(id)
        .execute(&mut *tx)
        .await
        .conflict_on_unique(NAME_TAKEN)?;
    ensure_full_administrator_remains(&mut tx).await?;
    tx.commit().await?;
    tracing::info!(actor = auth.user_pk, role = id, "changed a role");
    load(&ctx.db, id)
        .await?
        .map(Json)
        .ok_or_else(|| Error::not_found("no such role"))
}

/// Deletes a role that no user (also none in the trash can) has.
#[utoipa::path(delete, path = "/api/roles/{id}", tag = "roles", params(("id" = i64, Path)),
    responses((status = 204, description = "deleted"), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn delete_role(
    State(ctx): State<ApiContext>,
    auth: Can<perm::ManageRoles>,
    Path(id): Path<i64>,
) -> Result<StatusCode> {
    let mut tx = db::begin_directory_write(&ctx.db).await?;
    let current = db::roles::permissions(&mut tx, id)
        .await?
        .ok_or_else(|| Error::not_found("no such role"))?;
    auth.require_covers(current, "you cannot delete this role")?;
    let holders: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE role_id = $1")
        .bind(id)
        .fetch_one(&mut *tx)
        .await?;
    if holders > 0 {
        return Err(Error::conflict(format!(
            "{holders} user(s) have this role (the trash can included); give them another role first"
        )));
    }
    sqlx::query("DELETE FROM roles WHERE id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    tracing::info!(actor = auth.user_pk, role = id, "deleted a role");
    Ok(StatusCode::NO_CONTENT)
}
