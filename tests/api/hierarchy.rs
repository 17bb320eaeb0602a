//! The hierarchy tree: list, create, rename, move, delete.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Kind, assert_error, ok_json, spawn_app};
use crate::on_both_databases;

on_both_databases!(
    the_tree_is_built_renamed_moved_and_pruned,
    a_node_name_is_judged_as_an_import_judges_a_sub_level,
);

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

/// The API's answer to a node name: the rule's code and message.
async fn refusal(response: reqwest::Response) -> (String, String) {
    let body = ok_json(response, StatusCode::UNPROCESSABLE_ENTITY).await;
    let detail = &body["error"]["details"][0];
    assert_eq!(detail["field"], "name", "{body}");
    (
        detail["code"].as_str().unwrap_or_default().to_string(),
        detail["message"].as_str().unwrap_or_default().to_string(),
    )
}

/// A node's name is what a sub-level cell names: a value an import row
/// refuses there (whitespace in the rules crate's sense, U+200B included,
/// or a U+2028 line break) is refused by the API with the same rule, not
/// stored as a node no import row could name, nor trimmed into another.
async fn a_node_name_is_judged_as_an_import_judges_a_sub_level(kind: Kind) {
    let app = spawn_app(kind).await;
    let admin = app.admin().await;
    let root = admin.root_node().await;
    let school = ok_json(
        admin
            .post(
                "/api/hierarchy",
                json!({"parent_id": root, "name": "School"}),
            )
            .await,
        StatusCode::CREATED,
    )
    .await;
    let school_id = school["id"].as_i64().expect("id");

    for (n, name) in [
        " School",
        "\u{200B}School",
        "School\u{FEFF}",
        "Sch\u{2028}ool",
    ]
    .into_iter()
    .enumerate()
    {
        let row = json!({
            "row": 2, "first_name": "Kim", "last_name": "Lee", "username": format!("kim{n}"),
            "email": "kim@example.com", "user_id": format!("K-{n}"), "sub_level_1": name,
        });
        let p = admin.preview_rows(json!([row])).await;
        let import = &p["errors"][0];
        assert_eq!(import["field"], "sub_level_1", "{p}");
        let import_code = import["code"].as_str().expect("a code");
        let import_message = import["message"]
            .as_str()
            .expect("a message")
            .replace("Sub-level-1:", "Name:");

        let created = refusal(
            admin
                .post("/api/hierarchy", json!({"parent_id": root, "name": name}))
                .await,
        )
        .await;
        assert_eq!(
            created,
            (import_code.to_string(), import_message.clone()),
            "{name:?}"
        );
        let renamed = refusal(
            admin
                .put(
                    &format!("/api/hierarchy/{school_id}"),
                    json!({"parent_id": root, "name": name}),
                )
                .await,
        )
        .await;
        assert_eq!(
            renamed,
            (import_code.to_string(), import_message),
            "{name:?}"
        );
    }
    // Whitespace only is no name, invisible characters included.
    let blank = refusal(
        admin
            .post(
                "/api/hierarchy",
                json!({"parent_id": root, "name": "\u{200B}\u{FEFF}"}),
            )
            .await,
    )
    .await;
    assert_eq!(blank.0, "required");
    let nodes = admin.get_ok("/api/hierarchy").await;
    let paths: Vec<&str> = nodes["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .filter_map(|n| n["path"].as_str())
        .collect();
    assert_eq!(paths, ["Root", "Root/School"]);
    app.finish().await;
}
