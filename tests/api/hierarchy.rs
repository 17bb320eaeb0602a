//! The hierarchy tree: list, create, rename, move, delete.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Kind, assert_error, ok_json, spawn_app};
use crate::on_both_databases;

on_both_databases!(the_tree_is_built_renamed_moved_and_pruned);

async fn the_tree_is_built_renamed_moved_and_pruned(kind: Kind) {
    let app = spawn_app(kind).await;
    let admin = app.admin().await;
    let root = admin.root_node().await;
    let add = |parent: i64, name: &'static str| {
        let admin = &admin;
        async move {
            ok_json(
                admin
                    .post("/api/hierarchy", json!({"parent_id": parent, "name": name}))
                    .await,
                StatusCode::CREATED,
            )
            .await
        }
    };
    let north = add(root, "North").await;
    let north_id = north["id"].as_i64().expect("id");
    assert_eq!(north["path"], "Root/North");
    assert_eq!(north["parent_id"], root);
    let school = add(north_id, "School A").await;
    let school_id = school["id"].as_i64().expect("id");
    assert_eq!(school["path"], "Root/North/School A");
    let south_id = add(root, "South").await["id"].as_i64().expect("id");
    // The same name is fine under another parent, not among siblings.
    add(south_id, "School A").await;
    assert_error(
        admin
            .post(
                "/api/hierarchy",
                json!({"parent_id": root, "name": "NORTH"}),
            )
            .await,
        StatusCode::CONFLICT,
        "conflict",
    )
    .await;
    assert_error(
        admin
            .post(
                "/api/hierarchy",
                json!({"parent_id": null, "name": "Root 2"}),
            )
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid",
    )
    .await;
    assert_error(
        admin
            .post(
                "/api/hierarchy",
                json!({"parent_id": 99999, "name": "Lost"}),
            )
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid",
    )
    .await;

    let nodes: Value = admin.get_ok("/api/hierarchy").await;
    let paths: Vec<&str> = nodes["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .filter_map(|n| n["path"].as_str())
        .collect();
    assert_eq!(
        paths,
        [
            "Root",
            "Root/North",
            "Root/North/School A",
            "Root/South",
            "Root/South/School A"
        ]
    );

    // Rename; move; never below itself.
    let renamed = ok_json(
        admin
            .put(
                &format!("/api/hierarchy/{school_id}"),
                json!({"name": "School B"}),
            )
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(renamed["path"], "Root/North/School B");
    assert_eq!(renamed["users"], 0);
    let moved = ok_json(
        admin
            .put(
                &format!("/api/hierarchy/{north_id}"),
                json!({"parent_id": south_id, "name": "North"}),
            )
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(moved["path"], "Root/South/North");
    assert_error(
        admin
            .put(
                &format!("/api/hierarchy/{south_id}"),
                json!({"parent_id": school_id, "name": "South"}),
            )
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid",
    )
    .await;
    assert_error(
        admin
            .put(
                &format!("/api/hierarchy/{root}"),
                json!({"parent_id": south_id, "name": "Root"}),
            )
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid",
    )
    .await;
    ok_json(
        admin
            .put(
                &format!("/api/hierarchy/{root}"),
                json!({"name": "Company"}),
            )
            .await,
        StatusCode::OK,
    )
    .await;

    // Delete: not the root, not with children, not with members.
    assert_error(
        admin.delete(&format!("/api/hierarchy/{root}")).await,
        StatusCode::CONFLICT,
        "conflict",
    )
    .await;
    assert_error(
        admin.delete(&format!("/api/hierarchy/{north_id}")).await,
        StatusCode::CONFLICT,
        "conflict",
    )
    .await;
    let member = admin
        .create_user(json!({"hierarchy_ids": [school_id]}))
        .await;
    // Counts are of direct, active members: the admin is in the root, the
    // new user in School B only (not in North above it).
    let counts = |nodes: Value| -> Vec<(String, i64)> {
        nodes["nodes"]
            .as_array()
            .expect("nodes")
            .iter()
            .map(|n| {
                let path = n["path"].as_str().expect("path").to_string();
                (path, n["users"].as_i64().expect("a count of users"))
            })
            .collect()
    };
    assert_eq!(
        counts(admin.get_ok("/api/hierarchy").await),
        [
            ("Company".to_string(), 1),
            ("Company/South".to_string(), 0),
            ("Company/South/North".to_string(), 0),
            ("Company/South/North/School B".to_string(), 1),
            ("Company/South/School A".to_string(), 0),
        ]
    );
    // In the trash can the user no longer counts, yet still keeps the node.
    let member_id = member["id"].as_i64().expect("id");
    assert_eq!(
        admin
            .delete(&format!("/api/users/{member_id}"))
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    let nodes = counts(admin.get_ok("/api/hierarchy").await);
    assert!(
        nodes
            .iter()
            .all(|(path, n)| *n == i64::from(path == "Company")),
        "{nodes:?}"
    );
    let message = assert_error(
        admin.delete(&format!("/api/hierarchy/{school_id}")).await,
        StatusCode::CONFLICT,
        "conflict",
    )
    .await;
    assert!(message.contains("1 user"), "{message}");
    let empty = add(root, "Empty").await["id"].as_i64().expect("id");
    assert_eq!(
        admin
            .delete(&format!("/api/hierarchy/{empty}"))
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    assert_error(
        admin.delete(&format!("/api/hierarchy/{empty}")).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    app.finish().await;
}
