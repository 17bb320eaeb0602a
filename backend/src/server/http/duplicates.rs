//! Possible duplicates already in the directory (SPEC 4b): groups of active
//! users who share `users.dup_key` (folded first + last name and email),
//! a page of groups at a time. The grouping is one query on the
//! `users_dup_key` index; only the page's groups are then read.

use std::collections::HashMap;

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use roster_shared::api::ErrorBody;
use roster_shared::api::duplicates::{DuplicateGroup, DuplicatePage, DuplicateUser};
use serde::Deserialize;
use utoipa::IntoParams;

use super::ApiContext;
use super::extract::{Can, perm};
use super::json::{Json, Query};
use crate::clock::rfc3339;
use crate::db::bulk::{Style, placeholders};
use crate::db::hierarchy::all_nodes;
use crate::error::{Error, Result};

/// Groups a page holds.
const GROUPS_PER_PAGE: u32 = 20;
/// Users listed of one group (its `count` says how many it has): a
/// thousand accounts of one person must not make one page huge.
const USERS_PER_GROUP: i64 = 50;

pub fn router() -> Router<ApiContext> {
    Router::new().route("/users/duplicates", get(list_duplicates))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct DuplicatesParams {
    /// 1-based page number (20 groups a page).
    #[serde(default = "first_page")]
    pub page: u32,
}

fn first_page() -> u32 {
    1
}

#[derive(sqlx::FromRow)]
struct GroupRow {
    dup_key: String,
    members: i64,
    total: i64,
}

#[derive(sqlx::FromRow)]
struct UserRow {
    id: i64,
    dup_key: String,
    username: String,
    user_id: String,
    first_name: String,
    last_name: String,
    email: String,
    role_name: String,
    updated_at: i64,
}

/// Possible duplicates: groups of active users with the same first name,
/// last name and email, folded as the search folds them (case, accents,
/// surrounding spaces), ordered by that; 20 groups a page.
#[utoipa::path(get, path = "/api/users/duplicates", tag = "users", params(DuplicatesParams),
    responses((status = 200, body = DuplicatePage), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn list_duplicates(
    State(ctx): State<ApiContext>,
    _auth: Can<perm::ManageUsers>,
    Query(params): Query<DuplicatesParams>,
) -> Result<Json<DuplicatePage>> {
    let page = params.page.max(1);
    let offset = i64::from(page - 1) * i64::from(GROUPS_PER_PAGE);
    // A grouped pass over every active user: it takes one of the search's
    // turns, so a burst of these cannot hold every connection (503 after
    // `--search-timeout-secs` without one).
    let _turn = tokio::time::timeout(
        ctx.config.search_timeout,
        ctx.searches.clone().acquire_owned(),
    )
    .await
    .map_err(|_| Error::Busy {
        message: "the server is busy: ask for the possible duplicates again in a moment".into(),
        retry_after_secs: 5,
    })?
    .map_err(|e| Error::Internal(e.into()))?;
    let mut conn = ctx.db.acquire().await?;
    // One grouped pass: the page's groups and, beside each, how many
    // groups there are. ('' is a user without a key: a blank name.)
    const GROUPS: &str = "WITH g AS (SELECT dup_key, COUNT(*) AS n FROM users \
        WHERE deleted_at IS NULL AND dup_key <> '' GROUP BY dup_key HAVING COUNT(*) > 1) \
        SELECT dup_key, CAST(n AS BIGINT) AS members, \
        CAST((SELECT COUNT(*) FROM g) AS BIGINT) AS total \
        FROM g ORDER BY dup_key LIMIT $1 OFFSET $2";
    let groups: Vec<GroupRow> = sqlx::query_as(GROUPS)
        .bind(i64::from(GROUPS_PER_PAGE))
        .bind(offset)
        .fetch_all(&mut *conn)
        .await?;
    let groups_total = match groups.first() {
        Some(g) => g.total,
        // Past the last page: the count alone.
        None => {
            sqlx::query_scalar(
                "SELECT CAST(COUNT(*) AS BIGINT) FROM (SELECT dup_key FROM users \
             WHERE deleted_at IS NULL AND dup_key <> '' GROUP BY dup_key HAVING COUNT(*) > 1) g",
            )
            .fetch_one(&mut *conn)
            .await?
        }
    };
    let mut out = DuplicatePage {
        page,
        per_page: GROUPS_PER_PAGE,
        groups_total: groups_total.max(0) as u64,
        groups: Vec::with_capacity(groups.len()),
    };
    if groups.is_empty() {
        return Ok(Json(out));
    }

    // The page's users, the first USERS_PER_GROUP of each group.
    let sql = format!(
        "SELECT id, dup_key, username, user_id, first_name, last_name, email, role_name, \
         updated_at FROM (SELECT u.id, u.dup_key, u.username, u.user_id, u.first_name, \
         u.last_name, u.email, r.name AS role_name, u.updated_at, \
         ROW_NUMBER() OVER (PARTITION BY u.dup_key ORDER BY u.id) AS place \
         FROM users u JOIN roles r ON r.id = u.role_id \
         WHERE u.deleted_at IS NULL AND u.dup_key IN ({})) t \
         WHERE place <= {USERS_PER_GROUP} ORDER BY dup_key, id",
        placeholders(Style::of(&conn), 1, groups.len())
    );
    let mut query = sqlx::query_as::<_, UserRow>(&sql);
    for g in &groups {
        query = query.bind(&g.dup_key);
    }
    let users = query.fetch_all(&mut *conn).await?;

    let sql = format!(
        "SELECT user_pk, node_id FROM user_memberships WHERE user_pk IN ({}) \
         ORDER BY user_pk, node_id",
        placeholders(Style::of(&conn), 1, users.len())
    );
    let mut query = sqlx::query_as::<_, (i64, i64)>(&sql);
    for u in &users {
        query = query.bind(u.id);
    }
    let memberships = query.fetch_all(&mut *conn).await?;
    let paths: HashMap<i64, String> = all_nodes(&mut *conn)
        .await?
        .into_iter()
        .map(|n| (n.id, n.path))
        .collect();
    let mut nodes_of: HashMap<i64, Vec<String>> = HashMap::new();
    for (user_pk, node) in memberships {
        if let Some(path) = paths.get(&node) {
            nodes_of.entry(user_pk).or_default().push(path.clone());
        }
    }

    let mut by_key: HashMap<String, Vec<DuplicateUser>> = HashMap::new();
    for u in users {
        let mut hierarchy_paths = nodes_of.remove(&u.id).unwrap_or_default();
        hierarchy_paths.sort();
        by_key.entry(u.dup_key).or_default().push(DuplicateUser {
            id: u.id,
            username: u.username,
            user_id: u.user_id,
            first_name: u.first_name,
            last_name: u.last_name,
            email: u.email,
            role_name: u.role_name,
            hierarchy_paths,
            updated_at: rfc3339(u.updated_at),
        });
    }
    for g in groups {
        out.groups.push(DuplicateGroup {
            count: g.members.max(0) as u64,
            users: by_key.remove(&g.dup_key).unwrap_or_default(),
        });
    }
    Ok(Json(out))
}
