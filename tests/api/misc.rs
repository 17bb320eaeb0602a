//! The rest: first start, body limit, unknown paths, the OpenAPI document,
//! the web app's files, and `roster admin set-password`.

use reqwest::StatusCode;
use reqwest::header::CACHE_CONTROL;
use serde_json::{Value, json};

use crate::helpers::{ADMIN_PASSWORD, Kind, assert_error, ok_json, spawn_app, spawn_app_with};
use crate::on_both_databases;

on_both_databases!(
    the_first_start_bootstraps_once,
    bodies_are_capped_and_unknown_paths_answer_json,
    the_openapi_document_lists_every_endpoint,
    set_password_unlocks_a_locked_out_administrator,
);

async fn the_first_start_bootstraps_once(kind: Kind) {
    let mut app = spawn_app_with(kind, |c| c.admin_password = None).await;
    let db = app.database().await;
    let hash: String =
        sqlx::query_scalar("SELECT password_hash FROM users WHERE username = 'admin'")
            .fetch_one(&db)
            .await
            .expect("admin");
    assert!(
        hash.starts_with("$argon2id$"),
        "a generated password was hashed"
    );
    let counts: (i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM roles), (SELECT COUNT(*) FROM hierarchy_nodes), \
         (SELECT COUNT(*) FROM users)",
    )
    .fetch_one(&db)
    .await
    .expect("counts");
    assert_eq!(counts, (1, 1, 1));
    // A second start finds the directory and adds nothing.
    app.restart().await;
    let again: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users")
        .fetch_one(&db)
        .await
        .expect("count");
    assert_eq!(again, 1);
    db.close().await;
    app.finish().await;
}

async fn bodies_are_capped_and_unknown_paths_answer_json(kind: Kind) {
    let app = spawn_app_with(kind, |c| c.max_body_bytes = 4096).await;
    let admin = app.admin().await;
    let big = json!({"name": "x".repeat(10_000), "permissions": []});
    assert_error(
        admin.post("/api/roles", big).await,
        StatusCode::PAYLOAD_TOO_LARGE,
        "too_large",
    )
    .await;
    let response = admin.get("/api/no/such/thing").await;
    assert_eq!(
        response
            .headers()
            .get(CACHE_CONTROL)
            .and_then(|v| v.to_str().ok()),
        Some("no-store")
    );
    assert_error(response, StatusCode::NOT_FOUND, "not_found").await;
    let response = admin
        .request(reqwest::Method::PATCH, "/api/users", None)
        .await;
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_error(
        response,
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
    )
    .await;
    app.finish().await;
}

async fn the_openapi_document_lists_every_endpoint(kind: Kind) {
    let app = spawn_app(kind).await;
    let doc: Value = ok_json(app.client().get("/api/openapi.json").await, StatusCode::OK).await;
    assert!(doc["openapi"].as_str().is_some_and(|v| v.starts_with('3')));
    for path in [
        "/api/login",
        "/api/logout",
        "/api/me",
        "/api/users",
        "/api/users/{id}",
        "/api/trash",
        "/api/trash/{id}/restore",
        "/api/roles",
        "/api/roles/{id}",
        "/api/hierarchy",
        "/api/hierarchy/{id}",
        "/api/settings/regional",
        "/api/users/{id}/sessions",
        "/api/users/duplicates",
        "/api/imports/{id}/undo",
        "/api/imports/{id}/undo/commit",
    ] {
        assert!(
            doc["paths"][path].is_object(),
            "{path} missing from the OpenAPI document"
        );
    }
    assert!(doc["components"]["schemas"]["UserOut"].is_object());
    assert!(doc["components"]["schemas"]["DuplicatePage"].is_object());
    let summary = &doc["components"]["schemas"]["ImportSummary"]["properties"];
    assert!(summary["with_warnings"].is_object(), "{summary}");
    let preview = &doc["components"]["schemas"]["ImportPreview"]["properties"];
    assert!(preview["warnings"].is_object(), "{preview}");
    for schema in ["UndoPreview", "UndoCommit", "UndoResult", "StaleUndo"] {
        assert!(
            doc["components"]["schemas"][schema].is_object(),
            "{schema} missing from the OpenAPI document"
        );
    }
    let import_out = &doc["components"]["schemas"]["ImportOut"]["properties"];
    assert!(import_out["undone_by"].is_object() && import_out["undo_of"].is_object());
    assert!(doc["components"]["securitySchemes"]["session"].is_object());
    assert_eq!(doc["paths"]["/api/login"]["post"]["security"], json!([{}]));
    app.finish().await;
}

async fn set_password_unlocks_a_locked_out_administrator(kind: Kind) {
    let app = spawn_app(kind).await;
    let session = app.admin().await;
    let db = app.database().await;
    let policy = roster_server::PasswordPolicy {
        memory_kib: 64,
        passes: 1,
        ..Default::default()
    };
    let short = roster_server::db::set_password(&db, "admin", "short", &policy).await;
    assert!(short.is_err_and(|e| e.to_string().contains("at least 8")));
    let missing = roster_server::db::set_password(&db, "ghost", "long-enough", &policy).await;
    assert!(missing.is_err_and(|e| e.to_string().contains("no user")));
    let ended = roster_server::db::set_password(&db, "ADMIN", "brand-new-password", &policy)
        .await
        .expect("set the password");
    assert_eq!(ended, 1);
    db.close().await;
    assert_eq!(
        session.get("/api/me").await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.client().login("admin", ADMIN_PASSWORD).await.status(),
        StatusCode::UNAUTHORIZED
    );
    app.signed_in("admin", "brand-new-password").await;
    app.finish().await;
}

#[tokio::test]
async fn the_web_app_is_served_with_a_fallback_to_index_html() {
    let dir = std::env::temp_dir().join(format!("roster_test_dist_{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("make the dir");
    std::fs::write(
        dir.join("index.html"),
        "<!doctype html><title>Roster</title>",
    )
    .expect("index");
    std::fs::write(dir.join("app.js"), "console.log(1)").expect("js");
    let static_dir = dir.clone();
    let app = spawn_app_with(Kind::Sqlite, move |c| c.static_dir = Some(static_dir)).await;
    let client = app.client();
    let js = client.get("/app.js").await;
    assert_eq!(js.status(), StatusCode::OK);
    assert_eq!(js.text().await.unwrap_or_default(), "console.log(1)");
    for path in ["/", "/users/12", "/trash"] {
        let page = client.get(path).await;
        assert_eq!(page.status(), StatusCode::OK, "{path}");
        assert!(
            page.text()
                .await
                .unwrap_or_default()
                .contains("<title>Roster"),
            "{path}"
        );
    }
    assert_error(
        client.get("/api/nothing").await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    app.finish().await;
    let _ = std::fs::remove_dir_all(dir);
}
