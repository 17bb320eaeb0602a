//! The hierarchy's tree as callers read it: every node with its path (the
//! tree is small next to the users: read whole), the member counts, a
//! node found by path, and the depth bound every walk up the tree keeps.

use std::collections::HashMap;

use roster_shared::api::NodeOut;

/// Every node with its path, `users` left at 0 (see [`count_users`]). The
/// tree is small next to the users; reading it whole keeps paths and cycle
/// checks simple on both databases.
pub async fn all_nodes<'e, E>(executor: E) -> sqlx::Result<Vec<NodeOut>>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let rows: Vec<(i64, Option<i64>, String)> =
        sqlx::query_as("SELECT id, parent_id, name FROM hierarchy_nodes")
            .fetch_all(executor)
            .await?;
    let by_id: HashMap<i64, (Option<i64>, &str)> = rows
        .iter()
        .map(|(id, parent, name)| (*id, (*parent, name.as_str())))
        .collect();
    let mut nodes: Vec<NodeOut> = rows
        .iter()
        .map(|(id, parent, name)| {
            let mut names = vec![name.as_str()];
            let mut up = *parent;
            // The depth bound guards against a cycle in a damaged table.
            while let Some(p) = up {
                if names.len() > by_id.len() {
                    break;
                }
                match by_id.get(&p) {
                    Some((grand, pname)) => {
                        names.push(pname);
                        up = *grand;
                    }
                    None => break,
                }
            }
            names.reverse();
            NodeOut {
                id: *id,
                parent_id: *parent,
                name: name.clone(),
                path: names.join("/"),
                users: 0,
            }
        })
        .collect();
    nodes.sort_by(|a, b| {
        a.path
            .to_lowercase()
            .cmp(&b.path.to_lowercase())
            .then(a.id.cmp(&b.id))
    });
    Ok(nodes)
}

/// Fills in each node's count of direct, active members with one grouped
/// query (not one per node). Imports skip it: they need no counts.
pub async fn count_users<'e, E>(executor: E, nodes: &mut [NodeOut]) -> sqlx::Result<()>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let counts: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT m.node_id, COUNT(*) FROM user_memberships m \
         JOIN users u ON u.id = m.user_pk \
         WHERE u.deleted_at IS NULL GROUP BY m.node_id",
    )
    .fetch_all(executor)
    .await?;
    let counts: HashMap<i64, i64> = counts.into_iter().collect();
    for node in nodes {
        node.users = counts.get(&node.id).copied().unwrap_or(0);
    }
    Ok(())
}

/// The node whose path (names from the root, joined with `/`) is `path`,
/// compared ignoring case: for `roster import --hierarchy`.
pub async fn node_by_path(db: &crate::Db, path: &str) -> sqlx::Result<Option<i64>> {
    let wanted = path.trim().trim_matches('/').to_lowercase();
    Ok(all_nodes(db)
        .await?
        .into_iter()
        .find(|n| n.path.to_lowercase() == wanted)
        .map(|n| n.id))
}

/// The deepest a node may be, the root being level 1: it bounds every walk
/// up the tree and the length of a path.
pub const MAX_DEPTH: usize = 64;
