//! Undo an import (SPEC section 6b): the preview, the commit, what comes
//! back and what is left alone, the links in the history, and the refusals
//! (stale preview, second undo, role coverage), through HTTP and the
//! command line.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Kind, TestClient, assert_error, ok_json, spawn_app};
use crate::on_both_databases;

on_both_databases!(
    an_undo_restores_trashes_removes_and_leaves_changed_users_alone,
    the_command_line_previews_and_undoes_an_import,
    the_kept_hash_is_never_returned_and_goes_with_a_purged_user,
    an_undo_gives_back_the_duplicate_key_of_the_earlier_values,
    an_import_made_before_undo_existed_is_refused_not_undone_in_part,
    a_kept_hash_goes_once_replaced_or_used,
);

const EARLIER_PASSWORD: &str = "earlier-Pass-2024";
const IMPORT_PASSWORD: &str = "imported-Pass-2025";

fn row(n: u32, username: &str, user_id: &str, first: &str) -> Value {
    json!({
        "row": n, "first_name": first, "last_name": "Undo", "username": username,
        "email": format!("{username}@example.com"), "user_id": user_id,
    })
}

async fn undo_preview(client: &TestClient, id: i64) -> reqwest::Response {
    client
        .post(&format!("/api/imports/{id}/undo"), json!({}))
        .await
}

async fn undo_commit(client: &TestClient, id: i64, fingerprint: &str) -> reqwest::Response {
    client
        .post(
            &format!("/api/imports/{id}/undo/commit"),
            json!({"fingerprint": fingerprint}),
        )
        .await
}

/// The user `username`, active or in the trash can (by id, from a search).
async fn find(admin: &TestClient, username: &str) -> Option<Value> {
    for list in ["/api/users", "/api/trash"] {
        let page = admin.get_ok(&format!("{list}?q={username}")).await;
        if let Some(u) = page["users"]
            .as_array()
            .and_then(|users| users.iter().find(|u| u["username"] == username))
        {
            return Some(u.clone());
        }
    }
    None
}

async fn user(admin: &TestClient, username: &str) -> Value {
    find(admin, username)
        .await
        .unwrap_or_else(|| panic!("no user {username}"))
}

fn id_of(user: &Value) -> i64 {
    user["id"].as_i64().expect("a user id")
}

/// PUT of a user as it is, with `change` over it.
async fn change_user(admin: &TestClient, user: &Value, change: Value) {
    let mut body = json!({
        "first_name": user["first_name"], "last_name": user["last_name"],
        "username": user["username"], "email": user["email"], "user_id": user["user_id"],
        "role_id": user["role_id"], "hierarchy_ids": user["hierarchy_ids"],
        "special_needs": user["special_needs"], "sync_key": user["sync_key"],
        "time_zone": user["time_zone"],
    });
    for (k, v) in change.as_object().expect("an object") {
        body[k] = v.clone();
    }
    let response = admin
        .put(&format!("/api/users/{}", id_of(user)), body)
        .await;
    ok_json(response, StatusCode::OK).await;
}

fn usernames(list: &Value) -> Vec<String> {
    let mut names: Vec<String> = list
        .as_array()
        .expect("a list")
        .iter()
        .map(|u| u["username"].as_str().unwrap_or_default().to_string())
        .collect();
    names.sort();
    names
}

async fn an_undo_restores_trashes_removes_and_leaves_changed_users_alone(kind: Kind) {
    let app = spawn_app(kind).await;
    let admin = app.admin().await;
    let root = admin.root_node().await;
    let clerk_role = admin.role("Clerk", &["manage_users"]).await;
    admin
        .create_user(
            json!({"username": "keyholder", "user_id": "S-1", "first_name": "Sam",
            "password": EARLIER_PASSWORD, "role_id": clerk_role}),
        )
        .await;
    admin
        .create_user(
            json!({"username": "mover", "user_id": "M-1", "first_name": "Mia",
            "role_id": clerk_role}),
        )
        .await;
    admin
        .create_user(
            json!({"username": "renumbered", "user_id": "T-1", "first_name": "Tom",
            "role_id": clerk_role}),
        )
        .await;
    admin
        .create_user(json!({"username": "clerk", "password": "clerk-password",
            "role_id": clerk_role}))
        .await;

    let mut keyholder_row = row(4, "keyholder", "S-1", "Samuel");
    keyholder_row["password"] = json!(IMPORT_PASSWORD);
    let mut mover_row = row(5, "mover", "M-1", "Mia");
    mover_row["sub_level_1"] = json!("New Class");
    let id = admin
        .import_rows(json!([
            row(2, "newbie", "N-1", "Nina"),
            row(3, "edited", "E-1", "Ed"),
            keyholder_row,
            mover_row,
            row(6, "renumbered", "T-2", "Tom"),
        ]))
        .await;
    let new_class = admin.get_ok("/api/hierarchy").await["nodes"]
        .as_array()
        .and_then(|n| n.iter().find(|n| n["path"] == "Root/New Class"))
        .and_then(|n| n["id"].as_i64())
        .expect("the import created Root/New Class");
    // The import's password signs in; that session ends with the undo.
    let keyholder_session = app.signed_in("keyholder", IMPORT_PASSWORD).await;

    // Changed since: a name by PUT, and T-1 taken by someone else.
    change_user(
        &admin,
        &user(&admin, "edited").await,
        json!({"last_name": "Edited"}),
    )
    .await;
    admin
        .create_user(json!({"username": "newcomer", "user_id": "T-1"}))
        .await;

    // Only someone covering the import's role (Administrator) may undo it.
    let clerk = app.signed_in("clerk", "clerk-password").await;
    assert_error(
        undo_preview(&clerk, id).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    assert_error(
        undo_commit(&clerk, id, "any").await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    assert_error(
        undo_preview(&admin, 999_999).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;

    let p = ok_json(undo_preview(&admin, id).await, StatusCode::OK).await;
    assert_eq!(p["import_id"], id);
    assert_eq!(
        p["summary"],
        json!({"to_trash": 1, "to_restore": 2, "nodes_to_remove": 1, "untouched": 2})
    );
    assert_eq!(usernames(&p["to_trash"]), ["newbie"]);
    assert_eq!(p["to_trash"][0]["user_id"], "N-1");
    let restore: Vec<(String, Value)> = p["to_restore"]
        .as_array()
        .expect("to_restore")
        .iter()
        .map(|r| {
            (
                r["username"].as_str().unwrap_or_default().to_string(),
                r["fields"].clone(),
            )
        })
        .collect();
    assert!(
        restore.contains(&(
            "keyholder".to_string(),
            json!(["first_name", "last_name", "email", "password", "role"])
        )),
        "{restore:?}"
    );
    assert!(
        restore.contains(&(
            "mover".to_string(),
            json!(["last_name", "email", "role", "hierarchy"])
        )),
        "{restore:?}"
    );
    assert_eq!(p["nodes_to_remove"], json!(["Root/New Class"]));
    let untouched = p["untouched"].as_array().expect("untouched");
    let edited = untouched
        .iter()
        .find(|u| u["username"] == "edited")
        .expect("edited is left alone");
    assert_eq!(edited["reason"], "changed_since");
    assert_eq!(edited["fields"], json!(["last_name"]));
    assert!(
        edited["message"]
            .as_str()
            .unwrap_or_default()
            .contains("last_name"),
        "{edited}"
    );
    let renumbered = untouched
        .iter()
        .find(|u| u["username"] == "renumbered")
        .expect("renumbered is left alone");
    assert_eq!(renumbered["reason"], "user_id_taken");
    let fingerprint = p["fingerprint"]
        .as_str()
        .expect("a fingerprint")
        .to_string();

    // A change after the preview: 409 with a fresh preview, nothing undone.
    change_user(
        &admin,
        &user(&admin, "newbie").await,
        json!({"first_name": "Nadia"}),
    )
    .await;
    let response = undo_commit(&admin, id, &fingerprint).await;
    let stale = ok_json(response, StatusCode::CONFLICT).await;
    assert_eq!(stale["error"]["code"], "stale_undo", "{stale}");
    let fresh = &stale["preview"];
    assert_eq!(fresh["summary"]["to_trash"], 0, "{fresh}");
    assert_eq!(fresh["summary"]["untouched"], 3, "{fresh}");
    assert_ne!(fresh["fingerprint"], json!(fingerprint));
    assert!(find(&admin, "newbie").await.expect("newbie")["deleted_at"].is_null());
    assert_eq!(user(&admin, "keyholder").await["first_name"], "Samuel");
    // Back as the import left it: the first preview holds again.
    change_user(
        &admin,
        &user(&admin, "newbie").await,
        json!({"first_name": "Nina"}),
    )
    .await;
    assert_error(
        undo_commit(&admin, id, "not-a-fingerprint").await,
        StatusCode::CONFLICT,
        "stale_undo",
    )
    .await;

    let result = ok_json(undo_commit(&admin, id, &fingerprint).await, StatusCode::OK).await;
    let undo_id = result["undo_import_id"].as_i64().expect("the undo's id");
    assert_eq!(
        result,
        json!({"undo_import_id": undo_id, "trashed": 1, "restored": 2, "nodes_removed": 1,
            "untouched": 2})
    );

    // Created: in the trash can. Changed since: as they were.
    let newbie = user(&admin, "newbie").await;
    assert!(newbie["deleted_at"].is_string(), "{newbie}");
    assert_eq!(admin.get_ok("/api/users?q=newbie").await["total"], 0);
    let edited = user(&admin, "edited").await;
    assert!(edited["deleted_at"].is_null());
    assert_eq!(edited["last_name"], "Edited");
    let renumbered = user(&admin, "renumbered").await;
    assert_eq!(renumbered["user_id"], "T-2");
    assert_eq!(renumbered["role_id"], admin.administrator_role().await);
    // Synchronised: their earlier values, found by them in search.
    let keyholder = user(&admin, "keyholder").await;
    assert_eq!(keyholder["first_name"], "Sam");
    assert_eq!(keyholder["role_id"], clerk_role);
    assert_eq!(admin.get_ok("/api/users?q=samuel").await["total"], 0);
    let mover = user(&admin, "mover").await;
    assert_eq!(mover["hierarchy_ids"], json!([root]));
    assert_eq!(mover["role_id"], clerk_role);
    // The earlier password signs in again, the import's no longer does,
    // and the session the import's password opened has ended.
    let mut probe = app.client();
    assert_eq!(
        probe.login("keyholder", IMPORT_PASSWORD).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        probe.login("keyholder", EARLIER_PASSWORD).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        keyholder_session.get("/api/me").await.status(),
        StatusCode::UNAUTHORIZED
    );
    // The created node, left empty, is gone.
    let nodes = admin.get_ok("/api/hierarchy").await;
    assert!(
        !nodes["nodes"]
            .as_array()
            .expect("nodes")
            .iter()
            .any(|n| n["id"] == new_class),
        "{nodes}"
    );
    // And no membership names it: the undo deletes them first (no foreign
    // key would refuse the node's deletion, migration 0012).
    let members: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM user_memberships WHERE node_id = $1")
            .bind(new_class)
            .fetch_one(&app.database().await)
            .await
            .expect("count");
    assert_eq!(members, 0);

    // The history entries name each other.
    let original = admin.get_ok(&format!("/api/imports/{id}")).await;
    assert_eq!(original["undone_by"], undo_id);
    assert!(original["undo_of"].is_null());
    let entry = admin.get_ok(&format!("/api/imports/{undo_id}")).await;
    assert_eq!(entry["undo_of"], id);
    assert!(entry["undone_by"].is_null());
    assert_eq!(entry["state"], "done");
    assert_eq!(entry["file_name"], format!("Undo of import {id}"));
    let mut actions: Vec<String> = entry["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .map(|c| c["action"].as_str().unwrap_or_default().to_string())
        .collect();
    actions.sort();
    assert_eq!(actions, ["restore", "restore", "trash"]);
    let text = entry.to_string();
    assert!(!text.contains("argon2"), "no hash in the history: {text}");
    let list = admin.get_ok("/api/imports").await;
    assert_eq!(list["imports"][0]["undo_of"], id, "{list}");

    // Once only; an undo is not undone.
    assert_error(
        undo_preview(&admin, id).await,
        StatusCode::CONFLICT,
        "already_undone",
    )
    .await;
    assert_error(
        undo_commit(&admin, id, &fingerprint).await,
        StatusCode::CONFLICT,
        "already_undone",
    )
    .await;
    assert_error(
        undo_preview(&admin, undo_id).await,
        StatusCode::CONFLICT,
        "conflict",
    )
    .await;

    // A user the undo moved to the trash can is found again once restored.
    admin
        .post(&format!("/api/trash/{}/restore", id_of(&newbie)), json!({}))
        .await
        .error_for_status()
        .expect("restored");
    assert_eq!(admin.get_ok("/api/users?q=nina").await["total"], 1);
    app.finish().await;
}

async fn the_command_line_previews_and_undoes_an_import(kind: Kind) {
    let app = spawn_app(kind).await;
    let admin = app.admin().await;
    let id = admin
        .import_rows(json!([
            row(2, "cliundo", "CU-1", "Cleo"),
            row(3, "cliundo2", "CU-2", "Carl")
        ]))
        .await;
    let run = |extra: &[&str]| {
        std::process::Command::new(roster_tests::roster_bin())
            .args(["import", "--undo", &id.to_string()])
            .args(extra)
            .env("DATABASE_URL", &app.database_url)
            .output()
            .expect("run roster import --undo")
    };
    let shown = run(&[]);
    let out = String::from_utf8_lossy(&shown.stdout);
    assert_eq!(shown.status.code(), Some(0), "{out}");
    assert!(
        out.contains(&format!(
            "Undo of import {id}: 2 to the trash can, 0 to restore, 0 nodes to remove, 0 left as they are."
        )),
        "{out}"
    );
    assert!(out.contains("cliundo (CU-1)"), "{out}");
    assert!(find(&admin, "cliundo").await.expect("cliundo")["deleted_at"].is_null());

    let done = run(&["--commit"]);
    let out = String::from_utf8_lossy(&done.stdout);
    let err = String::from_utf8_lossy(&done.stderr);
    assert_eq!(done.status.code(), Some(0), "{out}\n{err}");
    assert!(
        out.contains("2 moved to the trash can, 0 restored"),
        "{out}"
    );
    assert!(user(&admin, "cliundo").await["deleted_at"].is_string());
    let entry = admin.get_ok(&format!("/api/imports/{id}")).await;
    assert!(entry["undone_by"].is_i64(), "{entry}");

    let again = run(&["--commit"]);
    let err = String::from_utf8_lossy(&again.stderr);
    assert_eq!(again.status.code(), Some(1), "{err}");
    assert!(err.contains("undone already"), "{err}");
    app.finish().await;
}

/// PostgreSQL: undo commits of one import sent at once: exactly one wins,
/// the others are told it was undone already.
#[tokio::test]
async fn parallel_undo_commits_undo_once_on_postgres() {
    let app = spawn_app(Kind::Postgres).await;
    let admin = app.admin().await;
    let rows: Vec<Value> = (0..200)
        .map(|i| row(i + 2, &format!("par{i}"), &format!("P-{i}"), "Pat"))
        .collect();
    let id = admin.import_rows(json!(rows)).await;
    let p = ok_json(undo_preview(&admin, id).await, StatusCode::OK).await;
    let fingerprint = p["fingerprint"].as_str().expect("fingerprint").to_string();
    let mut tasks = Vec::new();
    for _ in 0..6 {
        let http = admin.http.clone();
        let url = format!("{}/api/imports/{id}/undo/commit", admin.base);
        let csrf = admin.csrf.clone().unwrap_or_default();
        let body = json!({"fingerprint": fingerprint});
        tasks.push(tokio::spawn(async move {
            let response = http
                .post(url)
                .header("X-CSRF-Token", csrf)
                .json(&body)
                .send()
                .await
                .expect("send");
            let status = response.status();
            let body: Value = response.json().await.unwrap_or(Value::Null);
            (status, body)
        }));
    }
    let mut won = 0;
    for task in tasks {
        let (status, body) = task.await.expect("a task");
        match status {
            StatusCode::OK => {
                won += 1;
                assert_eq!(body["trashed"], 200, "{body}");
            }
            StatusCode::CONFLICT => assert_eq!(body["error"]["code"], "already_undone", "{body}"),
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert_eq!(won, 1);
    let entries = admin.get_ok("/api/imports").await;
    let undos = entries["imports"]
        .as_array()
        .expect("imports")
        .iter()
        .filter(|e| e["undo_of"] == id)
        .count();
    assert_eq!(undos, 1, "{entries}");
    assert_eq!(admin.get_ok("/api/trash?q=par").await["total"], 200);
    app.finish().await;
}

async fn the_kept_hash_is_never_returned_and_goes_with_a_purged_user(kind: Kind) {
    const DAY: i64 = 86_400;
    let mut app = spawn_app(kind).await;
    let admin = app.admin().await;
    let kept = admin
        .create_user(json!({"username": "kept", "user_id": "K-1",
            "password": EARLIER_PASSWORD}))
        .await;
    let mut changed = row(2, "kept", "K-1", "Kim");
    changed["password"] = json!(IMPORT_PASSWORD);
    let id = admin.import_rows(json!([changed])).await;
    let db = app.database().await;
    let kept_hashes = || async {
        let (before, digest): (Option<String>, Option<String>) = sqlx::query_as(
            "SELECT password_hash_before, password_after_digest FROM import_changes \
             WHERE import_id = $1",
        )
        .bind(id)
        .fetch_one(&db)
        .await
        .expect("the import's change");
        (before, digest)
    };
    let (before, digest) = kept_hashes().await;
    assert!(
        before.is_some_and(|h| h.starts_with("$argon2")),
        "the earlier hash is kept"
    );
    assert!(digest.is_some());
    let entry = admin
        .get_ok(&format!("/api/imports/{id}"))
        .await
        .to_string();
    assert!(!entry.contains("argon2"), "{entry}");
    let preview = ok_json(undo_preview(&admin, id).await, StatusCode::OK)
        .await
        .to_string();
    assert!(!preview.contains("argon2"), "{preview}");

    let trashed = admin.delete(&format!("/api/users/{}", id_of(&kept))).await;
    assert_eq!(trashed.status(), StatusCode::NO_CONTENT);
    app.clock.advance(31 * DAY);
    app.restart().await;
    assert_eq!(kept_hashes().await, (None, None), "purged with the user");
    let admin = app.admin().await;
    let p = ok_json(undo_preview(&admin, id).await, StatusCode::OK).await;
    assert_eq!(p["untouched"][0]["reason"], "gone", "{p}");
    db.close().await;
    app.finish().await;
}

/// The earlier name and email come back as the possible-duplicates key too
/// (`users.dup_key`): two users who were twins before the import are twins
/// again after its undo.
async fn an_undo_gives_back_the_duplicate_key_of_the_earlier_values(kind: Kind) {
    let app = spawn_app(kind).await;
    let admin = app.admin().await;
    for (username, user_id) in [("ann1", "A-1"), ("ann2", "A-2")] {
        admin
            .create_user(json!({"username": username, "user_id": user_id,
                "first_name": "Ann", "last_name": "Lee", "email": "ann@example.com"}))
            .await;
    }
    let groups = |page: Value| page["groups_total"].clone();
    assert_eq!(groups(admin.get_ok("/api/users/duplicates").await), 1);
    let id = admin
        .import_rows(
            json!([{"row": 2, "first_name": "Bea", "last_name": "Lee", "username": "ann1",
            "email": "bea@example.com", "user_id": "A-1"}]),
        )
        .await;
    assert_eq!(groups(admin.get_ok("/api/users/duplicates").await), 0);
    let preview = ok_json(undo_preview(&admin, id).await, StatusCode::OK).await;
    let fingerprint = preview["fingerprint"].as_str().expect("fingerprint");
    ok_json(undo_commit(&admin, id, fingerprint).await, StatusCode::OK).await;
    assert_eq!(groups(admin.get_ok("/api/users/duplicates").await), 1);
    app.finish().await;
}

/// An import committed before migration 0009 kept no earlier hashes,
/// memberships or nodes: its undo is refused (409) rather than done in part
/// (attacker review).
async fn an_import_made_before_undo_existed_is_refused_not_undone_in_part(kind: Kind) {
    let app = spawn_app(kind).await;
    let admin = app.admin().await;
    let id = admin
        .import_rows(json!([row(2, "elder", "E-1", "Eli")]))
        .await;
    // What 0009 leaves on an import committed before it.
    sqlx::query("UPDATE imports SET undo_record = 0 WHERE id = $1")
        .bind(id)
        .execute(&app.database().await)
        .await
        .expect("age the import");
    let message = assert_error(
        undo_preview(&admin, id).await,
        StatusCode::CONFLICT,
        "conflict",
    )
    .await;
    assert!(message.contains("cannot be undone"), "{message}");
    assert!(user(&admin, "elder").await["deleted_at"].is_null());
    app.finish().await;
}

/// An earlier hash kept for an undo is forgotten once the password is set
/// anew (the undo would leave that user alone) and once the undo used it
/// (attacker review: hashes kept for ever).
async fn a_kept_hash_goes_once_replaced_or_used(kind: Kind) {
    let app = spawn_app(kind).await;
    let admin = app.admin().await;
    let mut rows = Vec::new();
    for (n, username) in [(2, "first"), (3, "second")] {
        admin
            .create_user(json!({"username": username, "user_id": username,
                "password": EARLIER_PASSWORD}))
            .await;
        let mut changed = row(n, username, username, "Kim");
        changed["password"] = json!(IMPORT_PASSWORD);
        rows.push(changed);
    }
    let id = admin.import_rows(Value::Array(rows)).await;
    let db = app.database().await;
    let kept = |username: &'static str| {
        let db = db.clone();
        async move {
            let hash: Option<String> = sqlx::query_scalar(
                "SELECT c.password_hash_before FROM import_changes c \
                 JOIN users u ON u.id = c.user_pk WHERE c.import_id = $1 AND u.username = $2",
            )
            .bind(id)
            .bind(username)
            .fetch_one(&db)
            .await
            .expect("the import's change");
            hash.is_some()
        }
    };
    assert!(kept("first").await && kept("second").await);
    let second = user(&admin, "second").await;
    change_user(&admin, &second, json!({"password": "set-anew-Pass-2026"})).await;
    assert!(!kept("second").await, "replaced: forgotten");
    assert!(kept("first").await);
    let preview = ok_json(undo_preview(&admin, id).await, StatusCode::OK).await;
    let fingerprint = preview["fingerprint"].as_str().expect("fingerprint");
    ok_json(undo_commit(&admin, id, fingerprint).await, StatusCode::OK).await;
    assert!(!kept("first").await, "used: forgotten");
    // The undo gave the first its earlier password, left the second's.
    let mut probe = app.client();
    assert_eq!(
        probe.login("first", EARLIER_PASSWORD).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        probe.login("second", "set-anew-Pass-2026").await.status(),
        StatusCode::OK
    );
    db.close().await;
    app.finish().await;
}

/// How many times `table` was analysed (by `ANALYZE` or by autovacuum,
/// which may take the table's lock first where it is on).
async fn analyses(db: &roster_server::db::Db, table: &str) -> i64 {
    sqlx::query_scalar(
        "SELECT CAST(analyze_count + autoanalyze_count AS BIGINT) FROM pg_stat_user_tables \
         WHERE relname = $1",
    )
    .bind(table)
    .fetch_one(db)
    .await
    .expect("the table's statistics")
}

/// A commit that writes [`REFRESH_STATISTICS_FROM`] users or more, an
/// import's or an undo's, refreshes PostgreSQL's planner statistics
/// (`db::refresh_statistics`). Without it, until autovacuum came (never,
/// on these machines), a keyed delete of the terms of 100 users was
/// planned as a read of the whole table, as for the empty directory the
/// import began with: the undo of 100,000 users read it a hundred times.
///
/// [`REFRESH_STATISTICS_FROM`]: roster_server::db::REFRESH_STATISTICS_FROM
#[tokio::test]
async fn a_large_import_and_its_undo_refresh_the_planners_statistics_on_postgres() {
    let app = spawn_app(Kind::Postgres).await;
    let admin = app.admin().await;
    let db = app.database().await;
    let n = roster_server::db::REFRESH_STATISTICS_FROM;
    let id = admin
        .import_rows(crate::import_scale::rows_from(0, n, "Stat"))
        .await;
    let ids: Vec<String> = sqlx::query_scalar(
        "SELECT CAST(id AS TEXT) FROM users WHERE username <> 'admin' ORDER BY users.id LIMIT 100",
    )
    .fetch_all(&db)
    .await
    .expect("user ids");
    // 100 of the 10,000 users: with statistics, 1 % of the table (the
    // commits' lists of 1,000 are 1 % of a 100,000-user directory).
    let plan: Vec<String> = sqlx::query_scalar(&format!(
        "EXPLAIN DELETE FROM user_search_terms WHERE user_pk IN ({})",
        ids.join(", ")
    ))
    .fetch_all(&db)
    .await
    .expect("a plan");
    let plan = plan.join("\n");
    assert!(
        !plan.contains("Seq Scan"),
        "the terms of 100 users are deleted by reading the whole table:\n{plan}"
    );

    // The same rows again: 10,000 syncs that change nothing write nothing.
    let before = analyses(&db, "user_search_terms").await;
    admin
        .import_rows(crate::import_scale::rows_from(0, n, "Stat"))
        .await;
    assert_eq!(
        analyses(&db, "user_search_terms").await,
        before,
        "an import that changed nothing analyses nothing"
    );
    let undone = admin.undo_import(id).await;
    assert_eq!(undone["trashed"], n, "{undone}");
    assert!(
        analyses(&db, "user_search_terms").await > before,
        "the undo's commit analyses what it wrote"
    );
    db.close().await;
    app.finish().await;
}

/// Statistics refreshed by several processes at once, while another
/// session holds a lock `ANALYZE` needs (a `VACUUM`, a migration): every
/// refresh returns instead of waiting behind the lock (`SKIP_LOCKED`), so
/// no commit's answer hangs on it, and the free tables are analysed.
#[tokio::test]
async fn refreshes_at_once_skip_a_held_table_on_postgres() {
    let app = spawn_app(Kind::Postgres).await;
    let db = app.database().await;
    let mut holder = db.begin().await.expect("begin");
    sqlx::query("LOCK TABLE user_search_terms IN SHARE UPDATE EXCLUSIVE MODE")
        .execute(&mut *holder)
        .await
        .expect("hold the lock ANALYZE takes");
    let users_before = analyses(&db, "users").await;
    let terms_before = analyses(&db, "user_search_terms").await;
    let mut refreshes = Vec::new();
    for _ in 0..6 {
        let pool = roster_server::db::connect_with(&app.database_url, Some(1))
            .await
            .expect("connect");
        refreshes.push(tokio::spawn(async move {
            roster_server::db::refresh_statistics(&pool).await;
            pool.close().await;
        }));
    }
    for refresh in refreshes {
        tokio::time::timeout(std::time::Duration::from_secs(30), refresh)
            .await
            .expect("a refresh waited behind the held lock")
            .expect("a refresh task");
    }
    assert!(
        analyses(&db, "users").await > users_before,
        "users analysed"
    );
    assert_eq!(
        analyses(&db, "user_search_terms").await,
        terms_before,
        "the held table is skipped"
    );
    holder.rollback().await.expect("rollback");
    db.close().await;
    app.finish().await;
}
