//! Possible duplicates against the directory (SPEC 4b): Try Import's
//! warning for a row that would create someone already there, and
//! `GET /api/users/duplicates`.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Kind, TestClient, ok_json, spawn_app};
use crate::on_both_databases;

on_both_databases!(
    try_import_names_a_person_already_in_the_directory,
    the_duplicates_list_groups_pages_and_leaves_out_the_trash,
    a_start_fills_the_keys_of_users_written_before_them,
);

fn row(n: u32, username: &str, first: &str, last: &str, email: &str) -> Value {
    json!({
        "row": n, "first_name": first, "last_name": last, "username": username,
        "email": email, "user_id": format!("ID-{username}"),
    })
}

async fn create(
    admin: &TestClient,
    username: &str,
    user_id: &str,
    names: (&str, &str),
    email: &str,
) -> i64 {
    let user = admin
        .create_user(json!({"username": username, "user_id": user_id,
            "first_name": names.0, "last_name": names.1, "email": email}))
        .await;
    user["id"].as_i64().expect("id")
}

/// The preview's `possible_duplicate` warnings against the directory (the
/// file's own name rows, not a user ID).
fn directory_duplicates(preview: &Value) -> Vec<(u64, String)> {
    preview["warnings"]
        .as_array()
        .expect("warnings")
        .iter()
        .filter(|w| {
            w["code"] == "possible_duplicate"
                && w["message"]
                    .as_str()
                    .is_some_and(|m| m.contains("(user ID "))
        })
        .map(|w| {
            assert_eq!(w["field"], "username", "{w}");
            (
                w["row"].as_u64().expect("row"),
                w["message"].as_str().expect("message").to_string(),
            )
        })
        .collect()
}

async fn try_import_names_a_person_already_in_the_directory(kind: Kind) {
    let app = spawn_app(kind).await;
    let admin = app.admin().await;
    create(&admin, "jdoe", "1234", ("Zoë", "Müller"), "zoe@example.org").await;
    let gone = create(&admin, "gone", "G-1", ("Gina", "Gone"), "gina@example.org").await;
    assert_eq!(
        admin.delete(&format!("/api/users/{gone}")).await.status(),
        StatusCode::NO_CONTENT
    );

    let p = admin
        .preview_rows(json!([
            // Folded alike: case, accents, surrounding spaces.
            row(2, "zoe2", " zoe ", "MULLER", "Zoe@Example.ORG"),
            // Someone in the trash can counts too.
            row(3, "gina2", "Gina", "Gone", "gina@example.org"),
            // Another email: another person.
            row(4, "zoe3", "Zoë", "Müller", "zoe.m@example.org"),
            // The user themself: a sync, never a duplicate of themself.
            row(5, "jdoe", "Zoë", "Müller", "zoe@example.org"),
            // In the trash can and synchronised: no warning either.
            row(6, "gone", "Gina", "Gone", "gina@example.org"),
        ]))
        .await;
    assert_eq!(
        directory_duplicates(&p),
        vec![
            (
                2,
                "Username: may be the same person as jdoe (user ID 1234), already in the directory \
                 (same name and email, another username)"
                    .to_string()
            ),
            (
                3,
                "Username: may be the same person as gone (user ID G-1), in the trash can \
                 (same name and email, another username)"
                    .to_string()
            ),
        ]
    );
    // Rows 2 and 5, 3 and 6 are also one person twice in the file.
    assert_eq!(p["summary"]["with_warnings"], 4, "{}", p["summary"]);
    assert_eq!(p["summary"]["to_create"], 3);
    assert_eq!(p["summary"]["to_sync"], 2);
    // A warning never stops a row.
    let id = p["id"].as_i64().expect("id");
    assert_eq!(
        ok_json(admin.commit_import(id, false).await, StatusCode::OK).await,
        json!({"created": 3, "synced": 2, "skipped": 0})
    );
    // Now zoe2 is in the directory too: the next file's row names the
    // first of them (the oldest), and the file's own check still speaks.
    let p = admin
        .preview_rows(json!([
            row(2, "zoe4", "Zoe", "Muller", "zoe@example.org"),
            row(3, "zoe5", "Zoe", "Muller", "zoe@example.org"),
        ]))
        .await;
    // (Row 5 above gave jdoe the user ID ID-jdoe.)
    let found = directory_duplicates(&p);
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(
        found
            .iter()
            .all(|(_, m)| m.contains("as jdoe (user ID ID-jdoe)")),
        "{found:?}"
    );
    // Each row: the file's warning first, then the directory's.
    let codes: Vec<(u64, bool)> = p["warnings"]
        .as_array()
        .expect("warnings")
        .iter()
        .map(|w| {
            (
                w["row"].as_u64().expect("row"),
                w["message"].as_str().expect("m").contains("user ID"),
            )
        })
        .collect();
    assert_eq!(codes, [(2, false), (2, true), (3, false), (3, true)]);
    assert_eq!(p["summary"]["with_warnings"], 2);
    app.finish().await;
}

async fn duplicates(admin: &TestClient, page: u32) -> Value {
    admin
        .get_ok(&format!("/api/users/duplicates?page={page}"))
        .await
}

fn usernames(group: &Value) -> Vec<String> {
    group["users"]
        .as_array()
        .expect("users")
        .iter()
        .map(|u| u["username"].as_str().expect("username").to_string())
        .collect()
}

async fn the_duplicates_list_groups_pages_and_leaves_out_the_trash(kind: Kind) {
    let app = spawn_app(kind).await;
    let admin = app.admin().await;
    assert_eq!(
        duplicates(&admin, 1).await,
        json!({"page": 1, "per_page": 20, "groups_total": 0, "groups": []})
    );
    // 21 pairs (a0/b0 … a20/b20) by one import, and a trio by hand.
    let mut rows = Vec::new();
    for i in 0..21 {
        let email = format!("p{i:02}@example.org");
        rows.push(row(
            2 * i + 2,
            &format!("a{i:02}"),
            "Pat",
            &format!("Pair{i:02}"),
            &email,
        ));
        rows.push(row(
            2 * i + 3,
            &format!("b{i:02}"),
            "PAT",
            &format!("pair{i:02}"),
            &email,
        ));
    }
    let p = admin.preview_rows(Value::Array(rows)).await;
    let id = p["id"].as_i64().expect("id");
    ok_json(admin.commit_import(id, false).await, StatusCode::OK).await;
    let first = create(&admin, "aa1", "T-1", ("Åsa", "Ek"), "asa@example.org").await;
    create(&admin, "aa2", "T-2", ("Asa", "EK"), "ASA@Example.org").await;
    let third = create(&admin, "aa3", "T-3", ("asa", "ek"), "asa@example.org").await;

    // Ordered by the folded key: "asa…" before "pat…"; 20 groups a page.
    let page = duplicates(&admin, 1).await;
    assert_eq!(page["groups_total"], 22, "{page}");
    let groups = page["groups"].as_array().expect("groups");
    assert_eq!(groups.len(), 20);
    assert_eq!(groups[0]["count"], 3);
    assert_eq!(usernames(&groups[0]), ["aa1", "aa2", "aa3"]);
    let user = &groups[0]["users"][0];
    assert_eq!(user["id"], first);
    assert_eq!(user["user_id"], "T-1");
    assert_eq!(user["role_name"], "Administrator");
    assert_eq!(user["hierarchy_paths"], json!(["Root"]));
    assert!(
        user["updated_at"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z'))
    );
    assert_eq!(usernames(&groups[1]), ["a00", "b00"]);
    let page = duplicates(&admin, 2).await;
    let groups = page["groups"].as_array().expect("groups");
    assert_eq!(groups.len(), 2);
    assert_eq!(usernames(&groups[1]), ["a20", "b20"]);
    assert_eq!(duplicates(&admin, 3).await["groups"], json!([]));
    assert_eq!(duplicates(&admin, 3).await["groups_total"], 22);

    // The trash can is left out: a pair with one left is no group.
    let b20 = groups[1]["users"][1]["id"].as_i64().expect("id");
    assert_eq!(
        admin.delete(&format!("/api/users/{b20}")).await.status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        admin.delete(&format!("/api/users/{third}")).await.status(),
        StatusCode::NO_CONTENT
    );
    let page = duplicates(&admin, 1).await;
    assert_eq!(page["groups_total"], 21);
    assert_eq!(usernames(&page["groups"][0]), ["aa1", "aa2"]);
    // Restored, the user is in their group again (the key is kept).
    let restored = admin
        .post(&format!("/api/trash/{third}/restore"), json!({}))
        .await;
    assert_eq!(restored.status(), StatusCode::OK);
    assert_eq!(
        usernames(&duplicates(&admin, 1).await["groups"][0]),
        ["aa1", "aa2", "aa3"]
    );
    // An edit that changes the email takes the user out.
    let mut body = admin.get_ok(&format!("/api/users/{first}")).await;
    body["email"] = json!("asa.ek@example.org");
    ok_json(
        admin.put(&format!("/api/users/{first}"), body).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        usernames(&duplicates(&admin, 1).await["groups"][0]),
        ["aa2", "aa3"]
    );
    app.finish().await;
}

async fn a_start_fills_the_keys_of_users_written_before_them(kind: Kind) {
    let mut app = spawn_app(kind).await;
    let admin = app.admin().await;
    create(&admin, "old1", "O-1", ("Jürgen", "Groß"), "j@example.org").await;
    create(&admin, "old2", "O-2", ("jurgen", "GROSS"), "J@example.org").await;
    let db = app.database().await;
    // As a database from before migration 0010 holds them.
    sqlx::query("UPDATE users SET dup_key = NULL")
        .execute(&db)
        .await
        .expect("clear the keys");
    assert_eq!(duplicates(&admin, 1).await["groups_total"], 0);
    app.restart().await;
    let keys: Vec<(String, Option<String>)> =
        sqlx::query_as("SELECT username, dup_key FROM users ORDER BY username")
            .fetch_all(&db)
            .await
            .expect("keys");
    let key = "jurgen\u{1f}gross\u{1f}j@example.org".to_string();
    assert_eq!(
        keys,
        vec![
            (
                "admin".to_string(),
                Some("site\u{1f}administrator\u{1f}admin@example.com".to_string())
            ),
            ("old1".to_string(), Some(key.clone())),
            ("old2".to_string(), Some(key)),
        ]
    );
    db.close().await;
    let admin = app.admin().await;
    assert_eq!(duplicates(&admin, 1).await["groups_total"], 1);
    app.finish().await;
}
