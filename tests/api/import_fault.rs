//! Imports against real `roster serve` processes.
//!
//! A commit killed mid-way: a large import is committed, the server is
//! killed with SIGKILL while the commit writes, and started again on the
//! same database. The import's transaction either committed whole or not
//! at all: all of its users or none, and no partial history.
//!
//! The same with SIGTERM and a grace period of one second, shorter than
//! the commit: the process exits 0 when the grace ends, and the commit
//! still writes all or nothing.
//!
//! Two servers on one PostgreSQL database commit overlapping previews at
//! once: `pg_advisory_xact_lock` lets one commit at a time, the second
//! classifies its rows again under the lock, finds its preview stale and
//! writes nothing (409 `stale_preview`, with the fresh preview).

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{
    Kind, RealServer, RealServerClients, TestClient, TestDb, commit_in_background, ok_json,
};
use crate::on_both_databases;

on_both_databases!(
    a_killed_commit_writes_all_or_nothing,
    a_commit_cut_short_by_the_shutdown_grace_writes_all_or_nothing,
);

#[tokio::test]
async fn two_servers_commit_overlapping_previews_once() {
    let (db, url) = TestDb::create(Kind::Postgres).await;
    let (first, one) = serve(&url).await;
    // The second process starts once the first has migrated the database.
    let (second, two) = serve(&url).await;
    let n = 2_000;
    let rows: Vec<Value> = (0..n)
        .map(|i| {
            json!({
                "row": i + 2, "first_name": "Race", "last_name": format!("Row {i}"),
                "username": format!("race{i:05}"), "email": format!("race{i}@example.com"),
                "user_id": format!("R{i}"), "sub_level_1": "Raced",
            })
        })
        .collect();
    let body = |role: i64, root: i64| json!({"file_name": "race.xlsx", "role_id": role, "hierarchy_id": root, "rows": rows});
    let role = one.administrator_role().await;
    let root = one.root_node().await;
    let p1 = ok_json(one.try_import(body(role, root)).await, StatusCode::CREATED).await;
    let p2 = ok_json(two.try_import(body(role, root)).await, StatusCode::CREATED).await;
    for p in [&p1, &p2] {
        assert_eq!(p["summary"]["to_create"], n, "{}", p["summary"]);
    }
    let (a, b) = tokio::join!(commit(&one, &p1), commit(&two, &p2));
    let (sa, sb) = (a.status(), b.status());
    let a: Value = a.json().await.expect("JSON");
    let b: Value = b.json().await.expect("JSON");
    // Exactly one commit wrote; the other found its preview stale.
    let (won, lost) = match (sa, sb) {
        (StatusCode::OK, StatusCode::CONFLICT) => (a, b),
        (StatusCode::CONFLICT, StatusCode::OK) => (b, a),
        other => panic!("one 200 and one 409 expected, got {other:?}: {a} {b}"),
    };
    assert_eq!(won, json!({"created": n, "synced": 0, "skipped": 0}));
    assert_eq!(lost["error"]["code"], "stale_preview", "{lost}");
    let fresh = &lost["preview"];
    assert_eq!(fresh["summary"]["to_create"], 0, "{}", fresh["summary"]);
    assert_eq!(fresh["summary"]["to_sync"], n);
    assert_eq!(fresh["summary"]["unchanged"], n);
    assert_eq!(fresh["hierarchy_to_create"], json!([]));

    let direct = roster_server::db::connect_with(&url, Some(2))
        .await
        .expect("connect to the test database");
    assert_eq!(
        count(
            &direct,
            "SELECT COUNT(*) FROM users WHERE username LIKE 'race%'"
        )
        .await,
        n
    );
    for key in ["username_key", "user_id"] {
        let duplicates = count(
            &direct,
            &format!(
                "SELECT COUNT(*) FROM (SELECT {key} FROM users WHERE {key} IS NOT NULL \
                 GROUP BY {key} HAVING COUNT(*) > 1) AS d"
            ),
        )
        .await;
        assert_eq!(duplicates, 0, "no duplicate {key}");
    }
    assert_eq!(
        count(
            &direct,
            "SELECT COUNT(*) FROM hierarchy_nodes WHERE name = 'Raced'"
        )
        .await,
        1,
        "the new node was made once"
    );
    assert_eq!(
        count(&direct, "SELECT COUNT(*) FROM imports WHERE state = 'done'").await,
        1
    );
    assert_eq!(
        count(&direct, "SELECT COUNT(*) FROM import_changes").await,
        n
    );
    // The fresh preview commits on the other server: every row unchanged.
    let other = if sa == StatusCode::OK { &two } else { &one };
    assert_eq!(
        ok_json(commit(other, fresh).await, StatusCode::OK).await,
        json!({"created": 0, "synced": n, "skipped": 0})
    );
    direct.close().await;
    drop((first, second));
    drop(db);
}

const ROWS: usize = 50_000;
/// `roster serve` on `url`, and a client signed in as `admin` (a commit of
/// 50,000 rows may take minutes on a busy machine).
pub(crate) async fn serve(url: &str) -> (RealServer, TestClient) {
    let server = RealServer::start(url, &[]).await;
    let admin = server.admin(Duration::from_secs(600)).await;
    (server, admin)
}

async fn commit(client: &TestClient, preview: &Value) -> reqwest::Response {
    let id = preview["id"].as_i64().expect("a preview id");
    client.commit_import(id, false).await
}

async fn count(db: &roster_server::db::Db, sql: &str) -> i64 {
    sqlx::query_scalar(sql)
        .fetch_one(db)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

async fn a_killed_commit_writes_all_or_nothing(kind: Kind) {
    commit_then_stop(kind, Stop::Kill).await
}

/// Issue 15: the grace period ends a commit's task with the process; its
/// transaction never commits.
async fn a_commit_cut_short_by_the_shutdown_grace_writes_all_or_nothing(kind: Kind) {
    commit_then_stop(kind, Stop::Terminate).await
}

/// How the server is stopped mid-commit.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Stop {
    /// SIGKILL.
    Kill,
    /// SIGTERM, with `--shutdown-grace-secs 1`.
    Terminate,
}

async fn commit_then_stop(kind: Kind, stop: Stop) {
    let (db, url) = TestDb::create(kind).await;
    let (mut server, admin) = match stop {
        Stop::Kill => serve(&url).await,
        Stop::Terminate => {
            let server = RealServer::start(&url, &["--shutdown-grace-secs", "1"]).await;
            let admin = server.admin(Duration::from_secs(600)).await;
            (server, admin)
        }
    };
    let rows: Vec<Value> = (0..ROWS)
        .map(|i| {
            json!({
                "row": i + 2, "first_name": "Fault", "last_name": format!("Row {}", i % 97),
                "username": format!("fault{i:06}"), "email": format!("fault{i}@example.com"),
                "user_id": format!("F{i}"), "sub_level_1": format!("School {}", i % 5),
            })
        })
        .collect();
    let id = admin.preview_rows(Value::Array(rows)).await["id"]
        .as_i64()
        .expect("a preview id");

    let committing = commit_in_background(&admin, id);
    // Kill the server as soon as the commit is seen running (or after a
    // short while if it never is: then either outcome is accepted).
    let mut seen_running = false;
    for _ in 0..300 {
        let import = admin.get_ok(&format!("/api/imports/{id}")).await;
        let state = import["state"].clone();
        if state == "running" && import["progress"]["done"].as_u64() > Some(0) {
            // Rows are being written inside the transaction.
            seen_running = true;
            break;
        }
        if state == "done" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    match stop {
        Stop::Kill => server.kill(),
        Stop::Terminate => {
            server.signal("TERM");
            let status = server
                .wait_exit(Duration::from_secs(20))
                .await
                .unwrap_or_else(|| panic!("still running after SIGTERM: {}", server.log()));
            assert!(status.success(), "exit status {status}: {}", server.log());
        }
    }
    let log = server.log();
    let answer = committing.await.expect("the commit request task");
    drop(server);

    // Start again on the same database; it opens (recovers) cleanly.
    let (server, admin) = serve(&url).await;
    let direct = roster_server::db::connect_with(&url, Some(2))
        .await
        .expect("connect to the test database");
    let users = count(
        &direct,
        "SELECT COUNT(*) FROM users WHERE username LIKE 'fault%'",
    )
    .await;
    let changes = count(
        &direct,
        &format!("SELECT COUNT(*) FROM import_changes WHERE import_id = {id}"),
    )
    .await;
    let done = count(
        &direct,
        &format!("SELECT COUNT(*) FROM imports WHERE id = {id} AND state = 'done'"),
    )
    .await;
    let terms = count(
        &direct,
        "SELECT COUNT(*) FROM user_search_terms t JOIN users u ON u.id = t.user_pk \
         WHERE u.username LIKE 'fault%'",
    )
    .await;
    let n = i64::try_from(ROWS).expect("rows fit");
    if users == 0 {
        if stop == Stop::Terminate && seen_running {
            assert!(log.contains("cut short"), "the log says nothing: {log}");
        }
        assert_eq!(changes, 0, "no history without users");
        assert_eq!(done, 0, "the import is not recorded as done");
        assert_eq!(terms, 0, "no search terms without users");
        // Not committed: the server restarted and says so consistently.
        let import = admin.get_ok(&format!("/api/imports/{id}")).await;
        assert_ne!(import["state"], "done", "{import}");
        assert_ne!(import["state"], "running", "nothing runs after a restart");
    } else {
        assert_eq!(users, n, "all of the import's users or none");
        assert_eq!(changes, n, "the history names every row");
        assert_eq!(done, 1, "the import is recorded as done");
        assert!(terms >= n, "every user is searchable");
        let import = admin.get_ok(&format!("/api/imports/{id}")).await;
        assert_eq!(import["created"], n, "{import}");
    }
    eprintln!(
        "{stop:?} mid-commit on {kind:?}: seen running {seen_running}, users {users}, \
         answer {answer:?}"
    );
    direct.close().await;
    drop(server);
    drop(db);
}
