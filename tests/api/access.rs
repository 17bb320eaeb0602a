//! Who may do what: 401 without a session, 403 without the permission, and
//! nobody grants (or acts on holders of) permissions they lack.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{Kind, assert_error, ok_json, spawn_app, user_body};
use crate::on_both_databases;

on_both_databases!(
    every_endpoint_refuses_a_missing_session,
    every_endpoint_refuses_a_missing_permission,
    nobody_grants_a_permission_they_lack,
    the_site_keeps_a_full_administrator,
);

const ENDPOINTS: [(&str, &str); 21] = [
    ("POST", "/api/logout"),
    ("GET", "/api/me"),
    ("POST", "/api/me/password"),
    ("GET", "/api/users"),
    ("POST", "/api/users"),
    ("GET", "/api/users/1"),
    ("PUT", "/api/users/1"),
    ("DELETE", "/api/users/1"),
    ("DELETE", "/api/users/1/sessions"),
    ("GET", "/api/trash"),
    ("POST", "/api/trash/1/restore"),
    ("GET", "/api/roles"),
    ("POST", "/api/roles"),
    ("PUT", "/api/roles/1"),
    ("DELETE", "/api/roles/1"),
    ("GET", "/api/hierarchy"),
    ("POST", "/api/hierarchy"),
    ("PUT", "/api/hierarchy/1"),
    ("DELETE", "/api/hierarchy/1"),
    ("GET", "/api/settings/regional"),
    ("PUT", "/api/settings/regional"),
];

fn method(name: &str) -> Method {
    Method::from_bytes(name.as_bytes()).expect("method")
}

async fn every_endpoint_refuses_a_missing_session(kind: Kind) {
    let app = spawn_app(kind).await;
    let anonymous = app.client();
    for (m, path) in ENDPOINTS {
        let body = (m != "GET" && m != "DELETE").then(|| json!({}));
        let response = anonymous.request(method(m), path, body).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{m} {path}");
        assert_error(response, StatusCode::UNAUTHORIZED, "unauthorized").await;
    }
    app.finish().await;
}

async fn every_endpoint_refuses_a_missing_permission(kind: Kind) {
    let app = spawn_app(kind).await;
    let admin = app.admin().await;
    let nothing = admin.role("Nothing", &[]).await;
    admin
        .create_user(
            json!({"username": "nobody", "password": "nobody-password", "role_id": nothing}),
        )
        .await;
    let nobody = app.signed_in("nobody", "nobody-password").await;
    // A user whose role has no permission may only see themselves and leave.
    assert_eq!(nobody.get("/api/me").await.status(), StatusCode::OK);
    for (m, path) in ENDPOINTS
        .iter()
        .filter(|(_, p)| !p.ends_with("/logout") && !p.starts_with("/api/me"))
    {
        let body = (*m != "GET" && *m != "DELETE").then(|| json!({}));
        let response = nobody.request(method(m), path, body).await;
        // The permission is checked before the body is read.
        assert_error(response, StatusCode::FORBIDDEN, "forbidden").await;
    }
    // Well-formed bodies are refused alike.
    let root = admin.root_node().await;
    let user = user_body(json!({}), &admin).await;
    let role = json!({"name": "X", "permissions": []});
    let node = json!({"parent_id": root, "name": "X"});
    let tz = json!({"time_zone": "UTC"});
    let well_formed = [
        ("POST", "/api/users", Some(user.clone())),
        ("PUT", "/api/users/1", Some(user)),
        ("POST", "/api/roles", Some(role.clone())),
        ("PUT", "/api/roles/1", Some(role)),
        ("POST", "/api/hierarchy", Some(node.clone())),
        ("PUT", "/api/hierarchy/1", Some(node)),
        ("PUT", "/api/settings/regional", Some(tz)),
    ];
    for (m, path, body) in well_formed {
        let response = nobody.request(method(m), path, body).await;
        assert_error(response, StatusCode::FORBIDDEN, "forbidden").await;
    }
    for (m, path) in ENDPOINTS
        .iter()
        .filter(|(m, _)| *m == "GET" || *m == "DELETE")
    {
        if path.starts_with("/api/me") {
            continue;
        }
        let response = nobody.request(method(m), path, None).await;
        assert_error(response, StatusCode::FORBIDDEN, "forbidden").await;
    }
    app.finish().await;
}

async fn nobody_grants_a_permission_they_lack(kind: Kind) {
    let app = spawn_app(kind).await;
    let admin = app.admin().await;
    let admin_role = admin.administrator_role().await;
    let clerk_role = admin.role("Clerk", &["manage_users"]).await;
    let roles_role = admin
        .role("Role keeper", &["manage_roles", "manage_users"])
        .await;
    admin
        .create_user(
            json!({"username": "clerk", "password": "clerk-password", "role_id": clerk_role}),
        )
        .await;
    admin
        .create_user(
            json!({"username": "keeper", "password": "keeper-password", "role_id": roles_role}),
        )
        .await;
    let clerk = app.signed_in("clerk", "clerk-password").await;
    let keeper = app.signed_in("keeper", "keeper-password").await;

    // The clerk manages users, but cannot make an administrator…
    let body = user_body(json!({"role_id": admin_role}), &clerk).await;
    let message = assert_error(
        clerk.post("/api/users", body).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    assert!(message.contains("restore_users"), "{message}");
    // …nor change or delete one (the admin's id is 1 on a fresh database).
    let me = admin.get_ok("/api/me").await;
    let admin_id = me["user"]["id"].as_i64().expect("id");
    let body = user_body(
        json!({"username": "admin", "user_id": "admin", "role_id": clerk_role}),
        &clerk,
    )
    .await;
    assert_error(
        clerk.put(&format!("/api/users/{admin_id}"), body).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    assert_error(
        clerk.delete(&format!("/api/users/{admin_id}")).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    // …but makes clerks.
    clerk.create_user(json!({"role_id": clerk_role})).await;

    // The keeper manages roles, but only within what they hold.
    assert_error(
        keeper
            .post(
                "/api/roles",
                json!({"name": "Big", "permissions": ["manage_settings"]}),
            )
            .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    assert_error(
        keeper
            .put(
                &format!("/api/roles/{clerk_role}"),
                json!({"name": "Clerk", "permissions": ["manage_users", "restore_users"]}),
            )
            .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    assert_error(
        keeper
            .put(
                &format!("/api/roles/{admin_role}"),
                json!({"name": "Administrator", "permissions": ["manage_users"]}),
            )
            .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    assert_error(
        keeper.delete(&format!("/api/roles/{admin_role}")).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    ok_json(
        keeper
            .post(
                "/api/roles",
                json!({"name": "Small", "permissions": ["manage_roles"]}),
            )
            .await,
        StatusCode::CREATED,
    )
    .await;
    app.finish().await;
}

async fn the_site_keeps_a_full_administrator(kind: Kind) {
    let app = spawn_app(kind).await;
    let admin = app.admin().await;
    let me = admin.get_ok("/api/me").await;
    let admin_id = me["user"]["id"].as_i64().expect("id");
    let admin_role = me["role"]["id"].as_i64().expect("role");
    assert_error(
        admin.delete(&format!("/api/users/{admin_id}")).await,
        StatusCode::CONFLICT,
        "conflict",
    )
    .await;
    let message = assert_error(
        admin
            .put(
                &format!("/api/roles/{admin_role}"),
                json!({"name": "Administrator", "permissions": ["manage_roles"]}),
            )
            .await,
        StatusCode::CONFLICT,
        "conflict",
    )
    .await;
    assert!(message.contains("every permission"), "{message}");
    let clerk = admin.role("Clerk", &["manage_users"]).await;
    let body = user_body(
        json!({"username": "admin", "user_id": "admin", "role_id": clerk}),
        &admin,
    )
    .await;
    assert_error(
        admin.put(&format!("/api/users/{admin_id}"), body).await,
        StatusCode::CONFLICT,
        "conflict",
    )
    .await;
    // With a second full administrator, the first may step down.
    admin
        .create_user(json!({"username": "second", "role_id": admin_role}))
        .await;
    let body = user_body(
        json!({"username": "admin", "user_id": "admin", "role_id": clerk}),
        &admin,
    )
    .await;
    ok_json(
        admin.put(&format!("/api/users/{admin_id}"), body).await,
        StatusCode::OK,
    )
    .await;
    app.finish().await;
}
