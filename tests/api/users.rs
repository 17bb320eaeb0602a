//! One user: create, read, change, delete; the checks on its fields.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{Kind, assert_error, ok_json, spawn_app, user_body};
use crate::on_both_databases;

on_both_databases!(
    a_user_is_created_read_changed_and_deleted,
    user_fields_are_checked_with_the_import_rules,
    username_and_user_id_are_unique,
    a_new_user_can_sign_in_and_a_new_password_ends_their_sessions,
    concurrent_writes_all_succeed,
);

async fn a_user_is_created_read_changed_and_deleted(kind: Kind) {
    let app = spawn_app(kind).await;
    let admin = app.admin().await;
    let root = admin.root_node().await;
    let clerk = admin.role("Clerk", &["manage_users"]).await;
    let created = admin
        .create_user(json!({
            "first_name": "  Zoë ", "last_name": "Müller", "username": "zmuller",
            "email": "zoe@example.com", "user_id": "1001", "password": "a-good-password",
            "role_id": clerk, "special_needs": true, "sync_key": "K-1",
            "time_zone": "Europe/Amsterdam",
        }))
        .await;
    let id = created["id"].as_i64().expect("id");
    assert_eq!(created["first_name"], "Zoë", "names are trimmed");
    assert_eq!(created["special_needs"], true);
    assert_eq!(created["sync_key"], "K-1");
    assert_eq!(created["time_zone"], "Europe/Amsterdam");
    assert_eq!(created["hierarchy_ids"], json!([root]));
    assert_eq!(created["has_password"], true);
    assert!(created.get("password").is_none() && created.get("password_hash").is_none());
    assert!(
        created["created_at"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z'))
    );

    let read = admin.get_ok(&format!("/api/users/{id}")).await;
    assert_eq!(read, created);

    // The hash is Argon2id; the password itself is stored nowhere.
    let db = app.database().await;
    let hash: String = sqlx::query_scalar("SELECT password_hash FROM users WHERE id = $1")
        .bind(id)
        .fetch_one(&db)
        .await
        .expect("hash");
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    assert!(!hash.contains("a-good-password"));
    db.close().await;

    // PUT replaces the fields; no password keeps the current one.
    let node = ok_json(
        admin
            .post(
                "/api/hierarchy",
                json!({"parent_id": root, "name": "Sales"}),
            )
            .await,
        StatusCode::CREATED,
    )
    .await["id"]
        .as_i64()
        .expect("node");
    let changed = ok_json(
        admin
            .put(
                &format!("/api/users/{id}"),
                json!({
                    "first_name": "Zoe", "last_name": "Muller", "username": "ZMuller2",
                    "email": "zoe2@example.com", "user_id": "1002", "role_id": clerk,
                    "hierarchy_ids": [root, node, node],
                }),
            )
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(changed["username"], "ZMuller2");
    assert_eq!(changed["user_id"], "1002");
    assert_eq!(changed["special_needs"], json!(null));
    assert_eq!(
        changed["time_zone"], "UTC",
        "left out: the site's time zone"
    );
    assert_eq!(changed["hierarchy_ids"], json!([root, node]));
    assert_eq!(changed["has_password"], true);

    assert_eq!(
        admin.delete(&format!("/api/users/{id}")).await.status(),
        StatusCode::NO_CONTENT
    );
    assert_error(
        admin.get(&format!("/api/users/{id}")).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    assert_error(
        admin.delete(&format!("/api/users/{id}")).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    assert_error(
        admin.get("/api/users/999999").await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    assert_error(
        admin.get("/api/users/abc").await,
        StatusCode::BAD_REQUEST,
        "bad_request",
    )
    .await;
    app.finish().await;
}

async fn user_fields_are_checked_with_the_import_rules(kind: Kind) {
    let app = spawn_app(kind).await;
    let admin = app.admin().await;
    let cases = [
        (
            json!({"username": "has space"}),
            "Username: spaces not allowed",
        ),
        (
            json!({"email": "not-an-email"}),
            "Email: Please enter a valid email address",
        ),
        (
            json!({"first_name": "  "}),
            "First Name: This value is required",
        ),
        (
            json!({"password": "short"}),
            "Password: must be at least 8 characters",
        ),
        (
            json!({"time_zone": "Mars/Olympus"}),
            "Time Zone: unknown time zone",
        ),
        (
            json!({"user_id": " 42"}),
            "User ID: leading or trailing spaces are not allowed",
        ),
        (
            json!({"hierarchy_ids": []}),
            "Hierarchy: a user belongs to at least one node",
        ),
        (
            json!({"hierarchy_ids": [987654]}),
            "Hierarchy: no node with id 987654",
        ),
        (json!({"role_id": 987654}), "Role: no such role"),
    ];
    for (fields, message) in cases {
        let body = user_body(fields.clone(), &admin).await;
        let got = assert_error(
            admin.post("/api/users", body).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
        )
        .await;
        assert!(got.contains(message), "{fields}: {got}");
    }
    // A body that is not the right JSON is refused in the same error shape.
    assert_error(
        admin.post("/api/users", json!({"first_name": 5})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid",
    )
    .await;
    let response = admin
        .http
        .post(format!("{}/api/users", admin.base))
        .header("X-CSRF-Token", admin.csrf.clone().unwrap_or_default())
        .header("Content-Type", "application/json")
        .body("{not json")
        .send()
        .await
        .expect("send");
    assert_error(response, StatusCode::BAD_REQUEST, "bad_request").await;
    app.finish().await;
}

async fn username_and_user_id_are_unique(kind: Kind) {
    let app = spawn_app(kind).await;
    let admin = app.admin().await;
    let first = admin
        .create_user(json!({"username": "Jan", "user_id": "7"}))
        .await;
    let message = assert_error(
        admin
            .post(
                "/api/users",
                user_body(json!({"username": "JAN"}), &admin).await,
            )
            .await,
        StatusCode::CONFLICT,
        "conflict",
    )
    .await;
    assert!(message.contains("Username"), "{message}");
    let message = assert_error(
        admin
            .post(
                "/api/users",
                user_body(json!({"user_id": "7"}), &admin).await,
            )
            .await,
        StatusCode::CONFLICT,
        "conflict",
    )
    .await;
    assert!(message.contains("already in use (by Jan)"), "{message}");
    // User IDs compare exactly: "07" is another ID.
    admin.create_user(json!({"user_id": "07"})).await;
    // A user keeps their own username and ID when changed.
    let id = first["id"].as_i64().expect("id");
    let mut body = user_body(json!({"username": "jan", "user_id": "7"}), &admin).await;
    body["first_name"] = json!("Jan-Willem");
    let changed = ok_json(
        admin.put(&format!("/api/users/{id}"), body).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(changed["username"], "jan");
    app.finish().await;
}

async fn a_new_user_can_sign_in_and_a_new_password_ends_their_sessions(kind: Kind) {
    let app = spawn_app(kind).await;
    let admin = app.admin().await;
    let clerk = admin.role("Clerk", &["manage_users"]).await;
    let user = admin
        .create_user(json!({"username": "clerk", "password": "clerk-password", "role_id": clerk}))
        .await;
    let id = user["id"].as_i64().expect("id");
    let session = app.signed_in("clerk", "clerk-password").await;
    let me = session.get_ok("/api/me").await;
    assert_eq!(me["permissions"], json!(["manage_users"]));

    let mut body = user_body(
        json!({"username": "clerk", "user_id": user["user_id"], "role_id": clerk}),
        &admin,
    )
    .await;
    body["password"] = json!("another-password");
    ok_json(
        admin.put(&format!("/api/users/{id}"), body).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        session.get("/api/me").await.status(),
        StatusCode::UNAUTHORIZED
    );
    let mut again = app.client();
    assert_eq!(
        again.login("clerk", "clerk-password").await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        again.login("clerk", "another-password").await.status(),
        StatusCode::OK
    );

    // A user made without a password cannot sign in at all.
    admin.create_user(json!({"username": "nopass"})).await;
    assert_eq!(
        app.client().login("nopass", "").await.status(),
        StatusCode::UNAUTHORIZED
    );
    app.finish().await;
}

async fn concurrent_writes_all_succeed(kind: Kind) {
    let app = spawn_app(kind).await;
    let admin = app.admin().await;
    let mut bodies = Vec::new();
    for i in 0..16 {
        bodies.push(user_body(json!({"username": format!("parallel{i}")}), &admin).await);
    }
    let mut tasks = tokio::task::JoinSet::new();
    for body in bodies {
        let http = admin.http.clone();
        let url = format!("{}/api/users", admin.base);
        let csrf = admin.csrf.clone().unwrap_or_default();
        tasks.spawn(async move {
            let response = http
                .post(url)
                .header("X-CSRF-Token", csrf)
                .json(&body)
                .send()
                .await
                .expect("send");
            response.status()
        });
    }
    while let Some(status) = tasks.join_next().await {
        assert_eq!(status.expect("task"), StatusCode::CREATED);
    }
    assert_eq!(admin.get_ok("/api/users?q=parallel").await["total"], 16);
    app.finish().await;
}
