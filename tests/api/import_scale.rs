//! Imports at scale (ignored by default): Try Import and Import of
//! `ROSTER_IMPORT_ROWS` (100,000) new users without passwords, then the same
//! rows again against the directory they made (every row matches a user),
//! once unchanged and once with new names. Timed over HTTP on both databases:
//!
//! ```text
//! cargo test --release -p roster-tests --test api import_scale \
//!     -- --ignored --nocapture --test-threads=1
//! ```

use std::time::Instant;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Kind, TestClient, ok_json, spawn_app, spawn_app_with};

#[tokio::test]
#[ignore = "slow: run by hand in release"]
async fn import_scale_sqlite() {
    import_scale(Kind::Sqlite).await
}

#[tokio::test]
#[ignore = "slow: run by hand in release"]
async fn import_scale_postgres() {
    import_scale(Kind::Postgres).await
}

/// Import of `ROSTER_IMPORT_PASSWORDS` (2,000) new users with passwords,
/// hashed with the real Argon2id parameters, against the single-core rate
/// (one thread hashing 20 passwords) times the cores.
#[tokio::test]
#[ignore = "slow: run by hand in release"]
async fn import_password_hashing() {
    let n: usize = std::env::var("ROSTER_IMPORT_PASSWORDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2_000);
    let policy = roster_server::PasswordPolicy::default();
    let single = tokio::task::spawn_blocking(move || {
        let start = Instant::now();
        for i in 0..20 {
            policy.hash(&format!("single-core-{i}")).expect("hash");
        }
        20.0 / start.elapsed().as_secs_f64()
    })
    .await
    .expect("hash on one thread");
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());

    let app = spawn_app_with(Kind::Sqlite, |c| c.password = policy).await;
    let admin = app.admin().await;
    let mut rows = rows(n, "Hash");
    for (i, row) in rows.as_array_mut().expect("rows").iter_mut().enumerate() {
        row["password"] = json!(format!("password-{i:06}"));
    }
    let (preview, _) = timed_preview(&admin, rows).await;
    let (result, t) = timed_commit(&admin, &preview).await;
    assert_eq!(result["created"], n);
    let rate = n as f64 / t;
    println!(
        "hashing: single core {single:.1}/s, {cores} cores; commit of {n} users with \
         passwords {t:.2} s = {rate:.1}/s, {:.0} % of cores x single-core rate",
        100.0 * rate / (single * cores as f64)
    );
    app.finish().await;
}

fn rows(n: usize, first_name: &str) -> Value {
    rows_from(0, n, first_name)
}

/// Rows for users `u{start}` … `u{start + n - 1}`, the usernames and user
/// IDs `scale::seed` gives its users.
pub(crate) fn rows_from(start: usize, n: usize, first_name: &str) -> Value {
    Value::Array(
        (start..start + n)
            .map(|i| {
                json!({
                    "row": i - start + 2,
                    "first_name": first_name,
                    "last_name": format!("Müller {}", i % 97),
                    "username": format!("u{i:07}"),
                    "email": format!("u{i:07}@school{}.example.com", i % 50),
                    "user_id": format!("{}", 10_000_000 + i),
                    "sub_level_1": format!("School {}", i % 20),
                    "sub_level_2": format!("Class {}", i % 30),
                })
            })
            .collect(),
    )
}

/// `ROSTER_IMPORT_ROWS`: the rows an import of these tests has (100,000).
fn import_rows() -> usize {
    std::env::var("ROSTER_IMPORT_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000)
}

/// An app whose requests may take 600 s: an undo's preview is an ordinary
/// request (60 s), and a debug build's needs longer.
async fn spawn_patient_app(kind: Kind) -> crate::helpers::TestApp {
    spawn_app_with(kind, |c| {
        c.timeouts.request = std::time::Duration::from_secs(600);
    })
    .await
}

async fn timed_preview(admin: &TestClient, rows: Value) -> (Value, f64) {
    let start = Instant::now();
    let preview = admin.preview_rows(rows).await;
    (preview, start.elapsed().as_secs_f64())
}

async fn timed_commit(admin: &TestClient, preview: &Value) -> (Value, f64) {
    let id = preview["id"].as_i64().expect("id");
    let start = Instant::now();
    let result = ok_json(
        admin
            .post(
                &format!("/api/imports/{id}/commit"),
                json!({"skip_errors": false}),
            )
            .await,
        StatusCode::OK,
    )
    .await;
    (result, start.elapsed().as_secs_f64())
}

#[tokio::test]
#[ignore = "seeds a million users: minutes; run by hand in release"]
async fn preview_against_a_million_users_sqlite() {
    preview_against_a_large_directory(Kind::Sqlite).await
}

#[tokio::test]
#[ignore = "seeds a million users: minutes; run by hand in release"]
async fn preview_against_a_million_users_postgres() {
    preview_against_a_large_directory(Kind::Postgres).await
}

/// Try Import of `ROSTER_IMPORT_ROWS` (100,000) rows against a directory of
/// `ROSTER_SCALE_USERS` (1,000,000) users: once rows that all match a user
/// (with other names: all to synchronise), once rows that match none.
async fn preview_against_a_large_directory(kind: Kind) {
    let env = |name: &str, default: usize| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let (n, users) = (
        env("ROSTER_IMPORT_ROWS", 100_000),
        env("ROSTER_SCALE_USERS", 1_000_000),
    );
    let app = spawn_app(kind).await;
    let admin = app.admin().await;
    let db = app.database().await;
    crate::scale::seed(
        &db,
        users,
        admin.administrator_role().await,
        admin.root_node().await,
    )
    .await;
    let analyze = match kind {
        Kind::Postgres => "VACUUM ANALYZE",
        Kind::Sqlite => "ANALYZE",
    };
    sqlx::query(analyze).execute(&db).await.expect("analyze");
    db.close().await;

    let (preview, t) = timed_preview(&admin, rows_from(users / 2, n, "Zoë")).await;
    assert_eq!(preview["summary"]["to_sync"], n, "{}", preview["summary"]);
    println!("{kind:?}: preview of {n} rows, all matching, against {users} users: {t:.2} s");
    let (preview, t) = timed_preview(&admin, rows_from(users, n, "Zoë")).await;
    assert_eq!(preview["summary"]["to_create"], n, "{}", preview["summary"]);
    assert_eq!(preview["summary"]["with_warnings"], 0);
    println!("{kind:?}: preview of {n} new rows against {users} users: {t:.2} s");
    // New usernames for people already there (SPEC 4b): every row a
    // possible duplicate of a seeded user, written in other capitals.
    let (preview, t) = timed_preview(&admin, duplicate_rows(users / 3, n)).await;
    assert_eq!(preview["summary"]["to_create"], n, "{}", preview["summary"]);
    assert_eq!(
        preview["summary"]["with_warnings"], n,
        "{}",
        preview["summary"]
    );
    println!(
        "{kind:?}: preview of {n} new rows, each a possible duplicate, against {users} users: {t:.2} s"
    );

    // Possible duplicates already in the directory: every 50th seeded user
    // twice (users / 50 groups).
    let db = app.database().await;
    let copy = "INSERT INTO users (first_name, last_name, username, username_key, email, user_id, \
        role_id, sort_key, created_at, updated_at, dup_key, time_zone) \
        SELECT first_name, last_name, 'd' || username, 'd' || username_key, email, \
        'd' || user_id, role_id, sort_key, created_at, updated_at, dup_key, time_zone \
        FROM users WHERE id % 50 = 0 AND username LIKE 'u%'";
    let copied = sqlx::query(copy)
        .execute(&db)
        .await
        .expect("copy users")
        .rows_affected();
    sqlx::query(
        "INSERT INTO user_memberships (user_pk, node_id) SELECT id, $1 FROM users \
        WHERE username LIKE 'du%'",
    )
    .bind(admin.root_node().await)
    .execute(&db)
    .await
    .expect("their memberships");
    sqlx::query(analyze).execute(&db).await.expect("analyze");
    for page in [1, copied.div_ceil(20)] {
        let start = Instant::now();
        let found = admin
            .get_ok(&format!("/api/users/duplicates?page={page}"))
            .await;
        let t = start.elapsed().as_secs_f64();
        assert_eq!(found["groups_total"], copied, "{}", found["groups_total"]);
        assert!(!found["groups"].as_array().expect("groups").is_empty());
        println!(
            "{kind:?}: duplicates page {page} of {} ({copied} groups, {} users): {t:.2} s",
            copied.div_ceil(20),
            users as u64 + copied
        );
    }

    // The start after migration 0010: every key filled from Rust.
    sqlx::query("UPDATE users SET dup_key = NULL")
        .execute(&db)
        .await
        .expect("clear keys");
    let start = Instant::now();
    let filled = roster_server::db::users::fill_duplicate_keys(&db)
        .await
        .expect("fill the keys");
    println!(
        "{kind:?}: filled {filled} users' duplicate keys in {:.1} s",
        start.elapsed().as_secs_f64()
    );
    db.close().await;
    app.finish().await;
}

/// `n` rows for new usernames whose names and email are those of
/// `scale::seed`'s users from `start` on (the email in capitals).
fn duplicate_rows(start: usize, n: usize) -> Value {
    Value::Array(
        (start..start + n)
            .map(|i| {
                let u = crate::scale::user(i);
                json!({
                    "row": i - start + 2,
                    "first_name": u.first,
                    "last_name": u.last,
                    "username": format!("n{i:07}"),
                    "email": u.email.to_uppercase(),
                    "user_id": format!("{}", 30_000_000 + i),
                })
            })
            .collect(),
    )
}

async fn import_scale(kind: Kind) {
    let n = import_rows();
    let app = spawn_app(kind).await;
    let admin = app.admin().await;

    let (preview, t) = timed_preview(&admin, rows(n, "Zoë")).await;
    assert_eq!(preview["summary"]["to_create"], n);
    println!("{kind:?}: preview of {n} new rows (empty directory): {t:.2} s");
    let (result, t) = timed_commit(&admin, &preview).await;
    assert_eq!(result["created"], n);
    println!("{kind:?}: commit of {n} new users (no passwords): {t:.2} s");

    let (preview, t) = timed_preview(&admin, rows(n, "Zoë")).await;
    assert_eq!(preview["summary"]["unchanged"], n);
    println!("{kind:?}: preview of {n} rows, all matching ({n} users): {t:.2} s");
    let (preview, t) = timed_preview(&admin, rows(n, "Anna")).await;
    assert_eq!(preview["summary"]["to_sync"], n);
    println!("{kind:?}: preview of {n} rows, all changed: {t:.2} s");
    let (result, t) = timed_commit(&admin, &preview).await;
    assert_eq!(result["synced"], n);
    println!("{kind:?}: commit of {n} synchronised users: {t:.2} s");
    // Counted up to the search's cap (and said as "10,000+").
    assert_eq!(
        admin.get_ok("/api/users?q=anna").await["total"],
        n.min(10_000)
    );
    app.finish().await;
}

#[tokio::test]
#[ignore = "slow: run by hand in release"]
async fn undo_scale_sqlite() {
    undo_scale(Kind::Sqlite).await
}

#[tokio::test]
#[ignore = "slow: run by hand in release"]
async fn undo_scale_postgres() {
    undo_scale(Kind::Postgres).await
}

#[tokio::test]
#[ignore = "slow: run by hand in release"]
async fn undo_created_scale_sqlite() {
    undo_created_scale(Kind::Sqlite).await
}

#[tokio::test]
#[ignore = "slow: run by hand in release"]
async fn undo_created_scale_postgres() {
    undo_created_scale(Kind::Postgres).await
}

/// The undo of `ROSTER_IMPORT_ROWS` (100,000) new users right after their
/// import: the wrong file, undone at once. [`undo_scale`] undoes them only
/// after a sync and its undo have written each user's row and terms twice
/// more, which leaves dead rows behind for the undo to step over.
async fn undo_created_scale(kind: Kind) {
    let n = import_rows();
    let app = spawn_patient_app(kind).await;
    let admin = app.admin().await;
    let (preview, _) = timed_preview(&admin, rows(n, "Zoë")).await;
    let created_id = preview["id"].as_i64().expect("id");
    let (_, create_t) = timed_commit(&admin, &preview).await;
    let (result, p, t) = timed_undo(&admin, created_id).await;
    assert_eq!(result["trashed"], n, "{result}");
    assert_eq!(result["nodes_removed"], 80, "{result}");
    println!(
        "{kind:?}: {n} created users, undone at once: import commit {create_t:.2} s; \
         undo preview {p:.2} s, undo commit {t:.2} s"
    );
    app.finish().await;
}

/// Preview and commit of an undo (SPEC section 6b), timed with the commit.
async fn timed_undo(admin: &TestClient, id: i64) -> (Value, f64, f64) {
    let start = Instant::now();
    let preview = ok_json(
        admin
            .post(&format!("/api/imports/{id}/undo"), json!({}))
            .await,
        StatusCode::OK,
    )
    .await;
    let previewed = start.elapsed().as_secs_f64();
    let start = Instant::now();
    let result = ok_json(
        admin
            .post(
                &format!("/api/imports/{id}/undo/commit"),
                json!({"fingerprint": preview["fingerprint"]}),
            )
            .await,
        StatusCode::OK,
    )
    .await;
    (result, previewed, start.elapsed().as_secs_f64())
}

/// Undo against the import's own commit: `ROSTER_IMPORT_ROWS` (100,000)
/// new users, then a sync of them all with new names; the sync undone
/// (every user's earlier names back), then the create (every user to the
/// trash can, the 80 nodes it created removed).
async fn undo_scale(kind: Kind) {
    let n = import_rows();
    let app = spawn_patient_app(kind).await;
    let admin = app.admin().await;

    let (preview, _) = timed_preview(&admin, rows(n, "Zoë")).await;
    let created_id = preview["id"].as_i64().expect("id");
    let (_, create_t) = timed_commit(&admin, &preview).await;
    let (preview, sync_p) = timed_preview(&admin, rows(n, "Anna")).await;
    let synced_id = preview["id"].as_i64().expect("id");
    let (_, sync_t) = timed_commit(&admin, &preview).await;

    let (result, p, t) = timed_undo(&admin, synced_id).await;
    assert_eq!(result["restored"], n, "{result}");
    println!(
        "{kind:?}: {n} synchronised users: Try Import {sync_p:.2} s, import commit {sync_t:.2} s; \
         undo preview {p:.2} s, undo commit {t:.2} s"
    );
    assert_eq!(admin.get_ok("/api/users?q=anna").await["total"], 0);
    let (result, p, t) = timed_undo(&admin, created_id).await;
    assert_eq!(result["trashed"], n, "{result}");
    // Every node the import created (20 schools, 60 school-class pairs):
    // only the root is left.
    assert_eq!(result["nodes_removed"], 80, "{result}");
    let nodes = admin.get_ok("/api/hierarchy").await;
    assert_eq!(nodes["nodes"].as_array().map(Vec::len), Some(1), "{nodes}");
    println!(
        "{kind:?}: {n} created users: import commit {create_t:.2} s; undo preview {p:.2} s, \
         undo commit {t:.2} s"
    );
    // The trash can's search reads its users and matches them in Rust: on
    // a trash can of `n`, a word every user has (counted to the cap), one
    // user's username and a word nobody has (every user read).
    let one = format!("u{:07}", n / 2);
    for (q, total) in [("zoe", n.min(10_000)), (one.as_str(), 1), ("nobodyhere", 0)] {
        let start = Instant::now();
        let page = admin.get_ok(&format!("/api/trash?q={q}")).await;
        let took = start.elapsed().as_secs_f64();
        assert_eq!(page["total"], total, "{q}: {page}");
        println!("{kind:?}: trash can of {n}, search {q:?}: {took:.3} s");
    }
    app.finish().await;
}
