//! `roster serve` as a process among others: several started at once on a
//! fresh database, and stopped by the signal a service manager sends.

use std::time::Duration;

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::helpers::{ADMIN_PASSWORD, Kind, RealServer, RealServerClients, TestDb};
use crate::on_both_databases;

on_both_databases!(a_request_under_way_at_sigterm_ends_and_the_process_exits_0);

/// Issue 15: three processes started at once on a fresh PostgreSQL database
/// all come up; each migration is applied once, and the first
/// administrator, the Administrator role, the root node and the site's
/// time zone are made once.
#[tokio::test]
async fn three_processes_started_at_once_migrate_and_bootstrap_once() {
    let (db, url) = TestDb::create(Kind::Postgres).await;
    let (a, b, c) = tokio::join!(
        RealServer::start(&url, &[]),
        RealServer::start(&url, &[]),
        RealServer::start(&url, &[]),
    );
    for server in [&a, &b, &c] {
        // Each signs in the one `admin`.
        server.admin(Duration::from_secs(60)).await;
    }
    let direct = roster_server::db::connect_with(&url, Some(2))
        .await
        .expect("connect to the test database");
    let migrations =
        std::fs::read_dir(roster_tests::workspace_root().join("backend/migrations/postgres"))
            .expect("the migrations folder")
            .filter(|e| {
                e.as_ref()
                    .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "sql"))
            })
            .count();
    let applied: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT version, CAST(COUNT(*) AS BIGINT) FROM _sqlx_migrations \
         WHERE success GROUP BY version ORDER BY version",
    )
    .fetch_all(&direct)
    .await
    .expect("read the migrations table");
    assert_eq!(applied.len(), migrations, "{applied:?}");
    assert!(applied.iter().all(|(_, n)| *n == 1), "{applied:?}");
    for (table, n) in [
        ("users", 1),
        ("roles", 1),
        ("hierarchy_nodes", 1),
        ("settings", 1),
        ("user_memberships", 1),
    ] {
        let found: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}"))
            .fetch_one(&direct)
            .await
            .expect("count");
        assert_eq!(found, n, "rows in {table}");
    }
    let bootstraps = [&a, &b, &c]
        .iter()
        .filter(|s| s.log().contains("first start"))
        .count();
    assert_eq!(bootstraps, 1, "one process made the first administrator");
    direct.close().await;
    drop((a, b, c));
    drop(db);
}

/// Issue 15: SIGTERM stops the server gracefully. A sign-in whose body is
/// still arriving when the signal comes is answered; new connections are
/// refused meanwhile; then the process exits 0, well within the grace
/// period (30 s by default).
async fn a_request_under_way_at_sigterm_ends_and_the_process_exits_0(kind: Kind) {
    let (db, url) = TestDb::create(kind).await;
    let mut server = RealServer::start(&url, &[]).await;
    let address = server.address().to_string();
    let body = json!({"username": "admin", "password": ADMIN_PASSWORD}).to_string();
    let (first_half, second_half) = body.split_at(body.len() / 2);
    let mut stream = tokio::net::TcpStream::connect(&address)
        .await
        .expect("connect");
    let head = format!(
        "POST /api/login HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n",
        body.len()
    );
    stream
        .write_all(format!("{head}{first_half}").as_bytes())
        .await
        .expect("send the head and half the body");
    // The server has read the head: the request is under way.
    tokio::time::sleep(Duration::from_millis(500)).await;
    server.signal("TERM");
    let mut refused = false;
    for _ in 0..40 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        if tokio::net::TcpStream::connect(&address).await.is_err() {
            refused = true;
            break;
        }
    }
    assert!(refused, "new connections are still accepted after SIGTERM");
    stream
        .write_all(second_half.as_bytes())
        .await
        .expect("send the rest of the body");
    let mut answer = String::new();
    tokio::time::timeout(Duration::from_secs(30), stream.read_to_string(&mut answer))
        .await
        .expect("the answer comes")
        .expect("read the answer");
    assert!(
        answer.starts_with("HTTP/1.1 200"),
        "the sign-in under way was cut: {answer:?}\n{}",
        server.log()
    );
    assert!(answer.contains("roster_session="), "{answer}");
    let status = server
        .wait_exit(Duration::from_secs(30))
        .await
        .unwrap_or_else(|| panic!("still running after SIGTERM: {}", server.log()));
    assert!(status.success(), "exit status {status}: {}", server.log());
    drop(server);
    drop(db);
}

/// Security review: a second SIGTERM during the grace period stops the
/// process at once (non-zero, and says so), as an operator who sends it
/// again means; before, it waited out the whole grace period (30 s).
#[tokio::test]
async fn a_second_sigterm_during_the_grace_period_exits_at_once() {
    let (db, url) = TestDb::create(Kind::Sqlite).await;
    let mut server = RealServer::start(&url, &[]).await;
    let address = server.address().to_string();
    let mut stream = tokio::net::TcpStream::connect(&address)
        .await
        .expect("connect");
    // A sign-in whose body never comes: under way until the grace ends.
    let head = format!(
        "POST /api/login HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\n\
         Content-Length: 100\r\n\r\n{{\"username\""
    );
    stream
        .write_all(head.as_bytes())
        .await
        .expect("send the head");
    tokio::time::sleep(Duration::from_millis(500)).await;
    server.signal("TERM");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        server.wait_exit(Duration::from_millis(10)).await.is_none(),
        "the first SIGTERM must wait for the request under way: {}",
        server.log()
    );
    server.signal("TERM");
    let status = server
        .wait_exit(Duration::from_secs(5))
        .await
        .unwrap_or_else(|| panic!("still running after a second SIGTERM: {}", server.log()));
    assert!(!status.success(), "exit status {status}: {}", server.log());
    assert!(
        server.log().contains("second stop signal"),
        "{}",
        server.log()
    );
    drop(stream);
    drop(server);
    drop(db);
}
