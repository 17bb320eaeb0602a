//! Roles: list, create, change, delete.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{Kind, assert_error, ok_json, spawn_app};
use crate::on_both_databases;

on_both_databases!(
    roles_are_listed_created_changed_and_deleted,
    a_role_name_is_trimmed_and_checked_by_the_rules_crate,
);

async fn roles_are_listed_created_changed_and_deleted(kind: Kind) {
    let app = spawn_app(kind).await;
    let admin = app.admin().await;
    let roles = admin.get_ok("/api/roles").await;
    assert_eq!(roles["roles"][0]["name"], "Administrator");
    assert_eq!(
        roles["roles"][0]["permissions"],
        json!([
            "manage_users",
            "restore_users",
            "manage_roles",
            "manage_hierarchy",
            "manage_settings"
        ])
    );

    let created = ok_json(
        admin
            .post(
                "/api/roles",
                json!({"name": " Teachers ", "permissions": ["manage_users", "manage_users"]}),
            )
            .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(created["name"], "Teachers");
    assert_eq!(created["permissions"], json!(["manage_users"]));
    let id = created["id"].as_i64().expect("id");

    assert_error(
        admin
            .post("/api/roles", json!({"name": "TEACHERS", "permissions": []}))
            .await,
        StatusCode::CONFLICT,
        "conflict",
    )
    .await;
    assert_error(
        admin
            .post("/api/roles", json!({"name": "", "permissions": []}))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid",
    )
    .await;
    assert_error(
        admin
            .post("/api/roles", json!({"name": "X", "permissions": ["fly"]}))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid",
    )
    .await;

    let changed = ok_json(
        admin
            .put(
                &format!("/api/roles/{id}"),
                json!({"name": "Staff", "permissions": ["restore_users", "manage_users"]}),
            )
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(changed["name"], "Staff");
    assert_eq!(
        changed["permissions"],
        json!(["manage_users", "restore_users"])
    );
    assert_error(
        admin
            .put(
                "/api/roles/99999",
                json!({"name": "Ghost", "permissions": []}),
            )
            .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    assert_error(
        admin
            .put(
                &format!("/api/roles/{id}"),
                json!({"name": "administrator", "permissions": []}),
            )
            .await,
        StatusCode::CONFLICT,
        "conflict",
    )
    .await;

    // A role in use (also from the trash can) cannot be deleted.
    let user = admin.create_user(json!({"role_id": id})).await;
    let user_id = user["id"].as_i64().expect("id");
    admin.delete(&format!("/api/users/{user_id}")).await;
    assert_error(
        admin.delete(&format!("/api/roles/{id}")).await,
        StatusCode::CONFLICT,
        "conflict",
    )
    .await;
    let other = admin.role("Other", &[]).await;
    assert_eq!(
        admin.delete(&format!("/api/roles/{other}")).await.status(),
        StatusCode::NO_CONTENT
    );
    assert_error(
        admin.delete(&format!("/api/roles/{other}")).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    app.finish().await;
}

/// A role's name is in no import row; it is trimmed silently as a person's
/// name is, of the whitespace the rules crate knows (U+200B and U+FEFF
/// too), and a U+2028 line break inside it is refused as in any field.
async fn a_role_name_is_trimmed_and_checked_by_the_rules_crate(kind: Kind) {
    let app = spawn_app(kind).await;
    let admin = app.admin().await;
    let created = ok_json(
        admin
            .post(
                "/api/roles",
                json!({"name": "\u{200B}Teachers\u{FEFF} ", "permissions": []}),
            )
            .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(created["name"], "Teachers");
    let id = created["id"].as_i64().expect("id");
    for response in [
        admin
            .post(
                "/api/roles",
                json!({"name": "Teach\u{2028}ers", "permissions": []}),
            )
            .await,
        admin
            .put(
                &format!("/api/roles/{id}"),
                json!({"name": "Teach\u{2028}ers", "permissions": []}),
            )
            .await,
    ] {
        let body = ok_json(response, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(
            body["error"]["details"][0],
            json!({"field": "name", "code": "invalid_characters",
                   "message": "Name: line breaks and control characters are not allowed"})
        );
    }
    let blank = ok_json(
        admin
            .post("/api/roles", json!({"name": "\u{200B}", "permissions": []}))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(blank["error"]["details"][0]["code"], "required");
    app.finish().await;
}
