//! Step 3: Import, the preview applied in one transaction (SPEC section 6):
//! re-classified under the directory's write lock, refused as stale if
//! its fingerprint changed, then written with multi-row statements.

use std::collections::{HashMap, HashSet};

use roster_shared::rules::parse_yes_no;
use roster_shared::{Field, MappedRow, RuleOptions, check_rows};
use serde::Serialize;
use sqlx::Row;

use super::classify::{Action, Existing, NodeRef, Plan, apply_role, check_access, classify, role};
use super::store::{
    StoredPreview, create_preview, discard_preview, load_preview, open_passwords, put_passwords,
};
use super::tracker::CommitTracker;
use super::{Actor, ImportRegistry, ImportRequest};
use crate::db::bulk::{self, Style};
use crate::db::users::{dup_key, ensure_full_administrator_remains, username_key};
use crate::db::{self, Tx};
use crate::error::{Error, Result, ResultExt};
use crate::password::PasswordPolicy;
use crate::search::{self, Searched, TermRow};
use roster_shared::api::{ChangeAction, CommitResult, ImportSummary};

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
) -> Result<CommitResult> {
    let stored = load_preview(db, id, now, actor).await?;
    let summary: ImportSummary =
        serde_json::from_str(&stored.summary_json).map_err(anyhow::Error::from)?;
    if summary.with_errors > 0 && !skip_errors {
        return Err(Error::invalid(
            "skip_errors",
            "rows_with_errors",
            format!(
                "{} rows have errors: fix them, or confirm to skip them (skip_errors)",
                summary.with_errors
            ),
        ));
    }
    let mut rows: Vec<MappedRow> =
        serde_json::from_str(&stored.rows_json).map_err(anyhow::Error::from)?;
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
    let (result, written) = outcome?;
    if written >= db::REFRESH_STATISTICS_FROM {
        db::refresh_statistics(db).await;
    }
    Ok(result)
}

/// The commit once marked running: hashes, then writes in one transaction.
/// Returns the result and the number of users it wrote (created, or
/// synchronised with a change).
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
) -> Result<(CommitResult, usize)> {
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
        return Err(Error::not_found("no such preview: it was already imported"));
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
        return Err(Error::StalePreview(Box::new(fresh)));
    }
    check_access(&mut tx, actor, role_permissions, &plan).await?;

    let (result, written) =
        write(&mut tx, &plan, stored.role_id, &hashes, id, now, tracker).await?;
    ensure_full_administrator_remains(&mut tx).await?;
    sqlx::query(
        "UPDATE imports SET state = 'done', created = $1, synced = $2, skipped = $3, \
         progress_done = total_rows, committed_at = $4, committed_by = $5, undo_record = 1 \
         WHERE id = $6",
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
    tx.commit().await.conflict_on_unique(TAKEN_MEANWHILE)?;
    Ok((result, written))
}

/// 409 when a username, user ID or node was written by another at the
/// same moment (the classification under the lock had found them free).
const TAKEN_MEANWHILE: &str = "a username, user ID or node was taken at the same moment; try again";

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

type Statement<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>;

/// Binds the eleven values a row writes both as a new user and as a
/// synchronised one, in the order both statements name them: first_name,
/// last_name, email, user_id, password_hash, role_id, special_needs,
/// sync_key, time_zone, sort_key (whose username is `username`: a sync
/// keeps the user's own), dup_key.
fn bind_values<'q>(
    query: Statement<'q>,
    row: &'q MappedRow,
    hashes: &HashMap<u32, String>,
    role_id: i64,
    time_zone: Option<&str>,
    username: &str,
) -> Statement<'q> {
    query
        .bind(row.get(Field::FirstName))
        .bind(row.get(Field::LastName))
        .bind(row.get(Field::Email))
        .bind(row.get(Field::UserId))
        .bind(hashes.get(&row.row).cloned())
        .bind(role_id)
        .bind(parse_yes_no(row.get(Field::SpecialNeeds)).map(i64::from))
        .bind(non_empty(row, Field::SyncKey).map(str::to_string))
        .bind(time_zone.map(str::to_string))
        .bind(
            Searched {
                username,
                ..searched(row)
            }
            .sort_key(),
        )
        .bind(dup_key(
            row.get(Field::FirstName),
            row.get(Field::LastName),
            row.get(Field::Email),
        ))
}

/// Writes the plan: nodes, new users, synchronised users, memberships,
/// search terms, history. Multi-row statements in chunks throughout.
/// Returns the result and the users written (created, or synchronised
/// with a change).
async fn write(
    tx: &mut Tx,
    plan: &Plan,
    role_id: i64,
    hashes: &HashMap<u32, String>,
    import_id: i64,
    now: i64,
    tracker: &mut CommitTracker<'_>,
) -> Result<(CommitResult, usize)> {
    let style = Style::of(tx);
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
        .conflict_on_unique(TAKEN_MEANWHILE)?;
        node_ids.push(id);
    }
    let node_of = |n: NodeRef| match n {
        NodeRef::Existing(id) => id,
        NodeRef::New(i) => node_ids[i],
    };
    let site_zone = db::settings::site_time_zone(&mut **tx).await?;

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

    let mut history: Vec<HistoryRow> = Vec::new();
    let mut terms: Vec<TermRow> = Vec::new();
    let mut memberships: Vec<(i64, i64)> = Vec::new();

    // New users: 15 values each.
    const USER_WIDTH: usize = 15;
    for (sql, part) in bulk::statements(
        style,
        "INSERT INTO users (first_name, last_name, email, user_id, password_hash, role_id, \
         special_needs, sync_key, time_zone, sort_key, dup_key, username, username_key, \
         created_at, updated_at)",
        " RETURNING id, username_key",
        USER_WIDTH,
        &creates,
    ) {
        let mut query = sqlx::query(&sql);
        for &i in part {
            let row = &plan.checked.rows[i];
            let time_zone = non_empty(row, Field::TimeZone).unwrap_or(&site_zone);
            query = bind_values(
                query,
                row,
                hashes,
                role_id,
                Some(time_zone),
                row.get(Field::Username),
            )
            .bind(row.get(Field::Username))
            .bind(username_key(row.get(Field::Username)))
            .bind(now)
            .bind(now);
        }
        let ids = query
            .fetch_all(&mut **tx)
            .await
            .conflict_on_unique(TAKEN_MEANWHILE)?
            .into_iter()
            .map(|r| Ok((r.try_get::<String, _>(1)?, r.try_get::<i64, _>(0)?)))
            .collect::<sqlx::Result<HashMap<String, i64>>>()?;
        for &i in part {
            let row = &plan.checked.rows[i];
            let user_pk = ids
                .get(&username_key(row.get(Field::Username)))
                .copied()
                .ok_or_else(|| Error::Internal(anyhow::anyhow!("an inserted user has no id")))?;
            let node = node_of(plan.nodes[i]);
            memberships.push((user_pk, node));
            search::add_term_rows(&mut terms, user_pk, &searched(row));
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
            history.push(HistoryRow {
                row: row.row,
                user_pk,
                action: ChangeAction::Create,
                before: None,
                after: json(&after),
                hash_before: None,
                after_digest: hashes.get(&row.row).map(|h| hash_digest(h)),
                membership_added: Some(node),
            });
        }
        tracker.advance(part.len()).await;
    }

    // The hashes the new passwords replace, kept with the history for an
    // undo (never shown).
    let replaced: Vec<i64> = syncs
        .iter()
        .filter(|&&i| hashes.contains_key(&plan.checked.rows[i].row))
        .filter_map(|&i| match plan.actions[i] {
            Action::Sync { user_pk, .. } => Some(user_pk),
            _ => None,
        })
        .collect();
    let hashes_before = db::users::password_hashes(tx, &replaced).await?;

    // Synchronised users: one UPDATE … FROM (VALUES …) per chunk.
    const SYNC_WIDTH: usize = 12;
    let mut reindexed_pks = Vec::new();
    // Users given a new password: their sessions end, as on PUT, after
    // their rows changed (a sign-in under way waits on the row).
    let mut new_password_pks = Vec::new();
    for (sql, part) in bulk::statements(
        style,
        &format!(
            "UPDATE users SET first_name = v.column1, last_name = v.column2, email = v.column3, \
             user_id = v.column4, password_hash = COALESCE(v.column5, password_hash), \
             role_id = v.column6, special_needs = COALESCE(v.column7, special_needs), \
             sync_key = COALESCE(v.column8, sync_key), time_zone = COALESCE(v.column9, time_zone), \
             sort_key = v.column10, dup_key = v.column11, updated_at = {now} FROM ("
        ),
        ") AS v WHERE users.id = v.column12",
        SYNC_WIDTH,
        &syncs,
    ) {
        let mut query = sqlx::query(&sql);
        for &i in part {
            let row = &plan.checked.rows[i];
            let Action::Sync { user_pk, .. } = plan.actions[i] else {
                continue;
            };
            let user = &plan.existing[&user_pk];
            // No time zone in the row keeps the user's (COALESCE).
            let time_zone = non_empty(row, Field::TimeZone);
            query =
                bind_values(query, row, hashes, role_id, time_zone, &user.username).bind(user_pk);
        }
        query
            .execute(&mut **tx)
            .await
            .conflict_on_unique(TAKEN_MEANWHILE)?;
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
            // A sync keeps the user's username.
            let after_search = Searched {
                username: &user.username,
                ..searched(row)
            };
            // Most syncs change nothing that is searched: their terms stay.
            // A user in the trash can has none (the sync leaves them there).
            if user.deleted_at.is_none() && search_fields_changed(user, &after_search) {
                reindexed_pks.push(user_pk);
                search::add_term_rows(&mut terms, user_pk, &after_search);
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
            let new_hash = hashes.get(&row.row);
            history.push(HistoryRow {
                row: row.row,
                user_pk,
                action: ChangeAction::Sync,
                before: Some(json(&before)),
                after: json(&after),
                hash_before: new_hash.and_then(|_| hashes_before.get(&user_pk).cloned()),
                after_digest: new_hash.map(|h| hash_digest(h)),
                membership_added: (!plan.memberships.contains(&(user_pk, node))).then_some(node),
            });
        }
        tracker.advance(part.len()).await;
    }
    for (table, pks) in [
        ("user_search_terms", &reindexed_pks),
        ("sessions", &new_password_pks),
    ] {
        bulk::execute_in(tx, &format!("DELETE FROM {table} WHERE user_pk"), pks).await?;
    }
    db::users::insert_search_terms(tx, &terms).await?;
    bulk::insert_rows(
        tx,
        "INSERT INTO user_memberships (user_pk, node_id)",
        " ON CONFLICT DO NOTHING",
        2,
        &memberships,
        |q, (pk, node)| q.bind(*pk).bind(*node),
    )
    .await?;
    bulk::insert_rows(
        tx,
        "INSERT INTO import_changes (import_id, row_number, user_pk, action, before_json, \
         after_json, password_hash_before, password_after_digest, membership_added)",
        "",
        9,
        &history,
        |q, h| {
            q.bind(import_id)
                .bind(i64::from(h.row))
                .bind(h.user_pk)
                .bind(h.action.key())
                .bind(h.before.clone())
                .bind(h.after.clone())
                .bind(h.hash_before.clone())
                .bind(h.after_digest.clone())
                .bind(h.membership_added)
        },
    )
    .await?;
    // The nodes it created, for an undo to remove when left empty.
    bulk::insert_rows(
        tx,
        "INSERT INTO import_nodes (import_id, node_id)",
        "",
        2,
        &node_ids,
        |q, node| q.bind(import_id).bind(*node),
    )
    .await?;
    tracker
        .advance(result.skipped + result.synced - syncs.len())
        .await;
    let written = creates.len() + syncs.len();
    Ok((result, written))
}

/// One `import_changes` row.
struct HistoryRow {
    row: u32,
    user_pk: i64,
    action: ChangeAction,
    before: Option<String>,
    after: String,
    /// A synchronised user's hash that a new password replaced.
    hash_before: Option<String>,
    /// [`hash_digest`] of the hash the import wrote.
    after_digest: Option<String>,
    /// The node whose membership the import added.
    membership_added: Option<i64>,
}

/// SHA-256 of a password hash: enough to see later that the hash changed,
/// without keeping a second copy of it.
pub(super) fn hash_digest(hash: &str) -> String {
    super::sha256_hex(hash.as_bytes())
}

/// Whether a synchronised user's search terms or sort key change: only then
/// are their `user_search_terms` rows rewritten (a sync that leaves the
/// names, username, email and user ID as they were writes none; they were
/// 60 % of a 100,000-row sync's commit, docs/PERFORMANCE.md).
fn search_fields_changed(user: &Existing, after: &Searched) -> bool {
    let before = Searched {
        first_name: &user.first_name,
        last_name: &user.last_name,
        username: &user.username,
        email: &user.email,
        user_id: &user.user_id,
    };
    !before.same_rows(after)
}

/// The searched fields of a row.
fn searched(row: &MappedRow) -> Searched<'_> {
    Searched {
        first_name: row.get(Field::FirstName),
        last_name: row.get(Field::LastName),
        username: row.get(Field::Username),
        email: row.get(Field::Email),
        user_id: row.get(Field::UserId),
    }
}
