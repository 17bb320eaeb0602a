//! The trash can's life: delete, restore, purge after 30 days (on start
//! and by the daily purge), with the injectable clock.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{
    Kind, TestClient, assert_error, eventually, ok_json, spawn_app, spawn_app_with, user_body,
};
use crate::on_both_databases;

const DAY: i64 = 86_400;

on_both_databases!(
    a_deleted_user_waits_30_days_in_the_trash_can,
    the_daily_purge_runs_while_the_server_runs,
    the_trash_can_is_searched_without_search_terms,
    a_trash_search_pages_and_counts_across_chunks,
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

/// A user's `user_search_terms` rows, `(term, sort_key)` in order.
async fn terms_of(db: &roster_server::Db, user_pk: i64) -> Vec<(String, String)> {
    sqlx::query_as(
        "SELECT term, sort_key FROM user_search_terms WHERE user_pk = $1 ORDER BY term, sort_key",
    )
    .bind(user_pk)
    .fetch_all(db)
    .await
    .expect("terms")
}

/// The usernames of a page of `list` (`/api/users` or `/api/trash`) and
/// its total.
async fn found(admin: &TestClient, list: &str, query: &str) -> (Vec<String>, i64) {
    let page = admin.get_ok(&format!("{list}?{query}")).await;
    let names = page["users"]
        .as_array()
        .expect("users")
        .iter()
        .map(|u| u["username"].as_str().expect("a username").to_string())
        .collect();
    (names, page["total"].as_i64().expect("a total"))
}

/// Issue 18: a user in the trash can keeps no search terms (trashing
/// 100,000 rewrote a million), yet the trash can's search finds them by
/// every kind of word the Users search would, and a restored user gets
/// back the terms a fresh user has.
async fn the_trash_can_is_searched_without_search_terms(kind: Kind) {
    let app = spawn_app(kind).await;
    let admin = app.admin().await;
    let zoe = admin
        .create_user(json!({"first_name": "Zoë", "last_name": "Ångström-Berg",
            "username": "ZoeA", "email": "zoe.a@Example.org", "user_id": "T-0417"}))
        .await;
    let id = zoe["id"].as_i64().expect("id");
    // Another user in the trash can, whom no query below but the last finds.
    let other = admin
        .create_user(json!({"first_name": "Otto", "last_name": "Berger",
            "username": "otto", "email": "otto@example.com", "user_id": "T-0999"}))
        .await;
    let db = app.database().await;
    let fresh = terms_of(&db, id).await;
    assert!(fresh.len() > 5, "{fresh:?}");
    for user in [id, other["id"].as_i64().expect("id")] {
        assert_eq!(
            admin.delete(&format!("/api/users/{user}")).await.status(),
            StatusCode::NO_CONTENT
        );
    }
    assert_eq!(terms_of(&db, id).await, [], "a trashed user keeps no terms");

    let finding_zoe = [
        "q=zoe",
        "q=ZO%C3%8B",                // ZOË
        "q=angstr",                  // the last name's first word, accent-free
        "q=%C3%A5ngstr%C3%B6m-berg", // the whole last name, accented
        "q=BERG%20zo",               // two words, another case
        "q=zoea",                    // username
        "q=zoe.a%40example",         // email prefix
        "q=t-04",                    // user ID
        "q=0417",                    // user ID's word
    ];
    for query in finding_zoe {
        assert_eq!(
            found(&admin, "/api/trash", query).await,
            (vec!["ZoeA".to_string()], 1),
            "trash {query}"
        );
        assert_eq!(
            found(&admin, "/api/users", query).await,
            (vec![], 0),
            "users {query}"
        );
    }
    for query in ["q=zoey", "q=zoe%20otto", "q=417", "q=example.com%20zoe"] {
        assert_eq!(
            found(&admin, "/api/trash", query).await,
            (vec![], 0),
            "trash {query}"
        );
    }
    // Newest first, as without a query.
    assert_eq!(
        found(&admin, "/api/trash", "q=t-0").await,
        (vec!["otto".to_string(), "ZoeA".to_string()], 2)
    );

    // An import that synchronises a user in the trash can (who stays
    // there) writes them no terms; the trash can finds the new name.
    let body = json!({
        "file_name": "users.csv",
        "role_id": zoe["role_id"],
        "hierarchy_id": zoe["hierarchy_ids"][0],
        "rows": [{"row": 2, "first_name": "Zoey", "last_name": "Ångström-Berg",
            "username": "ZoeA", "email": "zoe.a@Example.org", "user_id": "T-0417"}],
    });
    let preview = ok_json(admin.try_import(body).await, StatusCode::CREATED).await;
    assert_eq!(preview["summary"]["to_sync"], 1, "{preview}");
    let import = preview["id"].as_i64().expect("a preview id");
    ok_json(admin.commit_import(import, false).await, StatusCode::OK).await;
    assert_eq!(terms_of(&db, id).await, [], "a synchronised trashed user");
    assert_eq!(found(&admin, "/api/trash", "q=zoey").await.1, 1);
    assert_eq!(found(&admin, "/api/users", "q=zoey").await.1, 0);

    // Restored: found by the Users search again, with a fresh user's terms.
    ok_json(
        admin
            .post(&format!("/api/trash/{id}/restore"), json!({}))
            .await,
        StatusCode::OK,
    )
    .await;
    let twin = admin
        .create_user(json!({"first_name": "Zoey", "last_name": "Ångström-Berg",
            "username": "ZoeA2", "email": "zoe.a@Example.org", "user_id": "T-0418"}))
        .await;
    // The twin's terms, with its username and user ID made Zoë's.
    let mut want: Vec<(String, String)> = terms_of(&db, twin["id"].as_i64().expect("id"))
        .await
        .into_iter()
        .map(|(term, key)| {
            let term = match term.as_str() {
                "zoea2" => "zoea".to_string(),
                "t-0418" => "t-0417".to_string(),
                "0418" => "0417".to_string(),
                _ => term,
            };
            (term, key.replace("\u{1}zoea2", "\u{1}zoea"))
        })
        .collect();
    want.sort();
    assert_eq!(terms_of(&db, id).await, want, "a fresh user's terms");
    for query in finding_zoe {
        let (names, _) = found(&admin, "/api/users", query).await;
        assert!(
            names.contains(&"ZoeA".to_string()),
            "users {query}: {names:?}"
        );
        assert_eq!(
            found(&admin, "/api/trash", query).await.1,
            0,
            "trash {query}"
        );
    }
    assert_eq!(
        found(&admin, "/api/users", "q=zoey%20t-0417").await,
        (vec!["ZoeA".to_string()], 1)
    );
    db.close().await;
    app.finish().await;
}

/// Users an import creates and its undo moves to the trash can: more than
/// the trash can's search reads in one statement (2,000).
const BULK: usize = 2_100;

/// The `per_page` 200 pages of `/api/trash?{query}`: every username in
/// order, and the total each page said.
async fn every_page(admin: &TestClient, query: &str) -> (Vec<String>, Vec<Value>) {
    let mut names = Vec::new();
    let mut totals = Vec::new();
    for page in 1..=BULK / 200 + 2 {
        let body = admin
            .get_ok(&format!("/api/trash?{query}&per_page=200&page={page}"))
            .await;
        totals.push(json!([body["total"], body["total_is_lower_bound"]]));
        let users = body["users"].as_array().expect("users");
        names.extend(
            users
                .iter()
                .map(|u| u["username"].as_str().expect("a username").to_string()),
        );
        if users.is_empty() {
            break;
        }
    }
    (names, totals)
}

/// Issue 18: the trash can's search reads its users in chunks; its pages
/// and totals hold across them, in the trash can's order (newest first).
async fn a_trash_search_pages_and_counts_across_chunks(kind: Kind) {
    let app = spawn_app(kind).await;
    let admin = app.admin().await;
    let rows: Vec<Value> = (0..BULK)
        .map(|n| {
            json!({"row": n + 2, "first_name": "Bo", "last_name": "Bulk",
                "username": format!("bulk{n:04}"), "email": format!("bulk{n:04}@example.com"),
                "user_id": format!("B-{n:04}")})
        })
        .collect();
    let import = admin.import_rows(Value::Array(rows)).await;
    // Created after the import but trashed before its undo: listed last.
    let late = admin
        .create_user(
            json!({"first_name": "Lea", "last_name": "Bulk", "username": "late",
            "user_id": "L-1"}),
        )
        .await;
    admin
        .delete(&format!("/api/users/{}", late["id"].as_i64().expect("id")))
        .await;
    app.clock.advance(60);
    admin.undo_import(import).await;
    let db = app.database().await;
    let kept: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM user_search_terms t JOIN users u ON u.id = t.user_pk \
         WHERE u.deleted_at IS NOT NULL",
    )
    .fetch_one(&db)
    .await
    .expect("count");
    assert_eq!(kept, 0, "the undone users keep no search terms");
    db.close().await;

    // The listing without a query is the order the search keeps.
    let (listed, _) = every_page(&admin, "q=").await;
    assert_eq!(listed.len(), BULK + 1);
    assert_eq!(listed.last().map(String::as_str), Some("late"));
    let total = |n: usize| json!([n, false]);
    for (query, wanted) in [
        ("q=bulk", listed.clone()),
        (
            "q=b-0",
            listed
                .iter()
                .filter(|u| u.starts_with("bulk0"))
                .cloned()
                .collect(),
        ),
        (
            "q=BULK%20bulk20",
            listed
                .iter()
                .filter(|u| u.starts_with("bulk20"))
                .cloned()
                .collect(),
        ),
        ("q=lea%20l-1", vec!["late".to_string()]),
    ] {
        let (names, totals) = every_page(&admin, query).await;
        assert_eq!(names, wanted, "{query}");
        assert!(
            totals.iter().all(|t| *t == total(wanted.len())),
            "{query}: {totals:?}"
        );
    }
    assert_eq!(found(&admin, "/api/users", "q=bulk").await, (vec![], 0));
    app.finish().await;
}
