//! Step 1 of an import: the checked rows against the directory (SPEC
//! section 5): create, sync or `in_use`, the nodes to create, and the
//! fingerprint a commit compares to know the preview still holds.

use std::collections::{HashMap, HashSet};

use roster_shared::rules::{identity_key, parse_yes_no};
use roster_shared::warnings::{directory_duplicate_warning, duplicate_key};
use roster_shared::{CheckedRows, Field, MappedRow, RowError, RuleOptions, check_rows};
use sha2::{Digest, Sha256};
use sqlx::AnyConnection;
use tokio_stream::StreamExt;

use super::{Actor, LISTED};
use crate::db::bulk::{self, IN_CHUNK, Style, chunks, placeholders};
use crate::db::hierarchy::{MAX_DEPTH, all_nodes};
use crate::db::users::username_key;
use crate::error::{Error, Result};
use crate::password::hex;
use crate::permissions::Permissions;
use roster_shared::api::{ImportPreview, ImportSummary, SyncRow, TrashRow};

/// A user of the directory, as the comparison needs it.
#[derive(sqlx::FromRow, Clone)]
pub(super) struct Existing {
    pub(super) id: i64,
    pub(super) first_name: String,
    pub(super) last_name: String,
    pub(super) username: String,
    pub(super) email: String,
    pub(super) user_id: String,
    pub(super) role_id: i64,
    pub(super) special_needs: Option<i64>,
    pub(super) sync_key: Option<String>,
    pub(super) time_zone: String,
    pub(super) has_password: i64,
    pub(super) deleted_at: Option<i64>,
}

const EXISTING_COLUMNS: &str = "id, first_name, last_name, username, email, user_id, role_id, \
    special_needs, sync_key, time_zone, \
    CAST(CASE WHEN password_hash IS NULL THEN 0 ELSE 1 END AS BIGINT) AS has_password, deleted_at";

/// A row's hierarchy node: one that exists, or one the import creates.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub(super) enum NodeRef {
    Existing(i64),
    New(usize),
}

pub(super) struct NewNode {
    pub(super) parent: NodeRef,
    pub(super) name: String,
    pub(super) path: String,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Action {
    /// Some rule of section 4 failed (or `in_use`).
    Error,
    Create,
    Sync {
        user_pk: i64,
        unchanged: bool,
    },
}

/// The rows classified against the directory.
pub(super) struct Plan {
    pub(super) checked: CheckedRows,
    pub(super) actions: Vec<Action>,
    pub(super) nodes: Vec<NodeRef>,
    pub(super) new_nodes: Vec<NewNode>,
    pub(super) existing: HashMap<i64, Existing>,
    /// The memberships of the users rows matched, before the import.
    pub(super) memberships: HashSet<(i64, i64)>,
    pub(super) fingerprint: String,
    pub(super) summary: ImportSummary,
    /// The start node's path.
    pub(super) start_path: String,
}

impl Plan {
    pub(super) fn preview(&self, id: i64) -> ImportPreview {
        let errors = first_rows(&self.checked.errors, |e| e.row);
        let warnings = first_rows(&self.checked.warnings, |w| w.row);
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
            warnings,
            sync,
            hierarchy_to_create: self.new_nodes.iter().map(|n| n.path.clone()).collect(),
            in_trash,
        }
    }
}

/// The items of the first [`LISTED`] rows of `items` (in row order).
fn first_rows<T: Clone>(items: &[T], row: impl Fn(&T) -> u32) -> Vec<T> {
    let mut out = Vec::new();
    let mut rows = 0;
    let mut last = None;
    for item in items {
        if last != Some(row(item)) {
            rows += 1;
            last = Some(row(item));
        }
        if rows > LISTED {
            break;
        }
        out.push(item.clone());
    }
    out
}

async fn load_users_by(
    conn: &mut AnyConnection,
    column: &str,
    keys: &[String],
    into: &mut HashMap<i64, Existing>,
) -> sqlx::Result<()> {
    let head = format!("SELECT {EXISTING_COLUMNS} FROM users WHERE {column}");
    bulk::fetch_in(conn, &head, keys, |user: Existing| {
        into.insert(user.id, user);
    })
    .await
}

async fn load_memberships(
    conn: &mut AnyConnection,
    users: &[i64],
) -> sqlx::Result<HashSet<(i64, i64)>> {
    let mut out = HashSet::new();
    bulk::fetch_in(
        conn,
        "SELECT user_pk, node_id FROM user_memberships WHERE user_pk",
        users,
        |pair: (i64, i64)| {
            out.insert(pair);
        },
    )
    .await?;
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
    let nodes = all_nodes(&mut *conn).await?;
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
pub(super) async fn classify(
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
    summary.with_warnings = checked.rows_with_warnings();
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
        memberships,
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
pub(super) async fn role(conn: &mut AnyConnection, role_id: i64) -> Result<(String, Permissions)> {
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
pub(super) async fn check_access(
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
pub(super) fn apply_role(
    plan: &mut Plan,
    role_id: i64,
    role_name: &str,
    role_permissions: Permissions,
) {
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

/// A user the directory already holds under a row's duplicate key.
#[derive(sqlx::FromRow)]
struct KeyHolder {
    id: i64,
    dup_key: String,
    username: String,
    user_id: String,
    deleted_at: Option<i64>,
}

/// Adds SPEC 4b's `possible_duplicate` against the directory: each row the
/// plan would create whose duplicate key (folded first + last name and
/// email) an existing user holds, active or in the trash can, names that
/// user (an active one before one in the trash can, then the oldest).
/// The keys are looked up in bulk on `users_dup_key`, [`IN_CHUNK`] a
/// statement. Try Import only: the commit imports what the preview showed,
/// and a warning never changes what it does.
pub(super) async fn add_directory_duplicates(
    conn: &mut AnyConnection,
    plan: &mut Plan,
) -> Result<()> {
    let mut keys: Vec<(usize, String)> = Vec::new();
    for (i, (row, action)) in plan.checked.rows.iter().zip(&plan.actions).enumerate() {
        if *action != Action::Create {
            continue;
        }
        if let Some(key) = duplicate_key(
            row.get(Field::FirstName),
            row.get(Field::LastName),
            row.get(Field::Email),
        ) {
            keys.push((i, key));
        }
    }
    if keys.is_empty() {
        return Ok(());
    }
    let mut distinct: Vec<&str> = keys.iter().map(|(_, k)| k.as_str()).collect();
    distinct.sort_unstable();
    distinct.dedup();
    let mut holders: HashMap<String, KeyHolder> = HashMap::new();
    for part in chunks(&distinct, IN_CHUNK) {
        let sql = format!(
            "SELECT id, dup_key, username, user_id, deleted_at FROM users WHERE dup_key IN ({})",
            placeholders(Style::of(conn), 1, part.len())
        );
        let mut query = sqlx::query_as::<_, KeyHolder>(&sql);
        for k in part {
            query = query.bind(*k);
        }
        // Streamed: a key many users share costs time, not memory.
        let mut found = query.fetch(&mut *conn);
        while let Some(user) = found.next().await {
            let user = user?;
            let rank = |u: &KeyHolder| (u.deleted_at.is_some(), u.id);
            match holders.get(&user.dup_key) {
                Some(held) if rank(held) <= rank(&user) => {}
                _ => {
                    holders.insert(user.dup_key.clone(), user);
                }
            }
        }
    }
    if holders.is_empty() {
        return Ok(());
    }
    let before = plan.checked.warnings.len();
    for (i, key) in &keys {
        if let Some(user) = holders.get(key) {
            plan.checked.warnings.push(directory_duplicate_warning(
                plan.checked.rows[*i].row,
                &user.username,
                &user.user_id,
                user.deleted_at.is_some(),
            ));
        }
    }
    if plan.checked.warnings.len() > before {
        // Rows increase (check_shape): a stable sort by row keeps each
        // row's own warnings in field order, the directory's after them.
        plan.checked.warnings.sort_by_key(|w| w.row);
        plan.summary.with_warnings = plan.checked.rows_with_warnings();
    }
    Ok(())
}
