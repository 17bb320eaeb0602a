//! The hierarchy: a tree of named nodes, names unique among siblings
//! case-insensitively (SPEC section 1). One root, made on first start.

use std::collections::HashMap;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use roster_shared::Field;
use roster_shared::api::{ErrorBody, NodeInput, NodeList, NodeOut, Permission};

use super::ApiContext;
use super::extract::{AuthUser, Can, perm};
use super::json::{Json, Path};
use crate::db::hierarchy::{MAX_DEPTH, all_nodes, count_users};
use crate::db::{self, Tx};
use crate::error::{Error, Result, ResultExt};

pub fn router() -> Router<ApiContext> {
    Router::new()
        .route("/hierarchy", get(list_nodes).post(create_node))
        .route("/hierarchy/{id}", put(update_node).delete(delete_node))
}

/// Each node's parent, the whole tree.
async fn parents(tx: &mut Tx) -> sqlx::Result<HashMap<i64, Option<i64>>> {
    let rows: Vec<(i64, Option<i64>)> = sqlx::query_as("SELECT id, parent_id FROM hierarchy_nodes")
        .fetch_all(&mut **tx)
        .await?;
    Ok(rows.into_iter().collect())
}

/// `start` and the nodes above it up to the root, `start` first. The walk
/// stops with an error past [`MAX_DEPTH`] or on a cycle (a damaged table):
/// it never loops.
fn ancestors(parents: &HashMap<i64, Option<i64>>, start: i64) -> Result<Vec<i64>> {
    let mut up = vec![start];
    while let Some(Some(parent)) = up.last().and_then(|n| parents.get(n)) {
        if up.contains(parent) {
            return Err(
                anyhow::anyhow!("the hierarchy table holds a cycle through node {parent}").into(),
            );
        }
        if up.len() >= MAX_DEPTH {
            return Err(too_deep());
        }
        up.push(*parent);
    }
    Ok(up)
}

/// How many levels the subtree under `id` spans, `id`'s own included,
/// counted up to one past [`MAX_DEPTH`] (more is too deep anyway).
fn height(parents: &HashMap<i64, Option<i64>>, id: i64) -> usize {
    let mut children: HashMap<i64, Vec<i64>> = HashMap::new();
    for (node, parent) in parents {
        if let Some(parent) = parent {
            children.entry(*parent).or_default().push(*node);
        }
    }
    let mut levels = 0;
    let mut level = vec![id];
    while !level.is_empty() && levels <= MAX_DEPTH {
        levels += 1;
        level = level
            .iter()
            .filter_map(|n| children.get(n))
            .flatten()
            .copied()
            .collect();
    }
    levels
}

fn too_deep() -> Error {
    Error::invalid(
        "parent_id",
        "too_deep",
        format!("Parent: the hierarchy is at most {MAX_DEPTH} levels deep"),
    )
}

/// 409 when a unique index was reached first by a concurrent write.
const SIBLING_TAKEN: &str = "Name: a node with this name already exists under this parent";

async fn node_out(tx: &mut Tx, id: i64) -> Result<NodeOut> {
    let mut node = all_nodes(&mut **tx)
        .await?
        .into_iter()
        .find(|n| n.id == id)
        .ok_or_else(|| Error::not_found("no such hierarchy node"))?;
    // One node's count by the membership index, not the whole tree's.
    node.users = sqlx::query_scalar(
        "SELECT COUNT(*) FROM user_memberships m JOIN users u ON u.id = m.user_pk \
         WHERE m.node_id = $1 AND u.deleted_at IS NULL",
    )
    .bind(id)
    .fetch_one(&mut **tx)
    .await?;
    Ok(node)
}

/// 409 when a sibling under `parent` already has the name (any case).
async fn ensure_free_name(tx: &mut Tx, parent: i64, name: &str, except: i64) -> Result<()> {
    let taken: Option<i64> = sqlx::query_scalar(
        "SELECT id FROM hierarchy_nodes WHERE parent_id = $1 AND name_key = $2 AND id <> $3",
    )
    .bind(parent)
    .bind(name.to_lowercase())
    .bind(except)
    .fetch_optional(&mut **tx)
    .await?;
    if taken.is_some() {
        return Err(Error::conflict(
            "Name: a node with this name already exists under this parent",
        ));
    }
    Ok(())
}

/// The whole tree. Readable with `manage_hierarchy`, or `manage_users` (to
/// place users in it).
#[utoipa::path(get, path = "/api/hierarchy", tag = "hierarchy",
    responses((status = 200, body = NodeList), (status = 403, body = ErrorBody)))]
pub async fn list_nodes(State(ctx): State<ApiContext>, auth: AuthUser) -> Result<Json<NodeList>> {
    auth.require_any(&[Permission::ManageHierarchy, Permission::ManageUsers])?;
    let mut nodes = all_nodes(&ctx.db).await?;
    count_users(&ctx.db, &mut nodes).await?;
    Ok(Json(NodeList { nodes }))
}

#[utoipa::path(post, path = "/api/hierarchy", tag = "hierarchy", request_body = NodeInput,
    responses((status = 201, body = NodeOut), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_node(
    State(ctx): State<ApiContext>,
    auth: Can<perm::ManageHierarchy>,
    Json(input): Json<NodeInput>,
) -> Result<Response> {
    let name = super::check_name(&input.name, Field::SubLevel1)?;
    let Some(parent) = input.parent_id else {
        return Err(Error::invalid(
            "parent_id",
            "required",
            "Parent: a new node needs a parent (there is one root)",
        ));
    };
    let mut tx = db::begin_directory_write(&ctx.db).await?;
    let parents = parents(&mut tx).await?;
    if !parents.contains_key(&parent) {
        return Err(Error::invalid(
            "parent_id",
            "not_found",
            "Parent: no such node",
        ));
    }
    if ancestors(&parents, parent)?.len() >= MAX_DEPTH {
        return Err(too_deep());
    }
    ensure_free_name(&mut tx, parent, &name, -1).await?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO hierarchy_nodes (parent_id, name, name_key) VALUES ($1, $2, $3) RETURNING id",
    )
    .bind(parent)
    .bind(&name)
    .bind(name.to_lowercase())
    .fetch_one(&mut *tx)
    .await
    .conflict_on_unique(SIBLING_TAKEN)?;
    let node = node_out(&mut tx, id).await?;
    tx.commit().await?;
    tracing::info!(actor = auth.user_pk, node = id, "created a hierarchy node");
    Ok((StatusCode::CREATED, Json(node)).into_response())
}

/// Renames a node, or moves it under another parent (never below itself).
#[utoipa::path(put, path = "/api/hierarchy/{id}", tag = "hierarchy", params(("id" = i64, Path)),
    request_body = NodeInput,
    responses((status = 200, body = NodeOut), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn update_node(
    State(ctx): State<ApiContext>,
    auth: Can<perm::ManageHierarchy>,
    Path(id): Path<i64>,
    Json(input): Json<NodeInput>,
) -> Result<Json<NodeOut>> {
    let name = super::check_name(&input.name, Field::SubLevel1)?;
    let mut tx = db::begin_directory_write(&ctx.db).await?;
    let parents = parents(&mut tx).await?;
    let current = *parents
        .get(&id)
        .ok_or_else(|| Error::not_found("no such hierarchy node"))?;
    let parent = match (current, input.parent_id) {
        (None, None) => None,
        (None, Some(_)) => {
            return Err(Error::invalid(
                "parent_id",
                "invalid",
                "Parent: the root cannot be moved",
            ));
        }
        (Some(current), None) => Some(current),
        (Some(_), Some(new)) => {
            if !parents.contains_key(&new) {
                return Err(Error::invalid(
                    "parent_id",
                    "not_found",
                    "Parent: no such node",
                ));
            }
            // Above the new parent: meeting the node would make a cycle.
            let above = ancestors(&parents, new)?;
            if above.contains(&id) {
                return Err(Error::invalid(
                    "parent_id",
                    "invalid",
                    "Parent: a node cannot move below itself",
                ));
            }
            if above.len() + height(&parents, id) > MAX_DEPTH {
                return Err(too_deep());
            }
            Some(new)
        }
    };
    if let Some(parent) = parent {
        ensure_free_name(&mut tx, parent, &name, id).await?;
    }
    sqlx::query(
        "UPDATE hierarchy_nodes SET parent_id = $1, name = $2, name_key = $3 WHERE id = $4",
    )
    .bind(parent)
    .bind(&name)
    .bind(name.to_lowercase())
    .bind(id)
    .execute(&mut *tx)
    .await
    .conflict_on_unique(SIBLING_TAKEN)?;
    let node = node_out(&mut tx, id).await?;
    tx.commit().await?;
    tracing::info!(actor = auth.user_pk, node = id, "changed a hierarchy node");
    Ok(Json(node))
}

/// Deletes a node with no children and no members (the trash can counted).
#[utoipa::path(delete, path = "/api/hierarchy/{id}", tag = "hierarchy", params(("id" = i64, Path)),
    responses((status = 204, description = "deleted"), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn delete_node(
    State(ctx): State<ApiContext>,
    auth: Can<perm::ManageHierarchy>,
    Path(id): Path<i64>,
) -> Result<StatusCode> {
    let mut tx = db::begin_directory_write(&ctx.db).await?;
    let parent: Option<Option<i64>> =
        sqlx::query_scalar("SELECT parent_id FROM hierarchy_nodes WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
    match parent {
        None => return Err(Error::not_found("no such hierarchy node")),
        Some(None) => return Err(Error::conflict("the root node cannot be deleted")),
        Some(Some(_)) => {}
    }
    let children: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM hierarchy_nodes WHERE parent_id = $1")
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
    if children > 0 {
        return Err(Error::conflict(
            "the node has child nodes; delete or move them first",
        ));
    }
    let members: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM user_memberships WHERE node_id = $1")
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
    if members > 0 {
        return Err(Error::conflict(format!(
            "{members} user(s) belong to this node (the trash can included); move them first"
        )));
    }
    sqlx::query("DELETE FROM hierarchy_nodes WHERE id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    tracing::info!(actor = auth.user_pk, node = id, "deleted a hierarchy node");
    Ok(StatusCode::NO_CONTENT)
}
