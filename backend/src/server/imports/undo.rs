//! Undo an import (SPEC section 6b): the import's record (`import_changes`,
//! `import_nodes`) against the directory as it is now. Users it created go
//! to the trash can, users it synchronised get their earlier values back,
//! nodes it created that are left empty are removed; a user changed since
//! by anything else is left alone. Previewed first; the commit recomputes
//! the preview under the directory's write lock and refuses (409 with the
//! fresh one) if its fingerprint differs. docs/SERVER.md, "Undo".

use std::collections::{HashMap, HashSet};

use roster_shared::api::ChangeAction;
use roster_shared::api::undo::{
    UndoPreview, UndoRestore, UndoResult, UndoSummary, UndoUntouched, UndoUser, UntouchedReason,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::AnyConnection;

use super::Actor;
use super::commit::hash_digest;
use crate::db::bulk::{self, Style};
use crate::db::hierarchy::{MAX_DEPTH, all_nodes};
use crate::db::users::{dup_key, ensure_full_administrator_remains};
use crate::db::{self, Tx};
use crate::error::{Error, Result, ResultExt};
use crate::password::hex;
use crate::permissions::Permissions;
use crate::search::{self, Searched};

/// Entries listed in each of the preview's lists.
const LISTED: usize = 100;

/// A user's values as the import history keeps them (`commit.rs`'s
/// `UserValues`); never a password or hash.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq)]
struct Values {
    first_name: String,
    last_name: String,
    username: String,
    email: String,
    user_id: String,
    role_id: i64,
    special_needs: Option<bool>,
    sync_key: Option<String>,
    time_zone: String,
    has_password: bool,
    in_trash: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    hierarchy_id: Option<i64>,
}

/// One `import_changes` row of the import being undone.
#[derive(sqlx::FromRow)]
struct ChangeRow {
    row_number: i64,
    user_pk: i64,
    action: String,
    before_json: Option<String>,
    after_json: String,
    password_hash_before: Option<String>,
    password_after_digest: Option<String>,
    membership_added: Option<i64>,
}

/// A user as the directory holds them now (the hash stays in the server).
#[derive(sqlx::FromRow)]
struct Current {
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
    password_hash: Option<String>,
    deleted_at: Option<i64>,
}

impl Current {
    fn values(&self, hierarchy_id: Option<i64>) -> Values {
        Values {
            first_name: self.first_name.clone(),
            last_name: self.last_name.clone(),
            username: self.username.clone(),
            email: self.email.clone(),
            user_id: self.user_id.clone(),
            role_id: self.role_id,
            special_needs: self.special_needs.map(|v| v != 0),
            sync_key: self.sync_key.clone(),
            time_zone: self.time_zone.clone(),
            has_password: self.password_hash.is_some(),
            in_trash: self.deleted_at.is_some(),
            hierarchy_id,
        }
    }
}

/// A synchronised user whose earlier values come back.
struct Restore {
    row: i64,
    user_pk: i64,
    fields: Vec<String>,
    now: Values,
    before: Values,
    /// `Some(hash or none)` when the import changed the password.
    hash: Option<Option<String>>,
    membership_added: Option<i64>,
}

impl Restore {
    /// The searched fields the restore writes: the earlier values, under
    /// the username the user has now (an undo, like a sync, keeps it).
    fn searched(&self) -> Searched<'_> {
        Searched {
            first_name: &self.before.first_name,
            last_name: &self.before.last_name,
            username: &self.now.username,
            email: &self.before.email,
            user_id: &self.before.user_id,
        }
    }

    /// Whether the restore changes the user's sort key or search terms
    /// (an undo of a change of role or time zone keeps them).
    fn reindexes(&self) -> bool {
        let now = Searched {
            first_name: &self.now.first_name,
            last_name: &self.now.last_name,
            username: &self.now.username,
            email: &self.now.email,
            user_id: &self.now.user_id,
        };
        !self.searched().same_rows(&now)
    }
}

struct Trash {
    row: i64,
    user_pk: i64,
    now: Values,
}

/// What the undo would do, computed from the directory as it is now.
struct Plan {
    import_id: i64,
    role_id: i64,
    role_name: String,
    hierarchy_id: i64,
    hierarchy_path: String,
    trash: Vec<Trash>,
    restore: Vec<Restore>,
    /// Deepest first.
    remove_nodes: Vec<(i64, String)>,
    untouched: Vec<UndoUntouched>,
    fingerprint: String,
}

impl Plan {
    fn preview(&self) -> UndoPreview {
        UndoPreview {
            import_id: self.import_id,
            fingerprint: self.fingerprint.clone(),
            summary: UndoSummary {
                to_trash: self.trash.len() as u64,
                to_restore: self.restore.len() as u64,
                nodes_to_remove: self.remove_nodes.len() as u64,
                untouched: self.untouched.len() as u64,
            },
            to_trash: self
                .trash
                .iter()
                .take(LISTED)
                .map(|t| UndoUser {
                    id: t.user_pk,
                    username: t.now.username.clone(),
                    user_id: t.now.user_id.clone(),
                })
                .collect(),
            to_restore: self
                .restore
                .iter()
                .take(LISTED)
                .map(|r| UndoRestore {
                    id: r.user_pk,
                    username: r.now.username.clone(),
                    fields: r.fields.clone(),
                })
                .collect(),
            nodes_to_remove: self
                .remove_nodes
                .iter()
                .take(LISTED)
                .map(|(_, path)| path.clone())
                .collect(),
            untouched: self.untouched.iter().take(LISTED).cloned().collect(),
        }
    }
}

/// The field keys (SPEC section 2, plus `role`, `hierarchy`, `password`)
/// whose values differ between `a` and `b`, in the order the API lists
/// them; whether the password and the node differ, the caller judges.
fn differing_fields(a: &Values, b: &Values, password: bool, hierarchy: bool) -> Vec<String> {
    [
        ("first_name", a.first_name != b.first_name),
        ("last_name", a.last_name != b.last_name),
        ("username", a.username != b.username),
        ("email", a.email != b.email),
        ("user_id", a.user_id != b.user_id),
        ("password", password),
        ("special_needs", a.special_needs != b.special_needs),
        ("sync_key", a.sync_key != b.sync_key),
        ("time_zone", a.time_zone != b.time_zone),
        ("role", a.role_id != b.role_id),
        ("hierarchy", hierarchy),
    ]
    .into_iter()
    .filter(|(_, differs)| *differs)
    .map(|(key, _)| key.to_string())
    .collect()
}

/// What changed since the import left a user (`then`), who is `now`:
/// [`differing_fields`], where `hierarchy` is that the node the import
/// placed the user in is no longer theirs and `password` that the hash is
/// no longer the one the import wrote (when it wrote one, else whether
/// there is one at all).
fn changed_fields(
    then: &Values,
    now: &Current,
    memberships: &HashSet<(i64, i64)>,
    after_digest: Option<&str>,
) -> Vec<String> {
    let password = match after_digest {
        Some(digest) => now.password_hash.as_deref().map(hash_digest).as_deref() != Some(digest),
        None => then.has_password != now.password_hash.is_some(),
    };
    let hierarchy = then
        .hierarchy_id
        .is_some_and(|n| !memberships.contains(&(now.id, n)));
    differing_fields(then, &now.values(None), password, hierarchy)
}

fn untouched(
    user_pk: i64,
    username: &str,
    reason: UntouchedReason,
    fields: Vec<String>,
) -> UndoUntouched {
    let message = match reason {
        UntouchedReason::Gone => format!("{username} was deleted for good since the import."),
        UntouchedReason::UserIdTaken => {
            format!("{username}'s earlier user ID is held by another user now.")
        }
        UntouchedReason::ChangedSince if fields.is_empty() => {
            format!("{username} was moved to or out of the trash can since the import.")
        }
        UntouchedReason::ChangedSince if fields == ["role"] => {
            format!("{username} cannot get their earlier role back: it was deleted or changed.")
        }
        UntouchedReason::ChangedSince => format!(
            "{username} was changed since the import ({}).",
            fields.join(", ")
        ),
    };
    UndoUntouched {
        id: user_pk,
        username: username.to_string(),
        reason,
        fields,
        message,
    }
}

/// The users import `id` wrote, as the directory holds them now: read by a
/// join with its record, not by 100 statements of 1,000 ids each.
async fn load_current(conn: &mut AnyConnection, id: i64) -> sqlx::Result<HashMap<i64, Current>> {
    let users: Vec<Current> = sqlx::query_as(
        "SELECT u.id, u.first_name, u.last_name, u.username, u.email, u.user_id, u.role_id, \
         u.special_needs, u.sync_key, u.time_zone, u.password_hash, u.deleted_at \
         FROM import_changes c JOIN users u ON u.id = c.user_pk WHERE c.import_id = $1",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?;
    Ok(users.into_iter().map(|u| (u.id, u)).collect())
}

/// `(a, b)` pairs of `SELECT a, b FROM … WHERE {column} IN (keys)`.
async fn pairs_in(
    conn: &mut AnyConnection,
    select: &str,
    keys: &[i64],
) -> sqlx::Result<Vec<(i64, i64)>> {
    let mut out = Vec::new();
    bulk::fetch_in(conn, select, keys, |pair| out.push(pair)).await?;
    Ok(out)
}

/// Holders of these user IDs now: user ID → id.
async fn holders(conn: &mut AnyConnection, ids: &[String]) -> sqlx::Result<HashMap<String, i64>> {
    let mut out = HashMap::new();
    bulk::fetch_in(
        conn,
        "SELECT user_id, id FROM users WHERE user_id",
        ids,
        |(user_id, id)| {
            out.insert(user_id, id);
        },
    )
    .await?;
    Ok(out)
}

#[derive(sqlx::FromRow)]
struct ImportHead {
    state: String,
    role_id: i64,
    role_name: String,
    hierarchy_id: i64,
    hierarchy_path: String,
    undo_of: Option<i64>,
    undone_by: Option<i64>,
    undo_record: i64,
}

/// The import `id`, if it can be undone by `actor` (404, 409, 403).
async fn undoable(conn: &mut AnyConnection, actor: Actor, id: i64) -> Result<ImportHead> {
    let head: Option<ImportHead> = sqlx::query_as(
        "SELECT state, role_id, role_name, hierarchy_id, hierarchy_path, undo_of, undo_record, \
         (SELECT u.id FROM imports u WHERE u.undo_of = i.id) AS undone_by \
         FROM imports i WHERE i.id = $1",
    )
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    let head = head.ok_or_else(|| Error::not_found("no such import"))?;
    if let Some(undo) = head.undone_by {
        return Err(Error::AlreadyUndone(format!(
            "this import was undone already (import {undo})"
        )));
    }
    if head.undo_of.is_some() {
        return Err(Error::conflict("an undo cannot be undone"));
    }
    if head.state != "done" {
        return Err(Error::conflict(
            "only a finished import can be undone: this one is a preview or still running",
        ));
    }
    if head.undo_record == 0 {
        return Err(Error::conflict(
            "this import was made before Roster kept what an undo needs (earlier passwords, \
             memberships and nodes): it cannot be undone",
        ));
    }
    let bits: Option<i64> = sqlx::query_scalar("SELECT permissions FROM roles WHERE id = $1")
        .bind(head.role_id)
        .fetch_optional(&mut *conn)
        .await?;
    // A role deleted since is given by nobody now: manage_users suffices.
    if let Some(bits) = bits
        && !actor.permissions.covers(Permissions::from_bits(bits))
    {
        return Err(Error::forbidden(
            "you cannot undo this import: its role needs permissions your role lacks",
        ));
    }
    Ok(head)
}

/// Computes the undo of import `id` from the directory as `conn` sees it.
async fn plan(conn: &mut AnyConnection, actor: Actor, id: i64) -> Result<Plan> {
    let head = undoable(conn, actor, id).await?;
    let changes: Vec<ChangeRow> = sqlx::query_as(
        "SELECT row_number, user_pk, action, before_json, after_json, password_hash_before, \
         password_after_digest, membership_added FROM import_changes WHERE import_id = $1 \
         ORDER BY row_number",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?;
    let current = load_current(conn, id).await?;
    let memberships: HashSet<(i64, i64)> = sqlx::query_as::<_, (i64, i64)>(
        "SELECT m.user_pk, m.node_id FROM import_changes c \
         JOIN user_memberships m ON m.user_pk = c.user_pk WHERE c.import_id = $1",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .collect();
    let roles: HashMap<i64, Permissions> =
        sqlx::query_as::<_, (i64, i64)>("SELECT id, permissions FROM roles")
            .fetch_all(&mut *conn)
            .await?
            .into_iter()
            .map(|(id, bits)| (id, Permissions::from_bits(bits)))
            .collect();
    let parse = |s: &str| -> Result<Values> {
        serde_json::from_str(s).map_err(|e| Error::Internal(anyhow::anyhow!("import history: {e}")))
    };

    let mut trash = Vec::new();
    let mut restore = Vec::new();
    let mut untouched_list = Vec::new();
    // Restores whose user ID comes back, checked against its holders below.
    let mut wanted_ids = Vec::new();
    for change in &changes {
        let after = parse(&change.after_json)?;
        let Some(now) = current.get(&change.user_pk) else {
            untouched_list.push(untouched(
                change.user_pk,
                &after.username,
                UntouchedReason::Gone,
                Vec::new(),
            ));
            continue;
        };
        let fields = changed_fields(
            &after,
            now,
            &memberships,
            change.password_after_digest.as_deref(),
        );
        let moved = now.deleted_at.is_some() != after.in_trash;
        if !fields.is_empty() || moved {
            untouched_list.push(untouched(
                change.user_pk,
                &now.username,
                UntouchedReason::ChangedSince,
                fields,
            ));
            continue;
        }
        let now_values = now.values(after.hierarchy_id);
        if ChangeAction::from_key(&change.action) == Some(ChangeAction::Create) {
            trash.push(Trash {
                row: change.row_number,
                user_pk: change.user_pk,
                now: now_values,
            });
            continue;
        }
        let before = parse(change.before_json.as_deref().unwrap_or("null"))?;
        let hash = change
            .password_after_digest
            .as_ref()
            .map(|_| change.password_hash_before.clone());
        // Giving the earlier role back is giving a role: the actor must
        // cover it, as the import's maker had to.
        match roles.get(&before.role_id) {
            None => {
                untouched_list.push(untouched(
                    change.user_pk,
                    &now.username,
                    UntouchedReason::ChangedSince,
                    vec!["role".to_string()],
                ));
                continue;
            }
            Some(p) if !actor.permissions.covers(*p) => {
                return Err(Error::forbidden(format!(
                    "you cannot undo this import: {} would get back a role that needs \
                     permissions your role lacks",
                    now.username
                )));
            }
            Some(_) => {}
        }
        if before.user_id != now.user_id {
            wanted_ids.push(before.user_id.clone());
        }
        restore.push(Restore {
            row: change.row_number,
            user_pk: change.user_pk,
            // What a restore gives back: where the import's before and
            // after differ (a sync keeps the username: never among them).
            fields: differing_fields(
                &before,
                &after,
                hash.is_some(),
                change.membership_added.is_some(),
            ),
            now: now_values,
            before,
            hash,
            membership_added: change.membership_added,
        });
    }
    let held = holders(conn, &wanted_ids).await?;
    restore.retain(|r| match held.get(&r.before.user_id) {
        Some(&holder) if holder != r.user_pk => {
            untouched_list.push(untouched(
                r.user_pk,
                &r.now.username,
                UntouchedReason::UserIdTaken,
                vec!["user_id".to_string()],
            ));
            false
        }
        _ => true,
    });

    let remove_nodes = nodes_to_remove(conn, id, &trash, &restore).await?;

    let mut h = Sha256::new();
    for t in &trash {
        h.update(format!("t{}\n", t.user_pk));
    }
    for r in &restore {
        h.update(format!("r{}:{}\n", r.user_pk, r.fields.join(",")));
    }
    for (node, path) in &remove_nodes {
        h.update(format!("n{node}:{path}\n"));
    }
    for u in &untouched_list {
        h.update(format!(
            "u{}:{}:{}\n",
            u.id,
            u.reason.key(),
            u.fields.join(",")
        ));
    }
    untouched_list.sort_by_key(|u| u.id);
    Ok(Plan {
        import_id: id,
        role_id: head.role_id,
        role_name: head.role_name,
        hierarchy_id: head.hierarchy_id,
        hierarchy_path: head.hierarchy_path,
        trash,
        restore,
        remove_nodes,
        untouched: untouched_list,
        fingerprint: hex(&h.finalize()),
    })
}

/// The nodes import `id` created that the undo leaves empty: still there,
/// no member but users this undo trashes or takes out of it, no child but
/// such nodes. Deepest first, each with its path.
async fn nodes_to_remove(
    conn: &mut AnyConnection,
    id: i64,
    trash: &[Trash],
    restore: &[Restore],
) -> Result<Vec<(i64, String)>> {
    let created: Vec<i64> =
        sqlx::query_scalar("SELECT node_id FROM import_nodes WHERE import_id = $1")
            .bind(id)
            .fetch_all(&mut *conn)
            .await?;
    if created.is_empty() {
        return Ok(Vec::new());
    }
    let nodes = all_nodes(&mut *conn).await?;
    let parents: HashMap<i64, Option<i64>> = nodes.iter().map(|n| (n.id, n.parent_id)).collect();
    let paths: HashMap<i64, &str> = nodes.iter().map(|n| (n.id, n.path.as_str())).collect();
    let mut children: HashMap<i64, Vec<i64>> = HashMap::new();
    for n in &nodes {
        if let Some(p) = n.parent_id {
            children.entry(p).or_default().push(n.id);
        }
    }
    let candidates: Vec<i64> = created
        .into_iter()
        .filter(|n| parents.contains_key(n))
        .collect();
    let members = pairs_in(
        conn,
        "SELECT node_id, user_pk FROM user_memberships WHERE node_id",
        &candidates,
    )
    .await?;
    let trashed: HashSet<i64> = trash.iter().map(|t| t.user_pk).collect();
    let leaving: HashSet<(i64, i64)> = restore
        .iter()
        .filter_map(|r| r.membership_added.map(|n| (r.user_pk, n)))
        .collect();
    let mut kept_by_member: HashSet<i64> = HashSet::new();
    for (node, user) in members {
        if !trashed.contains(&user) && !leaving.contains(&(user, node)) {
            kept_by_member.insert(node);
        }
    }
    // Depth counted up to the tree's bound (a damaged table's cycle ends).
    let depth = |mut n: i64| {
        let mut d = 0;
        while let Some(Some(p)) = parents.get(&n)
            && d <= MAX_DEPTH
        {
            d += 1;
            n = *p;
        }
        d
    };
    let mut ordered: Vec<(usize, i64)> = candidates.iter().map(|&n| (depth(n), n)).collect();
    // Deepest first: a node's children are judged before it.
    ordered.sort_unstable();
    ordered.reverse();
    let mut removable: HashSet<i64> = HashSet::new();
    for (_, node) in ordered.iter().copied() {
        let children_go = children
            .get(&node)
            .is_none_or(|c| c.iter().all(|c| removable.contains(c)));
        if children_go && !kept_by_member.contains(&node) {
            removable.insert(node);
        }
    }
    Ok(ordered
        .into_iter()
        .filter(|(_, n)| removable.contains(n))
        .map(|(_, n)| (n, paths[&n].to_string()))
        .collect())
}

/// The undo preview of import `id` (`POST /api/imports/{id}/undo`).
pub async fn undo_preview(db: &db::Db, actor: Actor, id: i64) -> Result<UndoPreview> {
    let mut conn = db.acquire().await?;
    Ok(plan(&mut conn, actor, id).await?.preview())
}

/// Undoes import `id` in one transaction, if the directory still gives
/// the preview whose `fingerprint` was shown (else 409 `stale_undo`).
pub async fn undo_commit(
    db: &db::Db,
    actor: Actor,
    id: i64,
    fingerprint: &str,
    now: i64,
) -> Result<UndoResult> {
    let mut tx = db::begin_directory_write(db).await?;
    let plan = plan(&mut tx, actor, id).await?;
    if plan.fingerprint != fingerprint {
        tx.rollback().await?;
        return Err(Error::StaleUndo(Box::new(plan.preview())));
    }
    let undo_id = write(&mut tx, actor, &plan, now).await?;
    ensure_full_administrator_remains(&mut tx).await?;
    tx.commit()
        .await
        .conflict_on_unique("a user ID came back that another user took at the same moment")?;
    if plan.trash.len() + plan.restore.len() >= db::REFRESH_STATISTICS_FROM {
        db::refresh_statistics(db).await;
    }
    Ok(UndoResult {
        undo_import_id: undo_id,
        trashed: plan.trash.len() as u64,
        restored: plan.restore.len() as u64,
        nodes_removed: plan.remove_nodes.len() as u64,
        untouched: plan.untouched.len() as u64,
    })
}

fn json(v: &impl Serialize) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

/// Writes the plan with multi-row statements and records it as its own
/// import. Returns the undo's import id.
async fn write(tx: &mut Tx, actor: Actor, plan: &Plan, now: i64) -> Result<i64> {
    let style = Style::of(tx);
    // Its history entry first: the unique link refuses a second undo.
    let created_by_name: String = sqlx::query_scalar("SELECT username FROM users WHERE id = $1")
        .bind(actor.user_pk)
        .fetch_optional(&mut **tx)
        .await?
        .unwrap_or_else(|| "(command line)".to_string());
    let changes = (plan.trash.len() + plan.restore.len()) as i64;
    let summary = roster_shared::api::ImportSummary {
        rows: changes as usize,
        to_sync: plan.restore.len(),
        ..Default::default()
    };
    let undo_id: i64 = sqlx::query_scalar(
        "INSERT INTO imports (state, created_by, created_by_name, created_at, expires_at, \
         file_name, sha256, role_id, role_name, hierarchy_id, hierarchy_path, rows_json, \
         fingerprint, summary_json, errors_json, total_rows, progress_done, created, synced, \
         skipped, committed_at, committed_by, undo_of) \
         VALUES ('done', $1, $2, $3, $3, $4, '', $5, $6, $7, $8, '[]', $9, $10, '[]', $11, $11, \
         0, $12, $13, $3, $1, $14) RETURNING id",
    )
    .bind(actor.user_pk)
    .bind(created_by_name)
    .bind(now)
    .bind(format!("Undo of import {}", plan.import_id))
    .bind(plan.role_id)
    .bind(&plan.role_name)
    .bind(plan.hierarchy_id)
    .bind(&plan.hierarchy_path)
    .bind(&plan.fingerprint)
    .bind(json(&summary))
    .bind(changes)
    .bind(plan.restore.len() as i64)
    .bind(plan.untouched.len() as i64)
    .bind(plan.import_id)
    .fetch_one(&mut **tx)
    .await
    .map_err(|e| {
        if e.as_database_error()
            .is_some_and(|d| d.is_unique_violation())
        {
            Error::AlreadyUndone("this import was undone already".into())
        } else {
            Error::from(e)
        }
    })?;

    // The hashes the import kept were for this undo only: they go now.
    sqlx::query(
        "UPDATE import_changes SET password_hash_before = NULL \
         WHERE import_id = $1 AND password_hash_before IS NOT NULL",
    )
    .bind(plan.import_id)
    .execute(&mut **tx)
    .await?;

    // Created users: to the trash can, as DELETE /api/users/{id} does,
    // their search terms deleted (the trash can keeps none).
    let trashed: Vec<i64> = plan.trash.iter().map(|t| t.user_pk).collect();
    bulk::execute_in(
        tx,
        &format!("UPDATE users SET deleted_at = {now} WHERE deleted_at IS NULL AND id"),
        &trashed,
    )
    .await?;
    db::users::delete_search_terms(tx, &trashed).await?;

    // Synchronised users: their earlier values, one UPDATE … FROM (VALUES …)
    // per chunk; the hash only where the import changed it.
    const WIDTH: usize = 13;
    let restore: Vec<&Restore> = plan.restore.iter().collect();
    for (sql, part) in bulk::statements(
        style,
        &format!(
            "UPDATE users SET first_name = v.column2, last_name = v.column3, email = v.column4, \
             user_id = v.column5, role_id = v.column6, special_needs = v.column7, \
             sync_key = v.column8, time_zone = v.column9, sort_key = v.column10, \
             password_hash = CASE WHEN v.column11 = 1 THEN v.column12 ELSE password_hash END, \
             dup_key = v.column13, updated_at = {now} FROM ("
        ),
        ") AS v WHERE users.id = v.column1",
        WIDTH,
        &restore,
    ) {
        let mut query = sqlx::query(&sql);
        for r in part {
            let b = &r.before;
            query = query
                .bind(r.user_pk)
                .bind(&b.first_name)
                .bind(&b.last_name)
                .bind(&b.email)
                .bind(&b.user_id)
                .bind(b.role_id)
                .bind(b.special_needs.map(i64::from))
                .bind(b.sync_key.clone())
                .bind(&b.time_zone)
                .bind(r.searched().sort_key())
                .bind(i64::from(r.hash.is_some()))
                .bind(r.hash.clone().flatten())
                .bind(dup_key(&b.first_name, &b.last_name, &b.email));
        }
        query
            .execute(&mut **tx)
            .await
            .conflict_on_unique("a user ID came back that another user took at the same moment")?;
    }
    // Their search terms as their earlier values give them, where those
    // differ (none for a user in the trash can, who keeps none).
    let reindexed: Vec<&Restore> = plan
        .restore
        .iter()
        .filter(|r| !r.now.in_trash && r.reindexes())
        .collect();
    let restored: Vec<i64> = reindexed.iter().map(|r| r.user_pk).collect();
    db::users::delete_search_terms(tx, &restored).await?;
    let mut terms = Vec::new();
    for r in &reindexed {
        search::add_term_rows(&mut terms, r.user_pk, &r.searched());
    }
    db::users::insert_search_terms(tx, &terms).await?;
    // The memberships the import added.
    let left: Vec<(i64, i64)> = plan
        .restore
        .iter()
        .filter_map(|r| r.membership_added.map(|n| (r.user_pk, n)))
        .collect();
    for (sql, part) in bulk::statements(
        style,
        "DELETE FROM user_memberships WHERE (user_pk, node_id) IN (",
        ")",
        2,
        &left,
    ) {
        let mut query = sqlx::query(&sql);
        for (user, node) in part {
            query = query.bind(*user).bind(*node);
        }
        query.execute(&mut **tx).await?;
    }
    // Sessions end for the trashed and for those whose hash comes back,
    // after their rows changed (a sign-in under way waits on the row).
    let mut ended = trashed.clone();
    ended.extend(
        plan.restore
            .iter()
            .filter(|r| r.hash.is_some())
            .map(|r| r.user_pk),
    );
    bulk::execute_in(tx, "DELETE FROM sessions WHERE user_pk", &ended).await?;

    // Nodes left empty, deepest first; the trashed users' memberships in
    // them go with them.
    let nodes: Vec<i64> = plan.remove_nodes.iter().map(|(n, _)| *n).collect();
    bulk::execute_in(tx, "DELETE FROM user_memberships WHERE node_id", &nodes).await?;
    bulk::execute_in(tx, "DELETE FROM hierarchy_nodes WHERE id", &nodes).await?;

    // The undo's own record: what each user was and became.
    let mut history: Vec<(i64, i64, ChangeAction, String, String)> = Vec::new();
    for t in &plan.trash {
        let mut after = t.now.clone();
        after.in_trash = true;
        history.push((
            t.row,
            t.user_pk,
            ChangeAction::Trash,
            json(&t.now),
            json(&after),
        ));
    }
    for r in &plan.restore {
        let mut after = r.before.clone();
        after.username.clone_from(&r.now.username);
        after.in_trash = r.now.in_trash;
        after.has_password = match &r.hash {
            Some(hash) => hash.is_some(),
            None => r.now.has_password,
        };
        after.hierarchy_id = None;
        history.push((
            r.row,
            r.user_pk,
            ChangeAction::Restore,
            json(&r.now),
            json(&after),
        ));
    }
    bulk::insert_rows(
        tx,
        "INSERT INTO import_changes (import_id, row_number, user_pk, action, before_json, \
         after_json)",
        "",
        6,
        &history,
        |q, (row, pk, action, before, after)| {
            q.bind(undo_id)
                .bind(*row)
                .bind(*pk)
                .bind(action.key())
                .bind(Some(before.clone()))
                .bind(after.clone())
        },
    )
    .await?;
    Ok(undo_id)
}
