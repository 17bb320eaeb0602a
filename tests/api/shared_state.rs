//! What every `roster serve` process of one database sees alike (issue 15):
//! a stored preview's passwords, sealed in the database under the secret
//! key the processes share, and a running commit's progress. Real
//! processes (`RealServer`) where the point is another process or a
//! restart; PostgreSQL where it is several processes at once.

use std::time::Duration;

use reqwest::StatusCode;
use roster_server::imports::{ImportRegistry, delete_expired_previews};
use roster_server::secret::SecretKey;
use serde_json::{Value, json};

use crate::helpers::{
    Kind, RealServer, RealServerClients, SECRET_KEY, TestClient, TestDb, assert_error,
    commit_in_background, eventually, ok_json, spawn_app,
};
use crate::on_both_databases;

on_both_databases!(
    a_restart_keeps_a_previews_passwords,
    passwords_are_sealed_and_go_with_the_preview,
);

/// How long a client of a real server waits for any answer.
const PATIENCE: Duration = Duration::from_secs(600);

/// `n` rows from `row` on; the first `with_password` give a password.
fn rows(prefix: &str, from: usize, n: usize, with_password: usize) -> Vec<Value> {
    (from..from + n)
        .map(|i| {
            let mut row = json!({
                "row": i + 2, "first_name": "Shared", "last_name": format!("Row {}", i % 89),
                "username": format!("{prefix}{i:06}"), "email": format!("{prefix}{i}@example.com"),
                "user_id": format!("{prefix}-{i}"),
            });
            if i < from + with_password {
                row["password"] = json!(password_of(prefix, i));
            }
            row
        })
        .collect()
}

fn password_of(prefix: &str, i: usize) -> String {
    format!("Sealed-{prefix}-Secret-{i}")
}

async fn commit(client: &TestClient, id: i64) -> reqwest::Response {
    client.commit_import(id, false).await
}

fn id_of(preview: &Value) -> i64 {
    preview["id"].as_i64().expect("a preview id")
}

/// Try Import on process A, Import on process B: B opens the passwords A
/// sealed, and the users sign in on either process.
#[tokio::test]
async fn a_preview_made_on_one_process_imports_on_another() {
    let (db, url) = TestDb::create(Kind::Postgres).await;
    let a = RealServer::start(&url, &[]).await;
    let b = RealServer::start(&url, &[]).await;
    let on_a = a.admin(PATIENCE).await;
    let on_b = b.admin(PATIENCE).await;
    let made = on_a.preview_rows(json!(rows("across", 0, 3, 3))).await;
    assert_eq!(made["summary"]["to_create"], 3, "{made}");
    assert_eq!(
        ok_json(commit(&on_b, id_of(&made)).await, StatusCode::OK).await,
        json!({"created": 3, "synced": 0, "skipped": 0})
    );
    for (i, server) in [(0, &a), (1, &b), (2, &a)] {
        server
            .signed_in(
                &format!("across{i:06}"),
                &password_of("across", i),
                PATIENCE,
            )
            .await;
    }
    let import = on_a.get_ok(&format!("/api/imports/{}", id_of(&made))).await;
    assert_eq!(import["state"], "done", "{import}");
    for server in [&a, &b] {
        assert!(
            !server.log().contains("Sealed-across-Secret"),
            "a password in the log"
        );
    }
    drop((a, b));
    drop(db);
}

/// A process with another key cannot open the passwords: a clear 409, and
/// the preview stays whole for a process with the right key.
#[tokio::test]
async fn another_secret_key_gives_a_clear_error() {
    let (db, url) = TestDb::create(Kind::Postgres).await;
    let a = RealServer::start(&url, &[]).await;
    let other_key = "0123456789abcdef".repeat(4);
    let b = RealServer::start_with_env(&url, &[], &[("ROSTER_SECRET_KEY", Some(&other_key))]).await;
    let on_a = a.admin(PATIENCE).await;
    let on_b = b.admin(PATIENCE).await;
    let made = on_a.preview_rows(json!(rows("keyed", 0, 2, 1))).await;
    let message = assert_error(
        commit(&on_b, id_of(&made)).await,
        StatusCode::CONFLICT,
        "conflict",
    )
    .await;
    assert_eq!(
        message, "this preview was made with another secret key: run Try Import again",
        "{message}"
    );
    assert_eq!(on_b.get_ok("/api/users?q=keyed").await["total"], 0);
    assert_eq!(
        ok_json(commit(&on_a, id_of(&made)).await, StatusCode::OK).await["created"],
        2
    );
    a.signed_in("keyed000000", &password_of("keyed", 0), PATIENCE)
        .await;
    drop((a, b));
    drop(db);
}

/// Try Import, the process stops, it starts again: Import still has the
/// passwords. On SQLite without `ROSTER_SECRET_KEY` the key is a file made
/// beside the database, readable by its owner only.
async fn a_restart_keeps_a_previews_passwords(kind: Kind) {
    let (db, url) = TestDb::create(kind).await;
    // SQLite: no key given (the file beside the database); PostgreSQL: the
    // shared key, as a deployment of several processes has.
    let env: &[(&str, Option<&str>)] = match kind {
        Kind::Sqlite => &[("ROSTER_SECRET_KEY", None)],
        Kind::Postgres => &[("ROSTER_SECRET_KEY", Some(SECRET_KEY))],
    };
    let server = RealServer::start_with_env(&url, &[], env).await;
    let admin = server.admin(PATIENCE).await;
    let made = admin.preview_rows(json!(rows("restart", 0, 2, 2))).await;
    drop(server);

    let server = RealServer::start_with_env(&url, &[], env).await;
    let admin = server.admin(PATIENCE).await;
    assert_eq!(
        ok_json(commit(&admin, id_of(&made)).await, StatusCode::OK).await,
        json!({"created": 2, "synced": 0, "skipped": 0})
    );
    server
        .signed_in("restart000001", &password_of("restart", 1), PATIENCE)
        .await;
    if let TestDb::Sqlite(path) = &db {
        let mut key_file = path.clone().into_os_string();
        key_file.push(".secret-key");
        let meta = std::fs::metadata(&key_file).expect("a key file beside the database");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(meta.permissions().mode() & 0o777, 0o600, "owner only");
        }
        let text = std::fs::read_to_string(&key_file).expect("the key file");
        assert!(SecretKey::from_hex(&text).is_ok(), "64 hex characters");
        let _ = meta;
    }
    drop(server);
    drop(db);
}

/// Every byte of the imports tables: on SQLite the database's files
/// themselves, on PostgreSQL each row as text.
async fn stored_bytes(kind: Kind, db: &roster_server::Db, url: &str) -> Vec<u8> {
    match kind {
        Kind::Sqlite => {
            let path = url.trim_start_matches("sqlite://");
            let mut bytes = Vec::new();
            for suffix in ["", "-wal"] {
                bytes.extend(std::fs::read(format!("{path}{suffix}")).unwrap_or_default());
            }
            bytes
        }
        Kind::Postgres => {
            let rows: Vec<String> = sqlx::query_scalar(
                "SELECT CAST(i AS TEXT) FROM imports i \
                 UNION ALL SELECT CAST(s AS TEXT) FROM preview_secrets s",
            )
            .fetch_all(db)
            .await
            .expect("the imports tables as text");
            rows.concat().into_bytes()
        }
    }
}

async fn sealed_count(db: &roster_server::Db, id: i64) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM preview_secrets WHERE import_id = $1")
        .bind(id)
        .fetch_one(db)
        .await
        .expect("count the sealed passwords")
}

/// The passwords are kept with the preview, sealed: not one byte of them
/// in clear. They go when the preview goes: committed, cancelled, expired.
async fn passwords_are_sealed_and_go_with_the_preview(kind: Kind) {
    let app = spawn_app(kind).await;
    let admin = app.admin().await;
    let db = app.database().await;
    let committed = admin.preview_rows(json!(rows("kept", 0, 3, 2))).await;
    assert_eq!(sealed_count(&db, id_of(&committed)).await, 1, "sealed");
    let bytes = stored_bytes(kind, &db, &app.database_url).await;
    for i in 0..2 {
        let password = password_of("kept", i);
        let hex: String = password.bytes().map(|b| format!("{b:02x}")).collect();
        assert!(
            !bytes
                .windows(password.len())
                .any(|w| w == password.as_bytes()),
            "{password} is in the database in clear"
        );
        assert!(
            !bytes.windows(hex.len()).any(|w| w == hex.as_bytes()),
            "{password} is in the database in hex"
        );
    }
    assert!(
        bytes.windows(8).any(|w| w == b"kept0000"),
        "the search sees the stored rows ({} bytes)",
        bytes.len()
    );
    assert_eq!(
        ok_json(commit(&admin, id_of(&committed)).await, StatusCode::OK).await["created"],
        3
    );
    assert_eq!(sealed_count(&db, id_of(&committed)).await, 0, "committed");
    app.signed_in("kept000001", &password_of("kept", 1)).await;

    let cancelled = admin.preview_rows(json!(rows("gone", 0, 1, 1))).await;
    assert_eq!(sealed_count(&db, id_of(&cancelled)).await, 1);
    let path = format!("/api/imports/{}", id_of(&cancelled));
    assert_eq!(admin.delete(&path).await.status(), StatusCode::NO_CONTENT);
    assert_eq!(sealed_count(&db, id_of(&cancelled)).await, 0, "cancelled");

    let expired = admin.preview_rows(json!(rows("late", 0, 1, 1))).await;
    app.clock.advance(3600);
    let admin = app.admin().await;
    // The next Try Import deletes expired previews (as the sweeper does).
    admin.preview_rows(json!(rows("next", 0, 1, 0))).await;
    assert_eq!(sealed_count(&db, id_of(&expired)).await, 0, "expired");
    db.close().await;
    app.finish().await;
}

/// The expiry sweep run by many processes at once: each expired preview is
/// deleted once, with its sealed passwords, and none of them fails.
#[tokio::test]
async fn expired_previews_are_deleted_by_every_process_at_once() {
    let app = spawn_app(Kind::Postgres).await;
    let admin = app.admin().await;
    let n = 12;
    for i in 0..n {
        admin
            .preview_rows(json!(rows(&format!("sweep{i}x"), 0, 1, 1)))
            .await;
    }
    let db = app.database().await;
    let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM preview_secrets")
        .fetch_one(&db)
        .await
        .expect("count");
    assert_eq!(total, n);
    let later = app.clock.now() + 3600;
    let sweeps = (0..6).map(|_| {
        let db = db.clone();
        tokio::spawn(async move {
            let registry = ImportRegistry::new(SecretKey::generate().expect("a key"));
            delete_expired_previews(&db, &registry, later).await
        })
    });
    let mut deleted = 0;
    for sweep in sweeps {
        deleted += sweep
            .await
            .expect("the sweep's task")
            .expect("a sweep never fails because another runs");
    }
    assert_eq!(deleted, n as u64, "each preview deleted once");
    let left: i64 = sqlx::query_scalar(
        "SELECT (SELECT COUNT(*) FROM preview_secrets) + (SELECT COUNT(*) FROM imports)",
    )
    .fetch_one(&db)
    .await
    .expect("count");
    assert_eq!(left, 0);
    db.close().await;
    app.finish().await;
}

/// Large enough that its commit takes seconds, so progress is written
/// (at most once a second) while it runs.
const LARGE: usize = 40_000;

/// Polls `id` on `client` until its commit is seen running with rows
/// written, or it is done. Whether it was seen so.
async fn seen_running_with_progress(client: &TestClient, id: i64, total: usize) -> bool {
    for _ in 0..6000 {
        let import = client.get_ok(&format!("/api/imports/{id}")).await;
        if import["state"] == "running" {
            assert_eq!(import["progress"]["total"], total, "{import}");
            let done = import["progress"]["done"].as_u64().expect("done");
            assert!(done <= total as u64, "{import}");
            if done > 0 {
                return true;
            }
        } else {
            assert!(import.get("progress").is_none(), "{import}");
        }
        if import["state"] == "done" {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}

/// A commits a large import; B, polled all along, shows it running with
/// the rows written so far (and lists it), then done.
#[tokio::test]
async fn a_commits_progress_shows_on_every_process() {
    let (db, url) = TestDb::create(Kind::Postgres).await;
    let a = RealServer::start(&url, &[]).await;
    let b = RealServer::start(&url, &[]).await;
    let on_a = a.admin(PATIENCE).await;
    let on_b = b.admin(PATIENCE).await;
    let made = on_a
        .preview_rows(json!(rows("progress", 0, LARGE, 0)))
        .await;
    let id = id_of(&made);
    let committing = commit_in_background(&on_a, id);
    assert!(
        seen_running_with_progress(&on_b, id, LARGE).await,
        "process B saw the commit running with rows written"
    );
    let listed = on_b.get_ok("/api/imports").await;
    let running: Vec<&Value> = listed["imports"]
        .as_array()
        .expect("imports")
        .iter()
        .filter(|i| i["id"] == id)
        .collect();
    assert_eq!(running.len(), 1, "a running commit is listed: {listed}");
    assert_eq!(
        committing
            .await
            .expect("the commit's task")
            .expect("an answer"),
        StatusCode::OK
    );
    let import = on_b.get_ok(&format!("/api/imports/{id}")).await;
    assert_eq!(import["state"], "done", "{import}");
    assert_eq!(import["created"], LARGE);
    assert!(import.get("progress").is_none(), "{import}");
    drop((a, b));
    drop(db);
}

/// A is killed mid-commit: B stops showing the import running (nothing
/// was written: the transaction rolled back) and imports it itself, the
/// passwords included.
#[tokio::test]
async fn a_commit_cut_short_stops_looking_running() {
    let (db, url) = TestDb::create(Kind::Postgres).await;
    let mut a = RealServer::start(&url, &[]).await;
    let b = RealServer::start(&url, &[]).await;
    let on_a = a.admin(PATIENCE).await;
    let on_b = b.admin(PATIENCE).await;
    let made = on_a.preview_rows(json!(rows("cut", 0, LARGE, 2))).await;
    let id = id_of(&made);
    let committing = commit_in_background(&on_a, id);
    assert!(
        seen_running_with_progress(&on_b, id, LARGE).await,
        "process B saw the commit running with rows written"
    );
    a.kill();
    let _ = committing.await;
    let stopped = eventually(|| {
        let on_b = &on_b;
        async move {
            let import = on_b.get_ok(&format!("/api/imports/{id}")).await;
            import["state"] == "preview"
        }
    })
    .await;
    assert!(stopped, "the killed commit no longer looks running");
    assert_eq!(on_b.get_ok("/api/users?q=cut").await["total"], 0);
    assert_eq!(
        ok_json(commit(&on_b, id).await, StatusCode::OK).await["created"],
        LARGE
    );
    b.signed_in("cut000001", &password_of("cut", 1), PATIENCE)
        .await;
    drop(b);
    drop(db);
}
