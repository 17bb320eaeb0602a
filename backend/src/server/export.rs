//! The directory out in the import's own shape (issue 18): the users a
//! search finds, as an .xlsx with the import template's columns, so that
//! it can be edited in Excel and imported back.
//!
//! Streamed: users are read in pages of [`PAGE`] by keyset (`id > last`),
//! each page is written by the rules crate's streaming writer
//! (`roster_shared::write`) off the async threads, and the archive's bytes
//! go to the response body as they are ready, through a channel of a few
//! chunks. Memory stays that of one page and the deflater's window, however
//! many users; no transaction is held between pages (a user changed during
//! the export appears as one of its pages read it, once).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::body::{Body, Bytes};
use roster_shared::Field;
use roster_shared::write::{Cell, SheetWriter};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};
use tokio_stream::StreamExt;
use tokio_stream::wrappers::ReceiverStream;

use crate::db::{Db, bulk};
use crate::error::{Error, Result};

/// Users read at a time.
const PAGE: usize = 1000;

/// Exports one process runs at once. Each holds a database connection
/// while it reads a page and a core while it deflates one, for as long as
/// its client takes to download; two leave the rest of the pool and the
/// cores to the other pages (docs/SERVER.md, "Security").
pub const AT_ONCE: usize = 2;

/// How long a refused export is told to wait before trying again.
const RETRY_AFTER_SECS: i64 = 10;

/// A turn to export, held until the export's body is sent or dropped:
/// 503 `busy` when every turn is taken.
pub fn turn(exports: &Arc<Semaphore>) -> Result<OwnedSemaphorePermit> {
    exports
        .clone()
        .try_acquire_owned()
        .map_err(|_| Error::Busy {
            message: format!(
                "{AT_ONCE} exports are running already (at most {AT_ONCE} at once); \
             try again in a moment"
            ),
            retry_after_secs: RETRY_AFTER_SECS,
        })
}

/// Archive bytes gathered before they are sent as one chunk.
const CHUNK: usize = 64 * 1024;

/// Sub-levels the template has: a membership deeper than this below the
/// start node cannot be written.
const SUB_LEVELS: [Field; 5] = [
    Field::SubLevel1,
    Field::SubLevel2,
    Field::SubLevel3,
    Field::SubLevel4,
    Field::SubLevel5,
];

/// The export's columns: the template's (SPEC section 2) without the
/// password, which is never given out (and left empty changes nothing on
/// an import).
pub fn columns() -> Vec<Field> {
    Field::ALL
        .into_iter()
        .filter(|f| *f != Field::Password)
        .collect()
}

/// What one export writes: the users of a search below a start node.
pub struct ExportPlan {
    /// The search's condition on `users` and its binds (`$1`…), from the
    /// Users page's search (`http::users::active_users_filter`), with the
    /// condition that the user is a member of a node in `paths`.
    filter: String,
    binds: Vec<String>,
    /// Each node at most five levels below the start node (the start node
    /// itself included, with no names) → the names of the path to it.
    paths: Arc<HashMap<i64, Vec<String>>>,
}

/// Plans the export of the users that `filter` finds (active users only),
/// below `start` (the root when `None`). 422 for an unknown start node,
/// when more users match than `room` (a sheet's rows, `Config`), and when
/// users below the start node are members of no node within five levels
/// of it (the template's Sub-level-1…5 cannot name where they are:
/// docs/SERVER.md, "Export"). Both counts stop one past `room`.
pub async fn plan(
    db: &Db,
    filter: String,
    binds: Vec<String>,
    start: Option<i64>,
    room: i64,
) -> Result<ExportPlan> {
    let nodes: Vec<(i64, Option<i64>, String)> =
        sqlx::query_as("SELECT id, parent_id, name FROM hierarchy_nodes")
            .fetch_all(db)
            .await?;
    let start = match start {
        Some(id) => nodes.iter().find(|(n, _, _)| *n == id).map(|(n, _, _)| *n),
        None => nodes
            .iter()
            .find(|(_, p, _)| p.is_none())
            .map(|(n, _, _)| *n),
    }
    .ok_or_else(|| Error::invalid("node", "not_found", "Start node: no such hierarchy node"))?;
    let paths = paths_below(&nodes, start);
    let deeper = deeper_below(&nodes, &paths);

    let exported = format!("{filter} AND {}", member_of(paths.keys()));
    let matched = count_to(db, &exported, &binds, room + 1).await?;
    if matched > room {
        return Err(Error::invalid(
            "q",
            "too_many",
            format!(
                "more than {room} users match below the start node; one sheet holds at most \
                 {room} (Excel's limit): narrow the search or choose a start node lower \
                 in the tree"
            ),
        ));
    }
    if !deeper.is_empty() {
        let lost = format!(
            "{filter} AND {} AND NOT {}",
            member_of(deeper.iter()),
            member_of(paths.keys())
        );
        let lost = count_to(db, &lost, &binds, room + 1).await?;
        if lost > 0 {
            let many = if lost > room {
                format!("more than {room} users are")
            } else if lost == 1 {
                "1 user is".to_string()
            } else {
                format!("{lost} users are")
            };
            return Err(Error::invalid(
                "node",
                "too_deep",
                format!(
                    "{many} more than five levels below the start node, deeper than the \
                     template's Sub-level-5 can say: export them from a start node lower \
                     in the tree"
                ),
            ));
        }
    }
    Ok(ExportPlan {
        filter: exported,
        binds,
        paths: Arc::new(paths),
    })
}

/// `users` is a member of one of `nodes`. The ids are the database's own
/// integers, written into the statement (a tree may hold more nodes than a
/// statement takes binds).
fn member_of<'a>(nodes: impl Iterator<Item = &'a i64>) -> String {
    let mut ids: Vec<String> = nodes.map(i64::to_string).collect();
    if ids.is_empty() {
        ids.push("NULL".to_string());
    }
    format!(
        "EXISTS (SELECT 1 FROM user_memberships m WHERE m.user_pk = users.id \
         AND m.node_id IN ({}))",
        ids.join(", ")
    )
}

/// The users `filter` finds, counted up to `cap` rows at most.
async fn count_to(db: &Db, filter: &str, binds: &[String], cap: i64) -> Result<i64> {
    let sql = format!(
        "SELECT COUNT(*) FROM (SELECT 1 FROM users WHERE {filter} LIMIT ${}) c",
        binds.len() + 1
    );
    let mut count = sqlx::query_scalar(&sql);
    for b in binds {
        count = count.bind(b);
    }
    Ok(count.bind(cap).fetch_one(db).await?)
}

/// The nodes below `start` deeper than `paths` (five levels) reach.
fn deeper_below(
    nodes: &[(i64, Option<i64>, String)],
    paths: &HashMap<i64, Vec<String>>,
) -> HashSet<i64> {
    let mut children: HashMap<i64, Vec<i64>> = HashMap::new();
    for (id, parent, _) in nodes {
        if let Some(parent) = parent {
            children.entry(*parent).or_default().push(*id);
        }
    }
    // The deepest level `paths` holds, then down from it; each node once
    // (a cycle in a damaged table cannot loop).
    let mut level: Vec<i64> = paths
        .iter()
        .filter(|(_, path)| path.len() == SUB_LEVELS.len())
        .map(|(id, _)| *id)
        .collect();
    let mut deeper = HashSet::new();
    while !level.is_empty() {
        let mut next = Vec::new();
        for parent in &level {
            for id in children.get(parent).into_iter().flatten() {
                if !paths.contains_key(id) && deeper.insert(*id) {
                    next.push(*id);
                }
            }
        }
        level = next;
    }
    deeper
}

/// The nodes down to five levels below `start`, each with the names from
/// below `start` to it. The tree is read whole, as the hierarchy page does
/// (it is small next to the users), and walked once.
fn paths_below(nodes: &[(i64, Option<i64>, String)], start: i64) -> HashMap<i64, Vec<String>> {
    let mut children: HashMap<i64, Vec<(i64, &str)>> = HashMap::new();
    for (id, parent, name) in nodes {
        if let Some(parent) = parent {
            children.entry(*parent).or_default().push((*id, name));
        }
    }
    let mut paths = HashMap::from([(start, Vec::new())]);
    let mut level = vec![start];
    for _ in 0..SUB_LEVELS.len() {
        let mut next = Vec::new();
        for parent in &level {
            for (id, name) in children.get(parent).into_iter().flatten() {
                // A cycle in a damaged table cannot revisit a node.
                if paths.contains_key(id) {
                    continue;
                }
                let mut path: Vec<String> = paths[parent].clone();
                path.push(name.to_string());
                paths.insert(*id, path);
                next.push(*id);
            }
        }
        level = next;
    }
    paths
}

#[derive(sqlx::FromRow)]
struct ExportRow {
    id: i64,
    first_name: String,
    last_name: String,
    username: String,
    email: String,
    user_id: String,
    special_needs: Option<i64>,
    sync_key: Option<String>,
    time_zone: String,
}

/// One page of users after `after`, in the order of their ids, with their
/// memberships (node ids, smallest first).
async fn page(db: &Db, plan: &ExportPlan, after: i64) -> sqlx::Result<Vec<(ExportRow, Vec<i64>)>> {
    let n = plan.binds.len();
    let sql = format!(
        "SELECT id, first_name, last_name, username, email, user_id, special_needs, sync_key, \
         time_zone FROM users WHERE {} AND id > ${} ORDER BY id LIMIT ${}",
        plan.filter,
        n + 1,
        n + 2
    );
    let mut query = sqlx::query_as(&sql);
    for b in &plan.binds {
        query = query.bind(b);
    }
    let rows: Vec<ExportRow> = query.bind(after).bind(PAGE as i64).fetch_all(db).await?;
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let mut memberships: HashMap<i64, Vec<i64>> = HashMap::new();
    bulk::fetch_in(
        &mut *db.acquire().await?,
        "SELECT user_pk, node_id FROM user_memberships WHERE user_pk",
        &ids,
        |(user, node): (i64, i64)| memberships.entry(user).or_default().push(node),
    )
    .await?;
    // Smallest node first: `write_page` takes the first under the start.
    for nodes in memberships.values_mut() {
        nodes.sort_unstable();
    }
    Ok(rows
        .into_iter()
        .map(|row| {
            let nodes = memberships.remove(&row.id).unwrap_or_default();
            (row, nodes)
        })
        .collect())
}

/// Writes a page's users: those with a membership at or below the start
/// node, the first such membership (smallest node id) as the sub-levels.
/// The plan's filter reads only such users; one whose membership went
/// since (read page by page, outside a transaction) is left out.
fn write_page(
    writer: &mut SheetWriter,
    plan_paths: &HashMap<i64, Vec<String>>,
    users: &[(ExportRow, Vec<i64>)],
) -> std::result::Result<(), roster_shared::write::WriteError> {
    let fields = columns();
    for (user, nodes) in users {
        let Some(path) = nodes.iter().find_map(|n| plan_paths.get(n)) else {
            continue;
        };
        let special_needs = match user.special_needs {
            Some(0) => "no",
            Some(_) => "yes",
            None => "",
        };
        let cells = fields.iter().map(|field| {
            Cell::Text(match field {
                Field::FirstName => user.first_name.as_str(),
                Field::LastName => user.last_name.as_str(),
                Field::Username => user.username.as_str(),
                Field::Email => user.email.as_str(),
                Field::UserId => user.user_id.as_str(),
                Field::SpecialNeeds => special_needs,
                Field::SyncKey => user.sync_key.as_deref().unwrap_or(""),
                Field::TimeZone => user.time_zone.as_str(),
                Field::Password => "",
                level => SUB_LEVELS
                    .iter()
                    .position(|l| l == level)
                    .and_then(|i| path.get(i))
                    .map_or("", String::as_str),
            })
        });
        writer.row(cells)?;
    }
    Ok(())
}

/// The response body: the .xlsx, written while it is sent. A client that
/// takes no bytes for `idle` ends the export (it holds no transaction,
/// only a task); however the export stops before its end (a database
/// error, a stalled client), the body ends in an error, so the download
/// fails rather than ending as a file with users missing. The export's
/// `turn` is given back once both the task writing it and the body are
/// done (sent whole, or dropped with its client).
pub fn body(db: Db, plan: ExportPlan, idle: Duration, turn: OwnedSemaphorePermit) -> Body {
    let (tx, rx) = mpsc::channel::<std::io::Result<Bytes>>(4);
    let finished = Arc::new(AtomicBool::new(false));
    let done = finished.clone();
    let turn = Arc::new(turn);
    let held = turn.clone();
    tokio::spawn(async move {
        match produce(&db, plan, &tx, idle).await {
            Ok(()) => done.store(true, Ordering::Release),
            Err(Stop::Gone) => tracing::info!("an export ended: its client stopped reading"),
            Err(Stop::Failed(message)) => tracing::error!(error = %message, "an export failed"),
        }
        drop(held);
    });
    fails_unless_finished(rx, finished, turn)
}

/// The chunks of `rx`, then an error unless `finished` was set before the
/// sender went away: hyper ends a body cut by an error without its last
/// chunk, which the client sees as a failed download. (Sending the error
/// down the channel is no help when the channel is full of chunks a
/// stalled client never took.)
fn fails_unless_finished(
    rx: mpsc::Receiver<std::io::Result<Bytes>>,
    finished: Arc<AtomicBool>,
    turn: Arc<OwnedSemaphorePermit>,
) -> Body {
    let cut_short = tokio_stream::once(()).filter_map(move |()| {
        // The closure owns the turn: it goes when the body does.
        let _held = &turn;
        (!finished.load(Ordering::Acquire))
            .then(|| Err(std::io::Error::other("the export stopped before its end")))
    });
    Body::from_stream(ReceiverStream::new(rx).chain(cut_short))
}

enum Stop {
    /// The client is gone or took nothing for too long.
    Gone,
    Failed(String),
}

async fn produce(
    db: &Db,
    plan: ExportPlan,
    tx: &mpsc::Sender<std::io::Result<Bytes>>,
    idle: Duration,
) -> std::result::Result<(), Stop> {
    let failed = |e: &dyn std::fmt::Display| Stop::Failed(e.to_string());
    let labels: Vec<&str> = columns().iter().map(|f| f.label()).collect();
    let mut writer = SheetWriter::new("Users", &labels).map_err(|e| failed(&e))?;
    let mut pending = writer.take();
    let mut after = i64::MIN;
    loop {
        let users = page(db, &plan, after).await.map_err(|e| failed(&e))?;
        let Some((last, _)) = users.last() else { break };
        after = last.id;
        let done = users.len() < PAGE;
        // Formatting and deflating a page is CPU work: off the async threads.
        let paths = plan.paths.clone();
        let (back, bytes) = tokio::task::spawn_blocking(move || {
            write_page(&mut writer, &paths, &users).map(|()| {
                let bytes = writer.take();
                (writer, bytes)
            })
        })
        .await
        .map_err(|e| failed(&e))?
        .map_err(|e| failed(&e))?;
        writer = back;
        pending.extend_from_slice(&bytes);
        if pending.len() >= CHUNK {
            send(tx, std::mem::take(&mut pending), idle).await?;
        }
        if done {
            break;
        }
    }
    let rest = tokio::task::spawn_blocking(move || writer.finish())
        .await
        .map_err(|e| failed(&e))?
        .map_err(|e| failed(&e))?;
    pending.extend_from_slice(&rest);
    send(tx, pending, idle).await
}

async fn send(
    tx: &mpsc::Sender<std::io::Result<Bytes>>,
    bytes: Vec<u8>,
    idle: Duration,
) -> std::result::Result<(), Stop> {
    tx.send_timeout(Ok(Bytes::from(bytes)), idle)
        .await
        .map_err(|_| Stop::Gone)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_body_that_stops_before_its_end_fails() {
        for finished in [true, false] {
            let (tx, rx) = mpsc::channel(4);
            tx.send(Ok(Bytes::from_static(b"PK"))).await.unwrap();
            drop(tx);
            let turn = Arc::new(Semaphore::new(1)).try_acquire_owned().unwrap();
            let body =
                fails_unless_finished(rx, Arc::new(AtomicBool::new(finished)), Arc::new(turn));
            let read = axum::body::to_bytes(body, 1 << 20).await;
            assert_eq!(read.is_ok(), finished, "finished: {finished}");
        }
    }

    #[test]
    fn paths_go_five_levels_below_the_start() {
        let mut nodes = vec![(1, None, "Root".to_string())];
        for depth in 2..=8 {
            nodes.push((depth, Some(depth - 1), format!("L{depth}")));
        }
        nodes.push((20, Some(2), "Side".to_string()));
        let paths = paths_below(&nodes, 2);
        assert_eq!(paths[&2], Vec::<String>::new());
        assert_eq!(paths[&20], ["Side"]);
        assert_eq!(paths[&7], ["L3", "L4", "L5", "L6", "L7"]);
        assert!(!paths.contains_key(&8), "six levels below is too deep");
        assert!(!paths.contains_key(&1), "above the start");
        // What the plan counts as too deep: below the fifth level only.
        assert_eq!(deeper_below(&nodes, &paths), HashSet::from([8]));
        let mut cycle = nodes.clone();
        cycle[1].1 = Some(8); // 2 under 8, 8 under 7 …: a damaged table
        let paths = paths_below(&cycle, 2);
        assert_eq!(deeper_below(&cycle, &paths), HashSet::from([8]));
    }
}
