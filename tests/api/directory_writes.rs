//! Directory writes under concurrency and the actor's reach: two
//! administrators acting at the same moment (real parallel requests; on
//! PostgreSQL nothing but the server serialises them), the depth of the
//! tree, restoring from the trash can, one's own password.

use std::collections::HashMap;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{
    Kind, REPEATABLE_READ_BY_DEFAULT, RealServer, RealServerClients, TestClient, TestDb,
    assert_error, ok_json, orphan_memberships, spawn_app, spawn_app_with,
};
use crate::on_both_databases;

on_both_databases!(
    two_administrators_deleting_each_other_never_both_succeed,
    two_crossed_moves_never_make_a_cycle,
    two_administrators_demoting_each_other_never_both_succeed,
    the_tree_is_at_most_64_levels_deep,
    a_damaged_tree_with_a_cycle_answers_instead_of_looping,
    restoring_needs_every_permission_of_the_users_role,
    ones_own_password_changes_only_with_the_current_one,
    an_import_builds_no_deeper_than_64_levels,
    a_node_deleted_while_an_import_fills_it_leaves_no_membership_without_it,
);

/// Rounds of each race: enough for PostgreSQL to interleave two
/// transactions at least once on today's machines.
const ROUNDS: usize = 15;

const PASSWORD: &str = "a-second-admin-password";

async fn my_id(client: &TestClient) -> i64 {
    client.get_ok("/api/me").await["user"]["id"]
        .as_i64()
        .expect("my id")
}

async fn two_administrators_deleting_each_other_never_both_succeed(kind: Kind) {
    let app = spawn_app(kind).await;
    let mut survivor = app.admin().await;
    let administrator = survivor.administrator_role().await;
    for round in 0..ROUNDS {
        let name = format!("second{round}");
        let other = survivor
            .create_user(
                json!({"username": name, "user_id": name, "password": PASSWORD,
                "role_id": administrator}),
            )
            .await;
        let other_id = other["id"].as_i64().expect("id");
        let other = app.signed_in(&name, PASSWORD).await;
        let survivor_id = my_id(&survivor).await;

        let (mine, theirs) = (
            format!("/api/users/{other_id}"),
            format!("/api/users/{survivor_id}"),
        );
        let (first, second) = tokio::join!(survivor.delete(&mine), other.delete(&theirs));
        let statuses = (first.status(), second.status());
        let deleted = [statuses.0, statuses.1]
            .iter()
            .filter(|s| **s == StatusCode::NO_CONTENT)
            .count();
        assert_eq!(
            deleted, 1,
            "round {round}: exactly one deletion succeeds, got {statuses:?}"
        );
        // The other was refused (409: nobody would hold every permission)
        // or its session had already ended (401).
        let refused = if statuses.0 == StatusCode::NO_CONTENT {
            statuses.1
        } else {
            statuses.0
        };
        assert!(
            [StatusCode::CONFLICT, StatusCode::UNAUTHORIZED].contains(&refused),
            "round {round}: {statuses:?}"
        );
        if statuses.1 == StatusCode::NO_CONTENT {
            survivor = other;
        }
        // Someone still holds every permission and is answered.
        let me = survivor.get_ok("/api/me").await;
        assert_eq!(me["role"]["id"], administrator, "round {round}: {me}");
    }
    app.finish().await;
}

async fn two_administrators_demoting_each_other_never_both_succeed(kind: Kind) {
    let app = spawn_app(kind).await;
    let admin = app.admin().await;
    let all = [
        "manage_users",
        "restore_users",
        "manage_roles",
        "manage_hierarchy",
        "manage_settings",
    ];
    // `admin` steps down to a clerk: two full administrators remain, each
    // holding a full role of their own.
    let clerk = admin.role("Clerk", &["manage_users"]).await;
    let mut pair = Vec::new();
    for name in ["left", "right"] {
        let role = admin.role(&format!("Full {name}"), &all).await;
        admin
            .create_user(
                json!({"username": name, "user_id": name, "password": PASSWORD,
                "role_id": role}),
            )
            .await;
        pair.push((app.signed_in(name, PASSWORD).await, role));
    }
    let admin_id = my_id(&admin).await;
    let body = crate::helpers::user_body(
        json!({"username": "admin", "user_id": "admin", "role_id": clerk}),
        &admin,
    )
    .await;
    ok_json(
        admin.put(&format!("/api/users/{admin_id}"), body).await,
        StatusCode::OK,
    )
    .await;

    for round in 0..ROUNDS {
        let (left, left_role) = &pair[0];
        let (right, right_role) = &pair[1];
        // Each takes a permission away from the other's role.
        let (right_path, left_path) = (
            format!("/api/roles/{right_role}"),
            format!("/api/roles/{left_role}"),
        );
        let (first, second) = tokio::join!(
            left.put(
                &right_path,
                json!({"name": "Full right", "permissions": ["manage_users"]}),
            ),
            right.put(
                &left_path,
                json!({"name": "Full left", "permissions": ["manage_users"]}),
            ),
        );
        let statuses = (first.status(), second.status());
        let changed = [statuses.0, statuses.1]
            .iter()
            .filter(|s| **s == StatusCode::OK)
            .count();
        assert_eq!(
            changed, 1,
            "round {round}: exactly one change succeeds, got {statuses:?}"
        );
        // The one demoted gets the full role back from the other.
        let (keeper, demoted_role, name) = if statuses.0 == StatusCode::OK {
            (left, right_role, "Full right")
        } else {
            (right, left_role, "Full left")
        };
        ok_json(
            keeper
                .put(
                    &format!("/api/roles/{demoted_role}"),
                    json!({"name": name, "permissions": all}),
                )
                .await,
            StatusCode::OK,
        )
        .await;
    }
    app.finish().await;
}

/// The tree as listed: each node's parent and path.
async fn tree(client: &TestClient) -> HashMap<i64, (Option<i64>, String, String)> {
    let list = client.get_ok("/api/hierarchy").await;
    list["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .map(|n| {
            (
                n["id"].as_i64().expect("id"),
                (
                    n["parent_id"].as_i64(),
                    n["name"].as_str().expect("name").to_string(),
                    n["path"].as_str().expect("path").to_string(),
                ),
            )
        })
        .collect()
}

/// Every node reaches the root, and its path is the names on the way.
fn assert_is_a_tree(nodes: &HashMap<i64, (Option<i64>, String, String)>, round: usize) {
    for (id, (_, _, path)) in nodes {
        let mut names = Vec::new();
        let mut at = Some(*id);
        while let Some(node) = at {
            assert!(
                names.len() <= nodes.len(),
                "round {round}: node {id} ({path}) never reaches the root: a cycle"
            );
            let (parent, name, _) = &nodes[&node];
            names.push(name.as_str());
            at = *parent;
        }
        names.reverse();
        assert_eq!(&names.join("/"), path, "round {round}");
    }
}

async fn add_node(client: &TestClient, parent: i64, name: &str) -> i64 {
    let node = ok_json(
        client
            .post("/api/hierarchy", json!({"parent_id": parent, "name": name}))
            .await,
        StatusCode::CREATED,
    )
    .await;
    node["id"].as_i64().expect("id")
}

async fn two_crossed_moves_never_make_a_cycle(kind: Kind) {
    let app = spawn_app(kind).await;
    let admin = app.admin().await;
    let tree_keeper = admin.role("Tree keeper", &["manage_hierarchy"]).await;
    admin
        .create_user(
            json!({"username": "keeper", "user_id": "keeper", "password": PASSWORD,
            "role_id": tree_keeper}),
        )
        .await;
    let keeper = app.signed_in("keeper", PASSWORD).await;
    let root = admin.root_node().await;
    let mut first_a = None;
    for round in 0..ROUNDS {
        let (a_name, b_name) = (format!("A{round}"), format!("B{round}"));
        let a = add_node(&admin, root, &a_name).await;
        let b = add_node(&admin, root, &b_name).await;
        first_a.get_or_insert(a);
        // A under B while B under A.
        let (a_path, b_path) = (format!("/api/hierarchy/{a}"), format!("/api/hierarchy/{b}"));
        let (first, second) = tokio::join!(
            admin.put(&a_path, json!({"parent_id": b, "name": a_name})),
            keeper.put(&b_path, json!({"parent_id": a, "name": b_name})),
        );
        let statuses = (first.status(), second.status());
        let moved = [statuses.0, statuses.1]
            .iter()
            .filter(|s| **s == StatusCode::OK)
            .count();
        assert_eq!(
            moved, 1,
            "round {round}: exactly one move succeeds, got {statuses:?}"
        );
        let refused = if statuses.0 == StatusCode::OK {
            second
        } else {
            first
        };
        let message = assert_error(refused, StatusCode::UNPROCESSABLE_ENTITY, "invalid").await;
        assert!(message.contains("below itself"), "{message}");
        assert_is_a_tree(&tree(&admin).await, round);
    }
    // The next move under A answers (it once looped for good).
    let c = add_node(&admin, root, "C").await;
    let a = first_a.expect("a first A");
    let moved = tokio::time::timeout(
        Duration::from_secs(30),
        admin.put(
            &format!("/api/hierarchy/{c}"),
            json!({"parent_id": a, "name": "C"}),
        ),
    )
    .await
    .expect("the move answers");
    let moved = ok_json(moved, StatusCode::OK).await;
    assert_eq!(moved["parent_id"], a);
    assert_is_a_tree(&tree(&admin).await, ROUNDS);
    app.finish().await;
}

async fn the_tree_is_at_most_64_levels_deep(kind: Kind) {
    let app = spawn_app(kind).await;
    let admin = app.admin().await;
    let root = admin.root_node().await;
    // The root is level 1: 63 more levels.
    let mut deepest = root;
    let mut chain = Vec::new();
    for level in 2..=64 {
        deepest = add_node(&admin, deepest, &format!("L{level}")).await;
        chain.push(deepest);
    }
    let message = assert_error(
        admin
            .post(
                "/api/hierarchy",
                json!({"parent_id": deepest, "name": "L65"}),
            )
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid",
    )
    .await;
    assert!(message.contains("64 levels"), "{message}");
    // A two-level branch fits under level 62, not under level 63.
    let branch = add_node(&admin, root, "Branch").await;
    add_node(&admin, branch, "Leaf").await;
    let level_63 = chain[chain.len() - 2];
    let level_62 = chain[chain.len() - 3];
    let message = assert_error(
        admin
            .put(
                &format!("/api/hierarchy/{branch}"),
                json!({"parent_id": level_63, "name": "Branch"}),
            )
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid",
    )
    .await;
    assert!(message.contains("64 levels"), "{message}");
    let moved = ok_json(
        admin
            .put(
                &format!("/api/hierarchy/{branch}"),
                json!({"parent_id": level_62, "name": "Branch"}),
            )
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        moved["path"].as_str().map(|p| p.split('/').count()),
        Some(63)
    );
    app.finish().await;
}

async fn a_damaged_tree_with_a_cycle_answers_instead_of_looping(kind: Kind) {
    let (db, url) = TestDb::create(kind).await;
    // The real binary: a request looping in the server would otherwise
    // stop the test process itself.
    let server = RealServer::start(&url, &[]).await;
    let admin = server.admin(Duration::from_secs(30)).await;
    let root = admin.root_node().await;
    let x = add_node(&admin, root, "X").await;
    let y = add_node(&admin, x, "Y").await;
    let c = add_node(&admin, root, "C").await;
    // A table damaged by hand: X and Y each other's parent.
    let pool = roster_server::db::connect_with(&url, Some(1))
        .await
        .expect("connect to the test database");
    sqlx::query("UPDATE hierarchy_nodes SET parent_id = $1 WHERE id = $2")
        .bind(y)
        .bind(x)
        .execute(&pool)
        .await
        .expect("damage the tree");
    pool.close().await;
    for parent in [x, y] {
        let path = format!("/api/hierarchy/{c}");
        let moved = admin.put(&path, json!({"parent_id": parent, "name": "C"}));
        assert_error(moved.await, StatusCode::INTERNAL_SERVER_ERROR, "internal").await;
        let created = admin.post("/api/hierarchy", json!({"parent_id": parent, "name": "D"}));
        assert_error(created.await, StatusCode::INTERNAL_SERVER_ERROR, "internal").await;
    }
    // The rest of the tree still works.
    let list: Value = admin.get_ok("/api/hierarchy").await;
    assert!(list["nodes"].as_array().is_some_and(|n| n.len() == 4));
    add_node(&admin, c, "Under C").await;
    drop(server);
    drop(db);
}

async fn restoring_needs_every_permission_of_the_users_role(kind: Kind) {
    let app = spawn_app(kind).await;
    let admin = app.admin().await;
    let administrator = admin.administrator_role().await;
    let restorer_role = admin.role("Restorer", &["restore_users"]).await;
    let clerk_role = admin.role("Clerk", &["manage_users"]).await;
    admin
        .create_user(
            json!({"username": "restorer", "user_id": "restorer", "password": PASSWORD,
            "role_id": restorer_role}),
        )
        .await;
    let full = admin
        .create_user(
            json!({"username": "boss", "user_id": "boss", "password": PASSWORD,
            "role_id": administrator}),
        )
        .await;
    let clerk = admin
        .create_user(
            json!({"username": "clerk", "user_id": "clerk", "password": PASSWORD,
            "role_id": clerk_role}),
        )
        .await;
    let restorer = app.signed_in("restorer", PASSWORD).await;
    for user in [&full, &clerk] {
        let id = user["id"].as_i64().expect("id");
        assert_eq!(
            admin.delete(&format!("/api/users/{id}")).await.status(),
            StatusCode::NO_CONTENT
        );
    }

    // The deleted full administrator stays in the trash can.
    let full_id = full["id"].as_i64().expect("id");
    let message = assert_error(
        restorer
            .post(&format!("/api/trash/{full_id}/restore"), json!({}))
            .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    assert!(message.contains("manage_users"), "{message}");
    assert_eq!(
        app.client().login("boss", PASSWORD).await.status(),
        StatusCode::UNAUTHORIZED,
        "still cannot sign in"
    );
    assert_eq!(admin.get_ok("/api/trash").await["total"], 2);

    // A role the restorer does not cover either: manage_users.
    let clerk_id = clerk["id"].as_i64().expect("id");
    assert_error(
        restorer
            .post(&format!("/api/trash/{clerk_id}/restore"), json!({}))
            .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    // A user of the restorer's own role comes back.
    let peer = admin
        .create_user(json!({"username": "peer", "user_id": "peer", "role_id": restorer_role}))
        .await;
    let peer_id = peer["id"].as_i64().expect("id");
    assert_eq!(
        admin
            .delete(&format!("/api/users/{peer_id}"))
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    ok_json(
        restorer
            .post(&format!("/api/trash/{peer_id}/restore"), json!({}))
            .await,
        StatusCode::OK,
    )
    .await;
    // Who holds every permission restores the administrator.
    ok_json(
        admin
            .post(&format!("/api/trash/{full_id}/restore"), json!({}))
            .await,
        StatusCode::OK,
    )
    .await;
    app.signed_in("boss", PASSWORD).await;
    app.finish().await;
}

async fn ones_own_password_changes_only_with_the_current_one(kind: Kind) {
    let app = spawn_app(kind).await;
    let laptop = app.admin().await;
    let phone = app.admin().await;
    let me = my_id(&laptop).await;
    let mine = |fields: Value| {
        let mut body = json!({"username": "admin", "user_id": "admin", "first_name": "Site",
            "last_name": "Administrator", "email": "admin@example.com",
            "role_id": null, "hierarchy_ids": null});
        for (k, v) in fields.as_object().expect("fields") {
            body[k.as_str()] = v.clone();
        }
        body
    };
    let role = laptop.administrator_role().await;
    let root = laptop.root_node().await;

    let message = assert_error(
        laptop
            .put(
                &format!("/api/users/{me}"),
                mine(json!({"role_id": role, "hierarchy_ids": [root],
                    "password": "a-new-password-for-me"})),
            )
            .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    assert!(message.contains("/api/me/password"), "{message}");
    // Nothing changed: the old password still signs in, the other session
    // lives, the new one does not sign in.
    assert_eq!(
        app.client()
            .login("admin", "a-new-password-for-me")
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
    app.admin().await;
    assert_eq!(phone.get("/api/me").await.status(), StatusCode::OK);

    // One's other fields may still be edited.
    let changed = ok_json(
        laptop
            .put(
                &format!("/api/users/{me}"),
                mine(json!({"role_id": role, "hierarchy_ids": [root], "first_name": "Ada"})),
            )
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(changed["first_name"], "Ada");
    assert_eq!(changed["has_password"], true);
    app.admin().await;
    app.finish().await;
}

/// An import's sub-levels are bound by the same depth as the API's nodes:
/// under a node of level 62, two new levels fit and three do not (422).
async fn an_import_builds_no_deeper_than_64_levels(kind: Kind) {
    let app = spawn_app(kind).await;
    let admin = app.admin().await;
    let mut level_62 = admin.root_node().await;
    for level in 2..=62 {
        level_62 = add_node(&admin, level_62, &format!("L{level}")).await;
    }
    let role = admin.administrator_role().await;
    let body = |sub_levels: Value| {
        let mut row = json!({"row": 2, "first_name": "Deep", "last_name": "Down",
            "username": "deep", "email": "deep@example.com", "user_id": "D-1"});
        for (key, value) in sub_levels.as_object().expect("sub-levels") {
            row[key] = value.clone();
        }
        json!({"file_name": "deep.csv", "role_id": role,
            "hierarchy_id": level_62, "rows": [row]})
    };
    let message = assert_error(
        admin
            .post(
                "/api/imports",
                body(json!({"sub_level_1": "L63", "sub_level_2": "L64", "sub_level_3": "L65"})),
            )
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid",
    )
    .await;
    assert!(message.contains("64 levels"), "{message}");
    let preview = ok_json(
        admin
            .post(
                "/api/imports",
                body(json!({"sub_level_1": "L63", "sub_level_2": "L64"})),
            )
            .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(preview["summary"]["to_create"], 1, "{preview}");
    assert_eq!(
        preview["hierarchy_to_create"].as_array().map(Vec::len),
        Some(2),
        "{preview}"
    );
    app.finish().await;
}

/// A node deleted while an import's commit puts users in it: one of the
/// two wins (the import, and the node has users; or the deletion, and the
/// import's node is gone: 422), and no membership is left naming a node
/// or user that is gone (the memberships have no foreign keys since
/// migration 0012: the directory's write lock and the checks inside it
/// keep them whole).
async fn a_node_deleted_while_an_import_fills_it_leaves_no_membership_without_it(kind: Kind) {
    let app = spawn_app(kind).await;
    let importer = app.admin().await;
    let deleter = app.admin().await;
    let root = importer.root_node().await;
    let role = importer.administrator_role().await;
    let mut outcomes = HashMap::new();
    for round in 0..ROUNDS {
        let node = add_node(&importer, root, &format!("Class{round}")).await;
        let rows: Vec<Value> = (0..200)
            .map(|i| {
                let name = format!("r{round}u{i}");
                json!({"row": i + 2, "first_name": "Ada", "last_name": "Lovelace",
                    "username": name, "email": format!("{name}@example.com"), "user_id": name})
            })
            .collect();
        let body = json!({"file_name": "class.csv", "role_id": role, "hierarchy_id": node,
            "rows": rows});
        let preview = ok_json(importer.try_import(body).await, StatusCode::CREATED).await;
        let id = preview["id"].as_i64().expect("a preview id");
        let node_path = format!("/api/hierarchy/{node}");
        let (commit, delete) = tokio::join!(
            importer.commit_import(id, false),
            deleter.delete(&node_path)
        );
        let outcome = (commit.status(), delete.status());
        assert!(
            matches!(
                outcome,
                (StatusCode::OK, StatusCode::CONFLICT)
                    | (StatusCode::UNPROCESSABLE_ENTITY, StatusCode::NO_CONTENT)
            ),
            "round {round}: commit {} and delete {}: {}",
            outcome.0,
            outcome.1,
            commit.text().await.unwrap_or_default()
        );
        *outcomes.entry(outcome).or_insert(0) += 1;
    }
    let db = app.database().await;
    assert_eq!(
        orphan_memberships(&db).await,
        0,
        "memberships without their node or user ({outcomes:?})"
    );
    db.close().await;
    app.finish().await;
}

/// One's own password change waits for the directory's write lock: an undo
/// holding it restores the hashes it judged unchanged, and must not write
/// an older hash over a password changed meanwhile (attacker review).
#[tokio::test]
async fn a_password_change_waits_for_the_directory_write_lock_on_postgres() {
    let app = spawn_app(Kind::Postgres).await;
    let me = app.admin().await;
    let db = app.database().await;
    let holder = roster_server::db::begin_directory_write(&db)
        .await
        .expect("take the directory lock");
    let change = tokio::spawn(async move {
        me.post(
            "/api/me/password",
            json!({"current_password": crate::helpers::ADMIN_PASSWORD,
                "new_password": "a-fresh-password-for-me"}),
        )
        .await
        .status()
    });
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(
        !change.is_finished(),
        "the password changed while another writer held the directory"
    );
    holder.rollback().await.expect("let go of the lock");
    assert_eq!(change.await.expect("join"), StatusCode::NO_CONTENT);
    app.finish().await;
}

/// A directory write sees what the writer before it committed, whatever
/// isolation level the database gives transactions by default: with
/// `default_transaction_isolation = 'repeatable read'` (set on a database
/// or role) a node's deletion that waited on the lock counted its members
/// in a snapshot taken before the wait, and deleted a node an import had
/// just filled (attacker review; the foreign key that refused it is gone
/// since migration 0012).
#[tokio::test]
async fn a_directory_write_reads_after_the_lock_under_repeatable_read_on_postgres() {
    let app = spawn_app_with(Kind::Postgres, |config| {
        config.database_url += REPEATABLE_READ_BY_DEFAULT;
    })
    .await;
    let admin = app.admin().await;
    let root = admin.root_node().await;
    let node = add_node(&admin, root, "Filled Meanwhile").await;
    let me = my_id(&admin).await;
    let db = app.database().await;
    // An import's commit, as far as the deletion can tell: the lock held
    // while a membership of the node is written.
    let mut holder = roster_server::db::begin_directory_write(&db)
        .await
        .expect("take the directory lock");
    sqlx::query("INSERT INTO user_memberships (user_pk, node_id) VALUES ($1, $2)")
        .bind(me)
        .bind(node)
        .execute(&mut *holder)
        .await
        .expect("a membership");
    let delete = tokio::spawn(async move {
        admin
            .delete(&format!("/api/hierarchy/{node}"))
            .await
            .status()
    });
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(
        !delete.is_finished(),
        "the deletion did not wait for the lock"
    );
    holder.commit().await.expect("commit the membership");
    assert_eq!(delete.await.expect("join"), StatusCode::CONFLICT);
    assert_eq!(orphan_memberships(&db).await, 0);
    app.finish().await;
}
