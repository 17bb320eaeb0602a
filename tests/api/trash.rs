//! The trash can's life: delete, restore, purge after 30 days (on start
//! and by the daily purge), with the injectable clock.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{
    Kind, assert_error, eventually, ok_json, spawn_app, spawn_app_with, user_body,
};
use crate::on_both_databases;

const DAY: i64 = 86_400;

on_both_databases!(
    a_deleted_user_waits_30_days_in_the_trash_can,
    the_daily_purge_runs_while_the_server_runs,
);

async fn a_deleted_user_waits_30_days_in_the_trash_can(kind: Kind) {
    let mut app = spawn_app(kind).await;
    let admin = app.admin().await;
    let user = admin
        .create_user(json!({"username": "leaver", "user_id": "L-1", "password": "leaver-password"}))
        .await;
    let id = user["id"].as_i64().expect("id");
    let session = app.signed_in("leaver", "leaver-password").await;

    assert_eq!(
        admin.delete(&format!("/api/users/{id}")).await.status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        session.get("/api/me").await.status(),
        StatusCode::UNAUTHORIZED,
        "sessions end"
    );
    assert_eq!(
        app.client()
            .login("leaver", "leaver-password")
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
    let trash = admin.get_ok("/api/trash").await;
    assert_eq!(trash["total"], 1);
    assert_eq!(trash["users"][0]["username"], "leaver");
    assert!(trash["users"][0]["deleted_at"].is_string());
    assert!(trash["users"][0]["purge_at"].is_string());
    assert_eq!(admin.get_ok("/api/trash?q=LEAV").await["total"], 1);
    assert_eq!(admin.get_ok("/api/users?q=leaver").await["total"], 0);
    // Username and user ID stay taken while the user is in the trash can.
    assert_error(
        admin
            .post(
                "/api/users",
                user_body(json!({"username": "leaver"}), &admin).await,
            )
            .await,
        StatusCode::CONFLICT,
        "conflict",
    )
    .await;

    // Restore, and delete again.
    let restored = ok_json(
        admin
            .post(&format!("/api/trash/{id}/restore"), json!({}))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(restored["username"], "leaver");
    assert!(restored.get("deleted_at").is_none());
    assert_eq!(admin.get_ok("/api/trash").await["total"], 0);
    assert_eq!(admin.get_ok("/api/users?q=leaver").await["total"], 1);
    assert_error(
        admin
            .post(&format!("/api/trash/{id}/restore"), json!({}))
            .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    admin.delete(&format!("/api/users/{id}")).await;

    // 29 days later a restart purges nothing.
    app.clock.advance(29 * DAY);
    app.restart().await;
    let admin = app.admin().await;
    assert_eq!(admin.get_ok("/api/trash").await["total"], 1);

    // Past 30 days the start purges it, and the names are free again.
    app.clock.advance(DAY + 60);
    app.restart().await;
    let admin = app.admin().await;
    assert_eq!(admin.get_ok("/api/trash").await["total"], 0);
    assert_error(
        admin
            .post(&format!("/api/trash/{id}/restore"), json!({}))
            .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    admin
        .create_user(json!({"username": "Leaver", "user_id": "L-1"}))
        .await;
    let db = app.database().await;
    let left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM user_search_terms WHERE user_pk = $1")
        .bind(id)
        .fetch_one(&db)
        .await
        .expect("count");
    assert_eq!(left, 0, "the purge leaves no search terms behind");
    db.close().await;
    app.finish().await;
}

async fn the_daily_purge_runs_while_the_server_runs(kind: Kind) {
    let app = spawn_app_with(kind, |c| c.purge_interval = Duration::from_millis(200)).await;
    let admin = app.admin().await;
    let id = admin.create_user(json!({"username": "gone"})).await["id"]
        .as_i64()
        .expect("id");
    admin.delete(&format!("/api/users/{id}")).await;
    app.clock.advance(31 * DAY);
    let admin = app.admin().await; // the old session expired meanwhile
    let purged = eventually(|| async { admin.get_ok("/api/trash").await["total"] == 0 }).await;
    assert!(purged, "the running server purged the trash can");
    app.finish().await;
}
