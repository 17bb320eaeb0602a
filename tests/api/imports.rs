//! Try Import and Import (SPEC sections 5, 6 and 9), through HTTP, with the
//! examples of the user-import guide's FAQ word for word.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Kind, TestClient, assert_error, eventually, ok_json, spawn_app};
use crate::on_both_databases;

on_both_databases!(
    faq_same_username_different_id_and_new_names_synchronises,
    faq_different_username_same_id_is_an_error_and_changes_nothing,
    faq_same_id_same_username_new_names_synchronises,
    trash_can_users_are_synchronised_and_stay_there,
    sub_levels_create_missing_nodes_and_new_users_get_the_site_time_zone,
    a_changed_directory_makes_the_preview_stale,
    cancel_discards_the_preview,
    only_the_maker_of_a_preview_imports_or_cancels_it,
    the_errors_file_and_the_template_download,
    a_script_uploads_a_file_with_a_mapping,
    the_command_line_previews_and_imports,
    large_bodies_and_too_many_rows,
    an_unchanged_row_is_counted_and_the_history_is_recorded,
    a_clerk_grants_and_changes_no_more_than_they_hold,
    a_commit_finishes_when_the_client_goes_away,
    an_unused_preview_expires_after_an_hour,
    a_password_set_by_an_import_ends_the_users_sessions,
    a_renamed_node_or_a_changed_role_makes_the_preview_stale,
    only_the_maker_downloads_a_previews_errors,
    a_value_longer_than_a_cell_can_hold_is_refused_as_in_a_file,
    errors_stored_with_serdes_spelling_are_rewritten_by_the_migration,
    a_sync_that_keeps_the_searched_fields_keeps_the_user_found,
);

on_both_databases!(cancel_is_refused_while_the_commit_runs);

async fn commit(admin: &TestClient, preview: &Value, skip_errors: bool) -> reqwest::Response {
    let id = preview["id"].as_i64().expect("a preview id");
    admin.commit_import(id, skip_errors).await
}

fn row(n: u32, username: &str, user_id: &str, first: &str, last: &str) -> Value {
    json!({
        "row": n, "first_name": first, "last_name": last, "username": username,
        "email": format!("{username}@example.com"), "user_id": user_id,
    })
}

/// The one user whose username is `username` (active or in the trash can).
async fn user(admin: &TestClient, username: &str, in_trash: bool) -> Value {
    let list = if in_trash { "/api/trash" } else { "/api/users" };
    let page = admin.get_ok(&format!("{list}?q={username}")).await;
    page["users"]
        .as_array()
        .and_then(|users| users.iter().find(|u| u["username"] == username))
        .cloned()
        .unwrap_or_else(|| panic!("no user {username} in {page}"))
}

async fn faq_same_username_different_id_and_new_names_synchronises(kind: Kind) {
    let app = spawn_app(kind).await;
    let admin = app.admin().await;
    admin
        .create_user(json!({"username": "jdoe", "user_id": "100",
            "first_name": "John", "last_name": "Doe"}))
        .await;

    let p = admin
        .preview_rows(json!([row(2, "jdoe", "101", "Johnny", "Dough")]))
        .await;
    assert_eq!(
        p["summary"],
        json!({"rows": 1, "to_create": 0, "to_sync": 1, "unchanged": 0, "with_errors": 0, "with_warnings": 0})
    );
    assert_eq!(
        p["sync"],
        json!([{"row": 2, "username": "jdoe", "user_id": "101"}])
    );
    assert_eq!(p["errors"], json!([]));
    let result = ok_json(commit(&admin, &p, false).await, StatusCode::OK).await;
    assert_eq!(result, json!({"created": 0, "synced": 1, "skipped": 0}));

    let jdoe = user(&admin, "jdoe", false).await;
    assert_eq!(jdoe["user_id"], "101", "the ID is updated");
    assert_eq!(jdoe["first_name"], "Johnny");
    assert_eq!(jdoe["last_name"], "Dough");
    assert_eq!(admin.get_ok("/api/users?q=101").await["total"], 1);
    app.finish().await;
}

async fn faq_different_username_same_id_is_an_error_and_changes_nothing(kind: Kind) {
    let app = spawn_app(kind).await;
    let admin = app.admin().await;
    admin
        .create_user(json!({"username": "asmith", "user_id": "200",
            "first_name": "Anna", "last_name": "Smith"}))
        .await;

    let p = admin
        .preview_rows(json!([row(2, "annas", "200", "Annie", "Smyth")]))
        .await;
    assert_eq!(
        p["summary"],
        json!({"rows": 1, "to_create": 0, "to_sync": 0, "unchanged": 0, "with_errors": 1, "with_warnings": 0})
    );
    assert_eq!(
        p["errors"],
        json!([{"row": 2, "field": "user_id", "code": "in_use",
            "message": "User ID: This value is already in use", "held_by": "asmith"}])
    );
    // Rows with errors are skipped only when the administrator confirms.
    assert_error(
        commit(&admin, &p, false).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid",
    )
    .await;
    let result = ok_json(commit(&admin, &p, true).await, StatusCode::OK).await;
    assert_eq!(result, json!({"created": 0, "synced": 0, "skipped": 1}));

    let asmith = user(&admin, "asmith", false).await;
    assert_eq!(asmith["first_name"], "Anna", "the user is not updated");
    assert_eq!(asmith["last_name"], "Smith");
    assert_eq!(admin.get_ok("/api/users?q=annas").await["total"], 0);
    app.finish().await;
}

async fn faq_same_id_same_username_new_names_synchronises(kind: Kind) {
    let app = spawn_app(kind).await;
    let admin = app.admin().await;
    admin
        .create_user(json!({"username": "pjones", "user_id": "300",
            "first_name": "Peter", "last_name": "Jones"}))
        .await;

    // The username in another case is the same username.
    let p = admin
        .preview_rows(json!([row(7, "PJones", "300", "Pete", "Jones-Smith")]))
        .await;
    assert_eq!(p["summary"]["to_sync"], 1);
    assert_eq!(p["summary"]["with_errors"], 0);
    assert_eq!(
        ok_json(commit(&admin, &p, false).await, StatusCode::OK).await,
        json!({"created": 0, "synced": 1, "skipped": 0})
    );
    let pjones = user(&admin, "pjones", false).await;
    assert_eq!(pjones["first_name"], "Pete");
    assert_eq!(pjones["last_name"], "Jones-Smith");
    assert_eq!(pjones["user_id"], "300");
    // Search finds the new name, not the old one.
    assert_eq!(admin.get_ok("/api/users?q=pete").await["total"], 1);
    assert_eq!(admin.get_ok("/api/users?q=peter").await["total"], 0);
    app.finish().await;
}

async fn trash_can_users_are_synchronised_and_stay_there(kind: Kind) {
    let app = spawn_app(kind).await;
    let admin = app.admin().await;
    let gone = admin
        .create_user(json!({"username": "gone", "user_id": "G-1",
            "first_name": "Gina", "last_name": "Gone"}))
        .await;
    let id = gone["id"].as_i64().expect("id");
    assert_eq!(
        admin.delete(&format!("/api/users/{id}")).await.status(),
        StatusCode::NO_CONTENT
    );

    let p = admin
        .preview_rows(json!([
            row(2, "gone", "G-1", "Gina", "Back"),
            row(3, "fresh", "F-1", "Fred", "Fresh")
        ]))
        .await;
    assert_eq!(p["in_trash"], json!([{"row": 2, "username": "gone"}]));
    assert_eq!(p["summary"]["to_sync"], 1);
    assert_eq!(p["summary"]["to_create"], 1);
    assert_eq!(
        ok_json(commit(&admin, &p, false).await, StatusCode::OK).await,
        json!({"created": 1, "synced": 1, "skipped": 0})
    );
    let gone = user(&admin, "gone", true).await;
    assert_eq!(gone["last_name"], "Back", "updated in the trash can");
    assert_eq!(admin.get_ok("/api/users?q=gone").await["total"], 0);
    assert_eq!(admin.get_ok("/api/users?q=fresh").await["total"], 1);
    app.finish().await;
}

async fn sub_levels_create_missing_nodes_and_new_users_get_the_site_time_zone(kind: Kind) {
    let app = spawn_app(kind).await;
    let admin = app.admin().await;
    ok_json(
        admin
            .put(
                "/api/settings/regional",
                json!({"time_zone": "Europe/Amsterdam"}),
            )
            .await,
        StatusCode::OK,
    )
    .await;
    let root = admin.root_node().await;
    ok_json(
        admin
            .post(
                "/api/hierarchy",
                json!({"parent_id": root, "name": "School A"}),
            )
            .await,
        StatusCode::CREATED,
    )
    .await;

    let mut with_password = row(2, "kim", "K-1", "Kim", "Lee");
    with_password["sub_level_1"] = json!("school a");
    with_password["sub_level_2"] = json!("Class 1");
    with_password["password"] = json!("kims-password");
    let mut in_class = row(3, "lou", "L-1", "Lou", "Ma");
    in_class["sub_level_1"] = json!("School A");
    in_class["sub_level_2"] = json!("class 1");
    in_class["time_zone"] = json!("Asia/Tokyo");
    let mut elsewhere = row(4, "max", "M-1", "Max", "Ng");
    elsewhere["sub_level_1"] = json!("School B");
    let p = admin
        .preview_rows(json!([with_password, in_class, elsewhere]))
        .await;
    assert_eq!(
        p["hierarchy_to_create"],
        json!(["Root/School A/Class 1", "Root/School B"]),
        "existing nodes match in any case; each new node is listed once"
    );
    assert_eq!(p["summary"]["to_create"], 3);
    assert_eq!(
        ok_json(commit(&admin, &p, false).await, StatusCode::OK).await,
        json!({"created": 3, "synced": 0, "skipped": 0})
    );

    let nodes = admin.get_ok("/api/hierarchy").await;
    let id_of = |path: &str| {
        nodes["nodes"]
            .as_array()
            .and_then(|n| n.iter().find(|n| n["path"] == path))
            .and_then(|n| n["id"].as_i64())
            .unwrap_or_else(|| panic!("no node {path} in {nodes}"))
    };
    let kim = user(&admin, "kim", false).await;
    assert_eq!(
        kim["hierarchy_ids"],
        json!([id_of("Root/School A/Class 1")])
    );
    assert_eq!(kim["time_zone"], "Europe/Amsterdam");
    assert_eq!(kim["has_password"], true);
    let lou = user(&admin, "lou", false).await;
    assert_eq!(lou["hierarchy_ids"], kim["hierarchy_ids"]);
    assert_eq!(lou["time_zone"], "Asia/Tokyo");
    assert_eq!(lou["has_password"], false, "no usable password");
    let max = user(&admin, "max", false).await;
    assert_eq!(max["hierarchy_ids"], json!([id_of("Root/School B")]));
    // The supplied password works; it is Argon2id-hashed.
    app.signed_in("kim", "kims-password").await;
    app.finish().await;
}

async fn a_changed_directory_makes_the_preview_stale(kind: Kind) {
    let app = spawn_app(kind).await;
    let admin = app.admin().await;
    let p = admin
        .preview_rows(json!([row(2, "carol", "C-1", "Carol", "Cole")]))
        .await;
    assert_eq!(p["summary"]["to_create"], 1);
    // Someone creates Carol meanwhile: the row would now synchronise.
    admin
        .create_user(json!({"username": "carol", "user_id": "C-1",
            "first_name": "Caroline", "last_name": "Cole"}))
        .await;
    let stale = ok_json(commit(&admin, &p, false).await, StatusCode::CONFLICT).await;
    assert_eq!(stale["error"]["code"], "stale_preview");
    assert_eq!(stale["preview"]["summary"]["to_sync"], 1);
    assert_eq!(stale["preview"]["summary"]["to_create"], 0);
    assert_eq!(
        user(&admin, "carol", false).await["first_name"],
        "Caroline",
        "nothing was written"
    );
    // The old preview is gone; the fresh one commits.
    assert_error(
        commit(&admin, &p, false).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    assert_eq!(
        ok_json(
            commit(&admin, &stale["preview"], false).await,
            StatusCode::OK
        )
        .await,
        json!({"created": 0, "synced": 1, "skipped": 0})
    );
    assert_eq!(user(&admin, "carol", false).await["first_name"], "Carol");
    app.finish().await;
}

async fn cancel_discards_the_preview(kind: Kind) {
    let app = spawn_app(kind).await;
    let admin = app.admin().await;
    let p = admin
        .preview_rows(json!([row(2, "dan", "D-1", "Dan", "Dee")]))
        .await;
    let id = p["id"].as_i64().expect("id");
    assert_eq!(
        admin.delete(&format!("/api/imports/{id}")).await.status(),
        StatusCode::NO_CONTENT
    );
    assert_error(
        commit(&admin, &p, false).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    assert_eq!(admin.get_ok("/api/users?q=dan").await["total"], 0);
    app.finish().await;
}

/// Cancel while the commit runs (its passwords hashing, or its
/// transaction writing): 409 with a message, and the commit ends whole.
async fn cancel_is_refused_while_the_commit_runs(kind: Kind) {
    // Passwords hashed at the real cost make the commit long enough to
    // be caught running (the tests' cheap hashes: 0.16 s for 1,000 rows).
    let app = crate::helpers::spawn_app_with(kind, |c| {
        c.password = roster_server::PasswordPolicy::default();
    })
    .await;
    let admin = app.admin().await;
    let rows: Vec<Value> = (0..200)
        .map(|i| {
            let mut r = row(
                i + 2,
                &format!("busy{i}"),
                &format!("BY{i}"),
                "Busy",
                "User",
            );
            r["password"] = json!(format!("password-{i}"));
            r
        })
        .collect();
    let p = admin.preview_rows(json!(rows)).await;
    let id = p["id"].as_i64().expect("id");
    let committing = crate::helpers::commit_in_background(&admin, id);
    let mut refused = None;
    for _ in 0..1000 {
        let import = admin.get_ok(&format!("/api/imports/{id}")).await;
        if import["state"] == "running" {
            refused = Some(admin.delete(&format!("/api/imports/{id}")).await);
            break;
        }
        if import["state"] == "done" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let refused = refused.expect("the commit was seen running");
    let message = assert_error(refused, StatusCode::CONFLICT, "conflict").await;
    assert!(message.contains("being committed"), "{message}");
    let status = committing.await.expect("the task").expect("an answer");
    assert_eq!(status, StatusCode::OK);
    let import = admin.get_ok(&format!("/api/imports/{id}")).await;
    assert_eq!(import["state"], "done", "{import}");
    assert_eq!(import["created"], 200);
    // Done: no preview is left to cancel.
    assert_error(
        admin.delete(&format!("/api/imports/{id}")).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    app.finish().await;
}

async fn only_the_maker_of_a_preview_imports_or_cancels_it(kind: Kind) {
    let app = spawn_app(kind).await;
    let admin = app.admin().await;
    admin
        .create_user(json!({"username": "second", "password": "second-password",
            "role_id": admin.administrator_role().await}))
        .await;
    let second = app.signed_in("second", "second-password").await;
    let p = admin
        .preview_rows(json!([row(2, "erin", "E-1", "Erin", "Eve")]))
        .await;
    let id = p["id"].as_i64().expect("id");

    let message = assert_error(
        commit(&second, &p, false).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    assert!(message.contains("another administrator"), "{message}");
    assert_error(
        second.delete(&format!("/api/imports/{id}")).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    assert_eq!(admin.get_ok("/api/users?q=erin").await["total"], 0);

    // Still the maker's to import.
    assert_eq!(
        ok_json(commit(&admin, &p, false).await, StatusCode::OK).await,
        json!({"created": 1, "synced": 0, "skipped": 0})
    );
    app.finish().await;
}

async fn large_bodies_and_too_many_rows(kind: Kind) {
    let app = spawn_app(kind).await;
    let admin = app.admin().await;
    // 5,000 rows (over the 1 MiB of the other routes) preview and commit.
    let rows: Vec<Value> = (0..5000)
        .map(|i| {
            let mut r = row(i + 2, &format!("bulk{i}"), &format!("B{i}"), "Bulk", "User");
            r["sub_level_1"] = json!(format!("Group {}", i % 7));
            r
        })
        .collect();
    let p = admin.preview_rows(json!(rows)).await;
    assert_eq!(p["summary"]["to_create"], 5000);
    assert_eq!(p["hierarchy_to_create"].as_array().map(Vec::len), Some(7));
    assert_eq!(
        ok_json(commit(&admin, &p, false).await, StatusCode::OK).await,
        json!({"created": 5000, "synced": 0, "skipped": 0})
    );
    assert_eq!(admin.get_ok("/api/users?q=bulk4999").await["total"], 1);
    assert_eq!(admin.get_ok("/api/users?q=bulk").await["total"], 5000);

    // More than 250,000 rows: 422 before any work.
    let rows: Vec<Value> = (0..250_001u32).map(|i| json!({"row": i + 2})).collect();
    let body = json!({"file_name": "big.csv", "role_id": 1, "hierarchy_id": 1, "rows": rows});
    let message = assert_error(
        admin.try_import(body).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid",
    )
    .await;
    assert!(message.contains("250000"), "{message}");
    // Over the import routes' own limit (64 MiB): 413.
    let huge = "x".repeat(65 * 1024 * 1024);
    let body = json!({"file_name": huge, "role_id": 1, "hierarchy_id": 1, "rows": []});
    assert_error(
        admin.try_import(body).await,
        StatusCode::PAYLOAD_TOO_LARGE,
        "too_large",
    )
    .await;
    app.finish().await;
}

async fn an_unchanged_row_is_counted_and_the_history_is_recorded(kind: Kind) {
    let app = spawn_app(kind).await;
    let admin = app.admin().await;
    let rows = json!([row(2, "eve", "E-1", "Eve", "East")]);
    let first = admin.preview_rows(rows.clone()).await;
    ok_json(commit(&admin, &first, false).await, StatusCode::OK).await;
    let again = admin.preview_rows(rows).await;
    assert_eq!(
        again["summary"],
        json!({"rows": 1, "to_create": 0, "to_sync": 1, "unchanged": 1, "with_errors": 0, "with_warnings": 0})
    );
    ok_json(commit(&admin, &again, false).await, StatusCode::OK).await;

    let db = app.database().await;
    let (file, sha, created, state): (String, String, i64, String) =
        sqlx::query_as("SELECT file_name, sha256, created, state FROM imports WHERE id = $1")
            .bind(first["id"].as_i64().expect("id"))
            .fetch_one(&db)
            .await
            .expect("the import is recorded");
    assert_eq!(
        (file.as_str(), created, state.as_str()),
        ("users.xlsx", 1, "done")
    );
    assert_eq!(sha.len(), 64);
    let (action, before, after): (String, Option<String>, String) = sqlx::query_as(
        "SELECT action, before_json, after_json FROM import_changes WHERE import_id = $1",
    )
    .bind(first["id"].as_i64().expect("id"))
    .fetch_one(&db)
    .await
    .expect("the change is recorded");
    assert_eq!(action, "create");
    assert!(before.is_none());
    let after: Value = serde_json::from_str(&after).expect("JSON");
    assert_eq!(after["username"], "eve");
    assert_eq!(after["has_password"], false);
    db.close().await;

    // The history over HTTP: newest first, with each user's values; a
    // preview waiting for its Import is not history.
    admin
        .preview_rows(json!([row(2, "fay", "F-1", "Fay", "Far")]))
        .await;
    let list = admin.get_ok("/api/imports").await;
    assert_eq!(list["total"], 2);
    assert_eq!(list["imports"][0]["id"], again["id"]);
    assert_eq!(list["imports"][0]["state"], "done");
    assert_eq!(list["imports"][0]["synced"], 1);
    assert_eq!(list["imports"][1]["created_by"], "admin");
    assert_eq!(list["imports"][1]["hierarchy_path"], "Root");
    assert_eq!(list["imports"][1]["role_name"], "Administrator");
    let detail = admin.get_ok(&format!("/api/imports/{}", first["id"])).await;
    assert_eq!(detail["state"], "done");
    assert_eq!(detail["changes_total"], 1);
    assert_eq!(detail["changes"][0]["action"], "create");
    assert_eq!(detail["changes"][0]["row"], 2);
    assert_eq!(detail["changes"][0]["after"]["email"], "eve@example.com");
    assert!(detail["changes"][0]["before"].is_null());
    // The unchanged row changed nothing: no change recorded.
    let detail = admin.get_ok(&format!("/api/imports/{}", again["id"])).await;
    assert_eq!(detail["changes_total"], 0);

    // A sync records the values before and after.
    let renamed = admin
        .preview_rows(json!([row(2, "eve", "E-1", "Evelyn", "East")]))
        .await;
    ok_json(commit(&admin, &renamed, false).await, StatusCode::OK).await;
    let detail = admin
        .get_ok(&format!("/api/imports/{}", renamed["id"]))
        .await;
    assert_eq!(detail["changes"][0]["action"], "sync");
    assert_eq!(detail["changes"][0]["before"]["first_name"], "Eve");
    assert_eq!(detail["changes"][0]["after"]["first_name"], "Evelyn");
    let text = detail.to_string();
    assert!(!text.contains("argon2"), "no hash in the history");
    app.finish().await;
}

async fn the_errors_file_and_the_template_download(kind: Kind) {
    let app = spawn_app(kind).await;
    let admin = app.admin().await;
    let mut bad = row(2, "bad user", "X-1", "=HYPERLINK(\"x\")", "Bad");
    bad["password"] = json!("never-in-the-file");
    let p = admin
        .preview_rows(json!([bad, row(3, "good", "X-2", "Good", "Row")]))
        .await;
    assert_eq!(p["summary"]["with_errors"], 1);
    let id = p["id"].as_i64().expect("id");
    for path in [
        format!("/api/imports/{id}/errors.xlsx"),
        "/api/import/template".to_string(),
    ] {
        let response = admin.get(&path).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        assert_eq!(
            response.headers()["content-type"],
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        );
        let bytes = response.bytes().await.expect("a body");
        assert!(bytes.starts_with(b"PK"), "{path} is a zip");
    }
    assert_error(
        admin.get("/api/imports/999999/errors.xlsx").await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    app.finish().await;
}

/// A `multipart/form-data` body by hand (the workspace's reqwest has no
/// multipart feature): `(name, file name, bytes)` parts.
pub(crate) fn form(parts: &[(&str, Option<&str>, &[u8])]) -> (String, Vec<u8>) {
    let boundary = "roster-test-boundary-7d1f";
    let mut body = Vec::new();
    for (name, file_name, bytes) in parts {
        body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        match file_name {
            Some(f) => body.extend_from_slice(
                format!(
                    "Content-Disposition: form-data; name=\"{name}\"; filename=\"{f}\"\r\n\
                     Content-Type: application/octet-stream\r\n\r\n"
                )
                .as_bytes(),
            ),
            None => body.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes(),
            ),
        }
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

async fn a_script_uploads_a_file_with_a_mapping(kind: Kind) {
    let app = spawn_app(kind).await;
    let admin = app.admin().await;
    let role = admin.administrator_role().await.to_string();
    let root = admin.root_node().await.to_string();
    let csv = "First Name,Last Name,Username,Email,Nummer,Sub-level-1\n\
               Ann,Ames,ann,ann@example.com,N-1,Team\n\
               Bob,Bell,bob bell,bob@example.com,N-2,Team\n";
    let send = |parts: (String, Vec<u8>)| {
        let mut request = admin
            .http
            .post(format!("{}/api/imports", admin.base))
            .header("content-type", parts.0)
            .body(parts.1);
        if let Some(csrf) = &admin.csrf {
            request = request.header("X-CSRF-Token", csrf);
        }
        request.send()
    };
    // Without the mapping no column holds the user ID: 422 naming it.
    let message = assert_error(
        send(form(&[
            ("file", Some("users.csv"), csv.as_bytes()),
            ("role_id", None, role.as_bytes()),
            ("hierarchy_id", None, root.as_bytes()),
        ]))
        .await
        .expect("sent"),
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid",
    )
    .await;
    assert!(message.contains("User ID"), "{message}");

    let p = ok_json(
        send(form(&[
            ("file", Some("users.csv"), csv.as_bytes()),
            ("role_id", None, role.as_bytes()),
            ("hierarchy_id", None, root.as_bytes()),
            ("mapping", None, br#"{"user_id": "Nummer"}"#),
        ]))
        .await
        .expect("sent"),
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(
        p["summary"],
        json!({"rows": 2, "to_create": 1, "to_sync": 0, "unchanged": 0, "with_errors": 1, "with_warnings": 0})
    );
    assert_eq!(p["errors"][0]["row"], 3);
    assert_eq!(p["errors"][0]["message"], "Username: spaces not allowed");
    assert_eq!(p["hierarchy_to_create"], json!(["Root/Team"]));
    assert_eq!(
        ok_json(commit(&admin, &p, true).await, StatusCode::OK).await,
        json!({"created": 1, "synced": 0, "skipped": 1})
    );
    let list = admin.get_ok("/api/imports").await;
    assert_eq!(list["imports"][0]["file_name"], "users.csv");
    app.finish().await;
}

async fn the_command_line_previews_and_imports(kind: Kind) {
    let app = spawn_app(kind).await;
    let admin = app.admin().await;
    admin
        .create_user(json!({"username": "old", "user_id": "O-1"}))
        .await;
    let dir =
        std::env::temp_dir().join(format!("roster-cli-import-{}-{kind:?}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    let file = dir.join("users.csv");
    std::fs::write(
        &file,
        "First Name,Last Name,Username,Email,User ID,Sub-level-1\n\
         Cleo,Cli,cleo,cleo@example.com,CL-1,Night Shift\n\
         Olga,Old,old,old@example.com,O-1,\n",
    )
    .expect("write the file");
    let run = |extra: &[&str]| {
        std::process::Command::new(roster_tests::roster_bin())
            .arg("import")
            .arg(&file)
            .args(["--role", "administrator", "--hierarchy", "root"])
            .args(extra)
            .env("DATABASE_URL", &app.database_url)
            .output()
            .expect("run roster import")
    };
    let preview = run(&[]);
    let out = String::from_utf8_lossy(&preview.stdout);
    assert_eq!(preview.status.code(), Some(0), "{out}");
    assert!(
        out.contains("2 rows: 1 to create, 1 to synchronise (0 unchanged), 0 with errors."),
        "{out}"
    );
    assert!(out.contains("Root/Night Shift"), "{out}");
    assert_eq!(
        admin.get_ok("/api/users?q=cleo").await["total"],
        0,
        "a preview only"
    );

    let done = run(&["--commit"]);
    let out = String::from_utf8_lossy(&done.stdout);
    let err = String::from_utf8_lossy(&done.stderr);
    assert_eq!(done.status.code(), Some(0), "{out}\n{err}");
    assert!(
        out.contains("1 created, 1 synchronised, 0 skipped"),
        "{out}"
    );
    assert_eq!(admin.get_ok("/api/users?q=cleo").await["total"], 1);
    assert_eq!(user(&admin, "old", false).await["first_name"], "Olga");

    // Headers Roster does not know, mapped on the command line.
    let dutch = dir.join("gebruikers.csv");
    std::fs::write(
        &dutch,
        "Voornaam,Achternaam,Username,Email,User ID\n\
         Daan,Dijk,daan,daan@example.com,DA-1\n",
    )
    .expect("write the file");
    let mapped = |maps: &[&str]| {
        let mut command = std::process::Command::new(roster_tests::roster_bin());
        command.arg("import").arg(&dutch).args([
            "--role",
            "administrator",
            "--hierarchy",
            "root",
            "--commit",
        ]);
        for map in maps {
            command.args(["--map", map]);
        }
        command
            .env("DATABASE_URL", &app.database_url)
            .output()
            .expect("run roster import")
    };
    let unmapped = mapped(&[]);
    assert_eq!(unmapped.status.code(), Some(2));
    let err = String::from_utf8_lossy(&unmapped.stderr);
    assert!(err.contains("First Name"), "{err}");
    let unknown = mapped(&["nickname=Voornaam"]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("unknown field"));
    let done = mapped(&["first_name=Voornaam", "last_name=Achternaam"]);
    let out = String::from_utf8_lossy(&done.stdout);
    assert_eq!(done.status.code(), Some(0), "{out}");
    assert!(
        out.contains("1 created, 0 synchronised, 0 skipped"),
        "{out}"
    );
    assert_eq!(user(&admin, "daan", false).await["first_name"], "Daan");
    let _ = std::fs::remove_dir_all(&dir);
    app.finish().await;
}

async fn a_clerk_grants_and_changes_no_more_than_they_hold(kind: Kind) {
    let app = spawn_app(kind).await;
    let admin = app.admin().await;
    let clerk_role = admin.role("Clerk", &["manage_users"]).await;
    let reader_role = admin.role("Reader", &["restore_users"]).await;
    admin
        .create_user(json!({"username": "clerk", "password": "clerk-password",
            "role_id": clerk_role}))
        .await;
    admin
        .create_user(json!({"username": "reader", "password": "reader-password",
            "role_id": reader_role}))
        .await;
    let clerk = app.signed_in("clerk", "clerk-password").await;
    let reader = app.signed_in("reader", "reader-password").await;
    let root = admin.root_node().await;
    let body = |role: i64, rows: Value| json!({"file_name": "f.csv", "role_id": role, "hierarchy_id": root, "rows": rows});

    // Without manage_users: 403 whatever the body.
    assert_error(
        reader.try_import(json!({})).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    // The Administrator role holds more than the clerk: 403.
    let administrator = admin.administrator_role().await;
    assert_error(
        clerk
            .post(
                "/api/imports",
                body(administrator, json!([row(2, "x", "X-9", "X", "Y")])),
            )
            .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    // Synchronising `admin` would change a user holding more: 403.
    let message = assert_error(
        clerk
            .post(
                "/api/imports",
                body(
                    clerk_role,
                    json!([row(5, "admin", "admin", "Site", "Admin")]),
                ),
            )
            .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    assert!(message.contains("row 5"), "{message}");
    // The administrator cannot demote the last full administrator by import.
    let p = admin
        .preview_rows(json!([row(2, "admin", "admin", "Site", "Administrator")]))
        .await;
    let id = p["id"].as_i64().expect("id");
    let demote = json!({"file_name": "f.csv", "role_id": clerk_role, "hierarchy_id": root,
        "rows": [row(2, "admin", "admin", "Site", "Administrator")]});
    let demoted = ok_json(admin.try_import(demote).await, StatusCode::CREATED).await;
    assert_error(
        commit(&admin, &demoted, false).await,
        StatusCode::CONFLICT,
        "conflict",
    )
    .await;
    assert_eq!(
        ok_json(commit(&admin, &p, false).await, StatusCode::OK).await["synced"],
        1,
        "preview {id} still commits"
    );
    app.finish().await;
}

async fn a_commit_finishes_when_the_client_goes_away(kind: Kind) {
    let app = spawn_app(kind).await;
    let admin = app.admin().await;
    let rows: Vec<Value> = (0..1000)
        .map(|i| {
            let mut r = row(
                i + 2,
                &format!("away{i}"),
                &format!("AW{i}"),
                "Away",
                "User",
            );
            r["password"] = json!(format!("password-{i}"));
            r
        })
        .collect();
    let p = admin.preview_rows(json!(rows)).await;
    let id = p["id"].as_i64().expect("id");
    // The client gives up almost at once; the commit goes on.
    let gave_up = admin
        .http
        .post(format!("{}/api/imports/{id}/commit", admin.base))
        .header("X-CSRF-Token", admin.csrf.clone().unwrap_or_default())
        .json(&json!({"skip_errors": false}))
        .timeout(std::time::Duration::from_millis(30))
        .send()
        .await;
    let done = eventually(|| {
        let admin = &admin;
        async move {
            let import = admin.get_ok(&format!("/api/imports/{id}")).await;
            if import["state"] == "running" {
                // While it runs: rows written of all.
                assert_eq!(import["progress"]["total"], 1000, "{import}");
                assert!(import["progress"]["done"].as_u64() <= Some(1000));
            }
            import["state"] == "done"
        }
    })
    .await;
    assert!(
        done,
        "the commit finished (client gave up: {})",
        gave_up.is_err()
    );
    let import = admin.get_ok(&format!("/api/imports/{id}")).await;
    assert_eq!(import["created"], 1000);
    assert!(import.get("progress").is_none(), "no progress once done");
    assert_eq!(admin.get_ok("/api/users?q=away").await["total"], 1000);
    app.signed_in("away999", "password-999").await;
    app.finish().await;
}

async fn an_unused_preview_expires_after_an_hour(kind: Kind) {
    let app = spawn_app(kind).await;
    let admin = app.admin().await;
    let mut with_password = row(2, "late1", "LT1", "Late", "User");
    with_password["password"] = json!("password-late-1");
    let kept = admin
        .preview_rows(json!([row(2, "kept1", "KP1", "Kept", "User")]))
        .await;
    let late = admin.preview_rows(json!([with_password])).await;
    let late_id = late["id"].as_i64().expect("id");
    let kept_id = kept["id"].as_i64().expect("id");

    // Just before the hour is up, it is still there.
    app.clock.advance(3600 - 5);
    let admin = app.admin().await;
    let got = admin.get_ok(&format!("/api/imports/{late_id}")).await;
    assert_eq!(got["state"], "preview", "{got}");

    // Once it is up: not listed, not found, cannot be committed.
    app.clock.advance(10);
    let admin = app.admin().await;
    assert_eq!(
        admin.get(&format!("/api/imports/{late_id}")).await.status(),
        StatusCode::NOT_FOUND
    );
    assert_error(
        commit(&admin, &late, false).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    assert_error(
        commit(&admin, &kept, false).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    assert_eq!(admin.get_ok("/api/users?q=late1").await["total"], 0);
    assert_eq!(admin.get_ok("/api/users?q=kept1").await["total"], 0);

    // The next Try Import deletes the expired previews from the database.
    let fresh = admin
        .preview_rows(json!([row(2, "fresh1", "FR1", "Fresh", "User")]))
        .await;
    let db = app.database().await;
    let left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM imports WHERE id IN ($1, $2)")
        .bind(late_id)
        .bind(kept_id)
        .fetch_one(&db)
        .await
        .expect("count the previews");
    assert_eq!(left, 0, "expired previews are deleted");
    db.close().await;
    assert_eq!(commit(&admin, &fresh, false).await.status(), StatusCode::OK);
    app.finish().await;
}

async fn a_password_set_by_an_import_ends_the_users_sessions(kind: Kind) {
    let app = spawn_app(kind).await;
    let admin = app.admin().await;
    for (username, user_id) in [("sam", "S-1"), ("tom", "T-1")] {
        admin
            .create_user(json!({"username": username, "user_id": user_id,
                "first_name": "Old", "last_name": "Name",
                "email": format!("{username}@example.com"),
                "password": format!("{username}s-old-password")}))
            .await;
    }
    let sam = app.signed_in("sam", "sams-old-password").await;
    let tom = app.signed_in("tom", "toms-old-password").await;
    // Sam gets a new password from the file; Tom only new names.
    let mut sam_row = row(2, "sam", "S-1", "Sam", "Stone");
    sam_row["password"] = json!("sams-new-password");
    let p = admin
        .preview_rows(json!([sam_row, row(3, "tom", "T-1", "Tom", "Tusk")]))
        .await;
    assert_eq!(p["summary"]["to_sync"], 2, "{p}");
    assert_eq!(
        ok_json(commit(&admin, &p, false).await, StatusCode::OK).await,
        json!({"created": 0, "synced": 2, "skipped": 0})
    );
    assert_error(
        sam.get("/api/me").await,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    )
    .await;
    assert_eq!(
        tom.get("/api/me").await.status(),
        StatusCode::OK,
        "a sync without a password keeps the sessions"
    );
    assert_eq!(admin.get("/api/me").await.status(), StatusCode::OK);
    app.signed_in("sam", "sams-new-password").await;
    app.finish().await;
}

async fn a_renamed_node_or_a_changed_role_makes_the_preview_stale(kind: Kind) {
    let app = spawn_app(kind).await;
    let admin = app.admin().await;
    let root = admin.root_node().await;
    let school = ok_json(
        admin
            .post(
                "/api/hierarchy",
                json!({"parent_id": root, "name": "School A"}),
            )
            .await,
        StatusCode::CREATED,
    )
    .await;
    let school_id = school["id"].as_i64().expect("id");
    let mut placed = row(2, "nia", "N-1", "Nia", "North");
    placed["sub_level_1"] = json!("School A");
    let p = admin.preview_rows(json!([placed.clone()])).await;
    assert_eq!(p["summary"]["to_create"], 1);
    assert_eq!(p["hierarchy_to_create"], json!([]), "School A exists");

    // Renamed meanwhile: the commit would create a node the preview never
    // listed. Nothing is written; the fresh preview lists it.
    ok_json(
        admin
            .put(
                &format!("/api/hierarchy/{school_id}"),
                json!({"name": "School B"}),
            )
            .await,
        StatusCode::OK,
    )
    .await;
    let stale = ok_json(commit(&admin, &p, false).await, StatusCode::CONFLICT).await;
    assert_eq!(stale["error"]["code"], "stale_preview", "{stale}");
    assert_eq!(stale["preview"]["summary"]["to_create"], 1);
    assert_eq!(
        stale["preview"]["hierarchy_to_create"],
        json!(["Root/School A"])
    );
    let nodes = admin.get_ok("/api/hierarchy").await;
    assert!(
        !nodes.to_string().contains("School A"),
        "no node was created: {nodes}"
    );
    assert_eq!(admin.get_ok("/api/users?q=nia").await["total"], 0);

    // The role given changes meanwhile (here: it gains a permission).
    let clerk = admin.role("Clerk", &["manage_users"]).await;
    let body = json!({"file_name": "users.xlsx", "role_id": clerk,
        "hierarchy_id": school_id, "rows": [row(2, "ola", "O-1", "Ola", "Oak")]});
    let p = ok_json(admin.try_import(body).await, StatusCode::CREATED).await;
    ok_json(
        admin
            .put(
                &format!("/api/roles/{clerk}"),
                json!({"name": "Clerk", "permissions": ["manage_users", "restore_users"]}),
            )
            .await,
        StatusCode::OK,
    )
    .await;
    let stale = ok_json(commit(&admin, &p, false).await, StatusCode::CONFLICT).await;
    assert_eq!(stale["error"]["code"], "stale_preview", "{stale}");
    assert_eq!(admin.get_ok("/api/users?q=ola").await["total"], 0);
    // The fresh preview commits.
    assert_eq!(
        ok_json(
            commit(&admin, &stale["preview"], false).await,
            StatusCode::OK
        )
        .await,
        json!({"created": 1, "synced": 0, "skipped": 0})
    );
    app.finish().await;
}

async fn only_the_maker_downloads_a_previews_errors(kind: Kind) {
    let app = spawn_app(kind).await;
    let admin = app.admin().await;
    admin
        .create_user(json!({"username": "second", "password": "second-password",
            "role_id": admin.administrator_role().await}))
        .await;
    let second = app.signed_in("second", "second-password").await;
    let p = admin
        .preview_rows(json!([
            row(2, "bad user", "X-1", "Bad", "Row"),
            row(3, "good", "X-2", "Good", "Row")
        ]))
        .await;
    assert_eq!(p["summary"]["with_errors"], 1);
    let path = format!("/api/imports/{}/errors.xlsx", p["id"]);
    let message = assert_error(second.get(&path).await, StatusCode::FORBIDDEN, "forbidden").await;
    assert!(message.contains("another administrator"), "{message}");
    assert_eq!(admin.get(&path).await.status(), StatusCode::OK);
    // Once imported it is history, open to every administrator.
    ok_json(commit(&admin, &p, true).await, StatusCode::OK).await;
    assert_eq!(second.get(&path).await.status(), StatusCode::OK);
    app.finish().await;
}
async fn a_value_longer_than_a_cell_can_hold_is_refused_as_in_a_file(kind: Kind) {
    let app = spawn_app(kind).await;
    let admin = app.admin().await;
    // At Excel's limit of 32,767 characters: a row with a too-long name.
    let mut at_limit = row(2, "ann", "1", "Ann", "Lee");
    at_limit["last_name"] = json!("é".repeat(32_767));
    let p = admin.preview_rows(json!([at_limit])).await;
    assert_eq!(p["errors"][0]["code"], "too_long");
    // One more: refused whole, as the file would be.
    let mut over = row(2, "ann", "1", "Ann", "Lee");
    over["last_name"] = json!("é".repeat(32_768));
    let body = json!({
        "file_name": "users.xlsx",
        "role_id": admin.administrator_role().await,
        "hierarchy_id": admin.root_node().await,
        "rows": [over],
    });
    let message = assert_error(
        admin.try_import(body).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid",
    )
    .await;
    assert!(
        message.contains(
            "a value holds more than 32767 characters, more than a spreadsheet cell can hold"
        ),
        "{message}"
    );
    let csv = format!(
        "First Name,Last Name,Username,Email,User ID\nAnn,{},ann,ann@example.com,1\n",
        "é".repeat(32_768)
    );
    let role = admin.administrator_role().await.to_string();
    let root = admin.root_node().await.to_string();
    let (content_type, body) = form(&[
        ("file", Some("users.csv"), csv.as_bytes()),
        ("role_id", None, role.as_bytes()),
        ("hierarchy_id", None, root.as_bytes()),
    ]);
    let mut request = admin
        .http
        .post(format!("{}/api/imports", admin.base))
        .header("content-type", content_type)
        .body(body);
    if let Some(csrf) = &admin.csrf {
        request = request.header("X-CSRF-Token", csrf);
    }
    let message = assert_error(
        request.send().await.expect("sent"),
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid",
    )
    .await;
    assert!(
        message.contains("row 2, column B holds more than 32767 characters"),
        "{message}"
    );
    app.finish().await;
}

/// Row errors stored before the one spelling named a sub-level field as
/// serde's `sub_level1`; the server now reads only `sub_level_1`, and
/// migration 0007 rewrites the stored text so that old imports' errors
/// files still download.
async fn errors_stored_with_serdes_spelling_are_rewritten_by_the_migration(kind: Kind) {
    let app = spawn_app(kind).await;
    let admin = app.admin().await;
    let mut gap = row(2, "kim", "K-1", "Kim", "Lee");
    gap["sub_level_2"] = json!("Class 1");
    let p = admin.preview_rows(json!([gap])).await;
    assert_eq!(p["errors"][0]["field"], "sub_level_2", "{p}");
    let id = p["id"].as_i64().expect("id");
    let errors_file = format!("/api/imports/{id}/errors.xlsx");
    assert_eq!(admin.get(&errors_file).await.status(), StatusCode::OK);

    // The text an earlier server stored.
    let db = app.database().await;
    let stored: String = sqlx::query_scalar("SELECT errors_json FROM imports WHERE id = $1")
        .bind(id)
        .fetch_one(&db)
        .await
        .expect("the stored errors");
    assert!(stored.contains(r#""field":"sub_level_2""#), "{stored}");
    let old = stored.replace(r#""field":"sub_level_2""#, r#""field":"sub_level2""#);
    sqlx::query("UPDATE imports SET errors_json = $1 WHERE id = $2")
        .bind(&old)
        .bind(id)
        .execute(&db)
        .await
        .expect("store the old spelling");
    assert_eq!(
        admin.get(&errors_file).await.status(),
        StatusCode::INTERNAL_SERVER_ERROR,
        "the old spelling is no longer read"
    );

    let migration = match kind {
        Kind::Sqlite => include_str!("../../backend/migrations/sqlite/0007_sub_level_keys.sql"),
        Kind::Postgres => include_str!("../../backend/migrations/postgres/0007_sub_level_keys.sql"),
    };
    sqlx::raw_sql(migration)
        .execute(&db)
        .await
        .expect("the migration runs");
    let migrated: String = sqlx::query_scalar("SELECT errors_json FROM imports WHERE id = $1")
        .bind(id)
        .fetch_one(&db)
        .await
        .expect("the stored errors");
    assert_eq!(migrated, stored);
    assert_eq!(admin.get(&errors_file).await.status(), StatusCode::OK);
    app.finish().await;
}

/// A sync rewrites a user's search terms only when a searched field (names,
/// username, email, user ID) changes: one that changes another field keeps
/// the user found by every term, and one that changes the email finds the
/// new address and no longer the old.
async fn a_sync_that_keeps_the_searched_fields_keeps_the_user_found(kind: Kind) {
    let app = spawn_app(kind).await;
    let admin = app.admin().await;
    let created = admin
        .preview_rows(json!([row(2, "gwen", "700", "Gwen", "Öhman")]))
        .await;
    ok_json(commit(&admin, &created, false).await, StatusCode::OK).await;

    let mut needs = row(2, "gwen", "700", "Gwen", "Öhman");
    needs["special_needs"] = json!("yes");
    let p = admin.preview_rows(json!([needs])).await;
    assert_eq!(p["summary"]["to_sync"], 1, "{}", p["summary"]);
    let result = ok_json(commit(&admin, &p, false).await, StatusCode::OK).await;
    assert_eq!(result["synced"], 1);
    assert_eq!(user(&admin, "gwen", false).await["special_needs"], true);
    for q in ["gwen", "ohman", "gwen%40example", "700", "gwen%20oh"] {
        assert_eq!(
            admin.get_ok(&format!("/api/users?q={q}")).await["total"],
            1,
            "{q}"
        );
    }

    let mut moved = row(2, "gwen", "700", "Gwen", "Öhman");
    moved["email"] = json!("g.ohman@school.example");
    let p = admin.preview_rows(json!([moved])).await;
    assert_eq!(p["summary"]["to_sync"], 1, "{}", p["summary"]);
    ok_json(commit(&admin, &p, false).await, StatusCode::OK).await;
    assert_eq!(
        admin.get_ok("/api/users?q=gwen%40example").await["total"],
        0
    );
    assert_eq!(
        admin.get_ok("/api/users?q=g.ohman%40school").await["total"],
        1
    );
    assert_eq!(admin.get_ok("/api/users?q=ohman").await["total"], 1);
    app.finish().await;
}
