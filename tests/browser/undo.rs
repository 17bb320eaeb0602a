//! Undo of an import from its history entry (SPEC section 6b, issue 18)
//! against the REAL `roster serve`: the preview lists a user changed since
//! the import as left alone, Cancel and Escape step back, a directory
//! changed behind the preview brings a fresh one, Undo moves the created
//! users to the trash can and gives the synchronised one its earlier
//! values, the two entries link to each other, and a second undo is
//! refused.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::admin::{Api, RosterServer};
use crate::helpers::{BrowserApp, ESCAPE, STEP_TIMEOUT};

impl Api<'_> {
    /// The id of the user named `username` (in the directory, not the
    /// trash can).
    pub(crate) async fn user_named(&self, username: &str) -> i64 {
        let found = self.get(&format!("/api/users?q={username}")).await;
        found["users"]
            .as_array()
            .and_then(|u| u.iter().find(|u| u["username"] == username))
            .and_then(|u| u["id"].as_i64())
            .unwrap_or_else(|| panic!("{username} in the directory: {found}"))
    }

    /// Gives user `id` another email (PUT replaces every field).
    pub(crate) async fn change_email(&self, id: i64, email: &str) {
        let user = self.get(&format!("/api/users/{id}")).await;
        let mut body = json!({});
        for key in [
            "first_name",
            "last_name",
            "username",
            "user_id",
            "role_id",
            "hierarchy_ids",
            "special_needs",
            "sync_key",
            "time_zone",
        ] {
            body[key] = user[key].clone();
        }
        body["email"] = json!(email);
        let (status, answer) = self.put(&format!("/api/users/{id}"), body).await;
        assert_eq!(status, 200, "change {id}'s email: {answer}");
    }
}

impl BrowserApp {
    async fn is_present(&self, css: &str) -> bool {
        self.script(&format!("return !!document.querySelector({});", json!(css)))
            .await
            == true
    }

    async fn wait_until_absent(&self, css: &str) {
        let deadline = Instant::now() + STEP_TIMEOUT;
        while self.is_present(css).await {
            assert!(Instant::now() < deadline, "{css} is still there");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The `data-user` ids of a preview list's lines, as usernames' texts.
    async fn list_texts(&self, list: &str) -> Vec<String> {
        let texts = self
            .script(&format!(
                "return [...document.querySelectorAll('#{list} li')].map(li => li.textContent);"
            ))
            .await;
        serde_json::from_value(texts).unwrap_or_default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_import_is_undone_from_its_history_entry() {
    let _turn = crate::ONE_BROWSER_AT_A_TIME.lock().await;
    let server = RosterServer::start().await;
    let api = Api::sign_in(&server).await;
    let placed = api.role_and_root().await;
    let (role, root) = placed;
    // jausten is in the directory before the import, which changes her
    // email (a sync); the other three are created.
    let jane = api
        .create_user(
            placed,
            json!({"first_name": "Jane", "last_name": "Austen", "username": "jausten",
                   "email": "jane.old@example.org", "user_id": "6002"}),
        )
        .await;
    let rows = json!([
        {"row": 2, "first_name": "Mary", "last_name": "Shelley", "username": "mshelley",
         "email": "mary@example.org", "user_id": "6001"},
        {"row": 3, "first_name": "Jane", "last_name": "Austen", "username": "jausten",
         "email": "jane@example.org", "user_id": "6002"},
        {"row": 4, "first_name": "Ann", "last_name": "Radcliffe", "username": "aradcliffe",
         "email": "ann@example.org", "user_id": "6003"},
        {"row": 5, "first_name": "Charlotte", "last_name": "Bronte", "username": "cbronte",
         "email": "charlotte@example.org", "user_id": "6004"},
    ]);
    let (status, preview) = api
        .post(
            "/api/imports",
            json!({"file_name": "staff.csv", "role_id": role, "hierarchy_id": root, "rows": rows}),
        )
        .await;
    assert_eq!(status, 201, "{preview}");
    let import = preview["id"].as_i64().expect("a preview id");
    let (status, done) = api
        .post(
            &format!("/api/imports/{import}/commit"),
            json!({"skip_errors": false}),
        )
        .await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(
        (done["created"].as_i64(), done["synced"].as_i64()),
        (Some(3), Some(1))
    );
    // Someone changes Mary after the import: the undo leaves her alone.
    let mary = api.user_named("mshelley").await;
    api.change_email(mary, "mary.shelley@example.org").await;

    let app = BrowserApp::start_at(server.addr).await;
    app.sign_in_as_admin(&server).await;
    app.client
        .goto(&server.url(&format!("/imports/{import}")))
        .await
        .expect("open the entry");
    app.wait_for_text("#entry-title", "Import of staff.csv")
        .await;
    app.wait_for_text("#undo-start", "Undo this import").await;
    assert!(!app.is_present("#entry-undone-by").await);

    // The preview: two to the trash can, Jane's email back, Mary left
    // alone with what changed.
    app.click("#undo-start").await;
    app.wait_for_text("#undo-preview-title", "Undo this import?")
        .await;
    app.wait_for_focus("undo-preview-title").await;
    assert_eq!(app.text("#undo-count-trash").await, "2");
    assert_eq!(app.text("#undo-count-restore").await, "1");
    assert_eq!(app.text("#undo-count-untouched").await, "1");
    let trash = app.list_texts("undo-trash-list").await.join("\n");
    assert!(
        trash.contains("aradcliffe") && trash.contains("cbronte") && !trash.contains("mshelley"),
        "{trash}"
    );
    let restore = app.list_texts("undo-restore-list").await;
    assert_eq!(restore.len(), 1, "{restore:?}");
    assert!(
        restore[0].contains("jausten") && restore[0].contains("Email"),
        "{restore:?}"
    );
    let untouched = app.list_texts("undo-untouched-list").await;
    assert_eq!(untouched.len(), 1, "{untouched:?}");
    assert!(
        untouched[0].contains("mshelley") && untouched[0].contains("Email"),
        "{untouched:?}"
    );
    assert_eq!(
        app.script("return document.querySelector('#undo-untouched-list li').dataset.reason;")
            .await,
        "changed_since"
    );
    assert_eq!(
        app.script("return document.querySelector('#undo-untouched-list a').getAttribute('href');")
            .await,
        format!("/users/{mary}")
    );
    assert!(
        !app.is_present("#undo-start").await,
        "the preview replaces the button"
    );
    app.screenshot("undo-1-preview").await;

    // Escape steps back, the focus on the button that asked; nothing undone.
    app.type_into("#undo-commit", ESCAPE).await;
    app.wait_until_absent("#undo-preview").await;
    app.wait_for_focus("undo-start").await;
    app.click("#undo-start").await;
    app.wait_for_text("#undo-count-trash", "2").await;
    app.click("#undo-cancel").await;
    app.wait_until_absent("#undo-preview").await;
    app.wait_for_focus("undo-start").await;
    assert_eq!(api.get("/api/trash").await["total"], 0, "nothing undone");

    // Behind the preview's back Charlotte changes too: Undo brings a fresh
    // preview instead of undoing.
    app.click("#undo-start").await;
    app.wait_for_text("#undo-count-trash", "2").await;
    let charlotte = api.user_named("cbronte").await;
    api.change_email(charlotte, "c.bronte@example.org").await;
    app.click("#undo-commit").await;
    app.wait_for_text("#undo-stale", "The user directory changed")
        .await;
    assert_eq!(app.text("#undo-count-trash").await, "1");
    assert_eq!(app.text("#undo-count-untouched").await, "2");
    assert_eq!(api.get("/api/trash").await["total"], 0, "nothing undone");
    app.screenshot("undo-2-stale").await;

    // Undo: the result, with a link to the undo's own entry.
    app.click("#undo-commit").await;
    app.wait_for_text("#undo-result", "Import undone").await;
    let result = app.text("#undo-result").await;
    assert!(
        result.contains("1 user moved to the trash can")
            && result.contains("1 user given their earlier values back")
            && result.contains("2 users left alone"),
        "{result}"
    );
    let href = app
        .script("return document.querySelector('#undo-entry-link').getAttribute('href');")
        .await;
    let undo: i64 = href
        .as_str()
        .and_then(|h| h.strip_prefix("/imports/"))
        .and_then(|id| id.parse().ok())
        .unwrap_or_else(|| panic!("a link to the undo's entry: {href}"));
    assert_ne!(undo, import);
    app.wait_for_focus("undo-entry-link").await;
    // The entry says it was undone, and offers no second undo.
    app.wait_for_text("#entry-undone-by", &format!("Undone by import {undo}"))
        .await;
    assert!(!app.is_present("#undo-start").await);
    app.screenshot("undo-3-done").await;

    // The directory: Ann in the trash can; Mary and Charlotte left alone;
    // Jane's earlier email back.
    let trash = api.get("/api/trash").await;
    let trashed: Vec<&str> = trash["users"]
        .as_array()
        .map(|u| u.iter().filter_map(|u| u["username"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(trashed, ["aradcliffe"], "{trash}");
    let mary_now = api.get(&format!("/api/users/{mary}")).await;
    assert_eq!(mary_now["email"], "mary.shelley@example.org");
    let charlotte_now = api.get(&format!("/api/users/{charlotte}")).await;
    assert_eq!(charlotte_now["email"], "c.bronte@example.org");
    let jane_now = api.get(&format!("/api/users/{jane}")).await;
    assert_eq!(jane_now["email"], "jane.old@example.org");

    // A second undo is refused by the server too.
    let (status, refused) = api
        .post(
            &format!("/api/imports/{import}/undo/commit"),
            json!({"fingerprint": "any"}),
        )
        .await;
    assert_eq!(status, 409, "{refused}");
    assert_eq!(refused["error"]["code"], "already_undone", "{refused}");

    // The undo's own entry links back, and cannot be undone itself.
    app.click("#undo-entry-link").await;
    app.wait_for_path(&format!("/imports/{undo}")).await;
    app.wait_for_text("#entry-undo-of", &format!("Undo of import {import}"))
        .await;
    assert!(!app.is_present("#undo-start").await);
    assert!(!app.is_present("#undo-result").await, "a new page");
    app.screenshot("undo-4-undo-entry").await;
    app.click("#entry-undo-of a").await;
    app.wait_for_path(&format!("/imports/{import}")).await;
    app.wait_for_text("#entry-undone-by", &format!("Undone by import {undo}"))
        .await;
    assert!(!app.is_present("#undo-start").await);
    app.finish().await;
}

/// What the page says when the server refuses the preview: its own reason.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_undo_the_server_refuses_says_why() {
    let _turn = crate::ONE_BROWSER_AT_A_TIME.lock().await;
    let server = RosterServer::start().await;
    let api = Api::sign_in(&server).await;
    let (role, root) = api.role_and_root().await;
    let rows = json!([
        {"row": 2, "first_name": "Mary", "last_name": "Shelley", "username": "mshelley",
         "email": "mary@example.org", "user_id": "6001"},
    ]);
    let (status, preview) = api
        .post(
            "/api/imports",
            json!({"file_name": "one.csv", "role_id": role, "hierarchy_id": root, "rows": rows}),
        )
        .await;
    assert_eq!(status, 201, "{preview}");
    let import = preview["id"].as_i64().expect("a preview id");
    let (status, done) = api
        .post(
            &format!("/api/imports/{import}/commit"),
            json!({"skip_errors": false}),
        )
        .await;
    assert_eq!(status, 200, "{done}");

    let app = BrowserApp::start_at(server.addr).await;
    app.sign_in_as_admin(&server).await;
    app.client
        .goto(&server.url(&format!("/imports/{import}")))
        .await
        .expect("open the entry");
    app.wait_for_text("#undo-start", "Undo this import").await;
    app.click("#undo-start").await;
    app.wait_for_text("#undo-count-trash", "1").await;
    // Undone elsewhere (another tab) while this preview is open.
    let (status, other) = api
        .post(&format!("/api/imports/{import}/undo"), json!({}))
        .await;
    assert_eq!(status, 200, "{other}");
    let (status, undone) = api
        .post(
            &format!("/api/imports/{import}/undo/commit"),
            json!({"fingerprint": other["fingerprint"]}),
        )
        .await;
    assert_eq!(status, 200, "{undone}");
    app.click("#undo-commit").await;
    // The server's reason, the preview gone, and the entry's link to the
    // undo that came first.
    app.wait_for_text("#undo-error", "undone").await;
    app.wait_until_absent("#undo-preview").await;
    let first = undone["undo_import_id"].as_i64().expect("the undo's id");
    app.wait_for_text("#entry-undone-by", &format!("Undone by import {first}"))
        .await;
    assert!(!app.is_present("#undo-start").await);
    app.screenshot("undo-5-refused").await;
    app.finish().await;
}
