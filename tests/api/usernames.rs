//! One username, one key (SPEC section 4): the duplicate check in a file,
//! the directory's unique key and the import's match all lowercase every
//! character, titlecase letters (`ǅ`, U+01C5) included.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{Kind, assert_error, spawn_app, user_body};
use crate::on_both_databases;

on_both_databases!(titlecase_usernames_are_one_username);

async fn titlecase_usernames_are_one_username(kind: Kind) {
    let app = spawn_app(kind).await;
    let admin = app.admin().await;
    admin
        .create_user(json!({"username": "ǅemal", "user_id": "300"}))
        .await;

    // The directory: `ǆemal` is taken.
    let message = assert_error(
        admin
            .post(
                "/api/users",
                user_body(json!({"username": "ǆemal"}), &admin).await,
            )
            .await,
        StatusCode::CONFLICT,
        "conflict",
    )
    .await;
    assert!(message.contains("Username"), "{message}");

    let row = |n: u32, username: &str| {
        json!({"row": n, "first_name": "Cemal", "last_name": "Kaya",
            "username": username, "email": "cemal@example.com", "user_id": "300"})
    };

    // An import row `ǆemal` is the existing user: a sync, not a new user.
    let p = admin.preview_rows(json!([row(2, "ǆemal")])).await;
    assert_eq!(p["summary"]["to_sync"], 1, "{p}");
    assert_eq!(p["summary"]["to_create"], 0, "{p}");
    assert_eq!(p["errors"], json!([]));

    // Two rows `ǅemal` and `ǆemal` in one file are duplicates.
    let p = admin
        .preview_rows(json!([row(2, "ǅemal"), row(3, "ǆemal")]))
        .await;
    let dup = "Username: This value is used more than once in the file (rows 2, 3)";
    let username_errors: Vec<_> = p["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .filter(|e| e["field"] == "username")
        .map(|e| (e["row"].clone(), e["code"].clone(), e["message"].clone()))
        .collect();
    assert_eq!(
        username_errors,
        vec![
            (json!(2), json!("duplicate_in_file"), json!(dup)),
            (json!(3), json!("duplicate_in_file"), json!(dup)),
        ],
        "{p}"
    );
    app.finish().await;
}
