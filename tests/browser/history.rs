//! The import history and the rest of the import flow against the REAL
//! `roster serve`: the result links to its history entry (values of created
//! users, "before → after" of a changed one), the /imports list, Cancel,
//! the 409 of a stale preview, and a correction after Try Import that
//! discards the preview.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::ScratchDir;
use crate::admin::{Api, RosterServer};
use crate::helpers::{BrowserApp, STEP_TIMEOUT};

const HEADERS: &str = "First Name,Last Name,Username,Email,User ID";

/// Three valid users; `first` is the first one's first name.
fn staff_file(dir: &Path, name: &str, first: &str) -> PathBuf {
    let text = format!(
        "{HEADERS}\n\
         {first},Shelley,mshelley,mary@example.org,6001\n\
         Jane,Austen,jausten,jane@example.org,6002\n\
         Ann,Radcliffe,aradcliffe,ann@example.org,6003\n"
    );
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write the file");
    path
}

impl BrowserApp {
    /// Signs in as admin and opens "Import users" from the top bar.
    async fn sign_in_and_open_import(&self, server: &RosterServer) {
        self.sign_in_as_admin(server).await;
        self.open_import().await;
    }

    async fn open_import(&self) {
        self.click(".topbar a[href='/import']").await;
        self.wait_for_path("/import").await;
        self.wait_for_text("#status", "No file chosen yet.").await;
    }

    /// Chooses `file`, waits for its check, then presses Try Import and
    /// waits for the preview.
    async fn try_import(&self, file: &Path) {
        self.choose_file(file).await;
        self.wait_for_report().await;
        self.wait_for_text("#import-role", "Administrator").await;
        self.wait_for_text("#import-node", "Root").await;
        self.select("#import-role", "Administrator").await;
        self.select("#import-node", "Root").await;
        self.click("#try-import").await;
        self.wait_for_text("#preview-rows", "3").await;
    }

    /// Whether an element matching `css` is in the page.
    async fn present(&self, css: &str) -> bool {
        self.script(&format!("return !!document.querySelector({});", json!(css)))
            .await
            == true
    }

    async fn wait_until_gone(&self, css: &str) {
        let deadline = Instant::now() + STEP_TIMEOUT;
        while self.present(css).await {
            assert!(Instant::now() < deadline, "{css} is still there");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The `href` of the first element matching `css`.
    async fn href(&self, css: &str) -> String {
        let script = format!(
            "const e = document.querySelector({}); return e ? e.getAttribute('href') : '';",
            json!(css)
        );
        self.script(&script)
            .await
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// Follows the result's link to the import's history entry; its id.
    async fn open_history_entry(&self) -> i64 {
        let href = self.href("#history-link").await;
        let id: i64 = href
            .strip_prefix("/imports/")
            .and_then(|id| id.parse().ok())
            .unwrap_or_else(|| panic!("a link to the history entry: {href:?}"));
        self.click("#history-link").await;
        self.wait_for_path(&href).await;
        self.wait_for_text("#entry-title", "Import of").await;
        id
    }
}

impl Api<'_> {
    /// The status of `GET /api/imports/{id}`: 200 while the preview waits,
    /// 404 once it is cancelled.
    async fn preview_status(&self, id: i64) -> u16 {
        self.get_status(&format!("/api/imports/{id}")).await
    }

    async fn user_count(&self) -> i64 {
        self.get("/api/users?q=").await["total"]
            .as_i64()
            .expect("a total")
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_result_leads_to_the_history_entry_with_values_before_and_after() {
    let _turn = crate::ONE_BROWSER_AT_A_TIME.lock().await;
    let server = RosterServer::start().await;
    let api = Api::sign_in(&server).await;
    let dir = ScratchDir::new("history");
    let first = staff_file(&dir.0, "staff.csv", "Mary");
    let second = staff_file(&dir.0, "staff-renamed.csv", "Maria");

    let app = BrowserApp::start_at(server.addr).await;
    app.sign_in_and_open_import(&server).await;
    assert!(
        app.nav_links()
            .await
            .contains(&"Import history".to_string())
    );

    // The first import creates three users; its result links to its entry.
    app.try_import(&first).await;
    assert_eq!(app.text("#preview-create").await, "3");
    app.click("#import-commit").await;
    app.wait_for_text("#import-result", "Imported").await;
    assert_eq!(app.text("#result-created").await, "3");
    assert!(
        app.text("#import-result")
            .await
            .contains("View this import in the history")
    );
    app.screenshot("history-1-result").await;
    let first_id = app.open_history_entry().await;
    app.wait_for_text("#entry-created", "3").await;
    assert_eq!(app.text("#entry-title").await, "Import of staff.csv");
    assert_eq!(app.text("#fact-file").await, "staff.csv");
    assert_eq!(app.text("#fact-by").await, "admin");
    assert_eq!(app.text("#fact-role").await, "Administrator");
    assert_eq!(app.text("#fact-hierarchy").await, "Root");
    assert_eq!(app.text("#fact-sha256").await.len(), 64);
    assert_eq!(app.text("#entry-synced").await, "0");
    app.wait_for_text("#entry-status", "3 users created or changed.")
        .await;
    // A created user: every value, a link to the user, no password.
    let mary = "#changes-table tr[data-row='2']";
    assert_eq!(
        app.script(&format!(
            "return document.querySelector(\"{mary}\").dataset.action;"
        ))
        .await,
        "create"
    );
    let mary_text = app.text(mary).await;
    for expected in [
        "Created",
        "Mary Shelley (mshelley)",
        "First Name: Mary",
        "Email: mary@example.org",
        "User ID: 6001",
        "Role: Administrator",
        "Placed in: Root",
        "Password: not set",
    ] {
        assert!(
            mary_text.contains(expected),
            "{expected:?} in {mary_text:?}"
        );
    }
    let user_link = app.href(&format!("{mary} a")).await;
    assert!(user_link.starts_with("/users/"), "{user_link}");
    assert!(
        !app.text("#changes-table").await.contains('→'),
        "nothing changed"
    );
    app.screenshot("history-2-entry-created").await;

    // The second file renames Mary: one user synchronised with a change,
    // two unchanged (not listed).
    app.open_import().await;
    app.try_import(&second).await;
    assert_eq!(app.text("#preview-sync").await, "3");
    assert_eq!(app.text("#preview-unchanged").await, "2");
    app.click("#import-commit").await;
    app.wait_for_text("#import-result", "Imported").await;
    let second_id = app.open_history_entry().await;
    assert_ne!(first_id, second_id);
    app.wait_for_text("#entry-synced", "3").await;
    assert_eq!(app.text("#entry-unchanged").await, "2");
    assert_eq!(app.text("#entry-created").await, "0");
    app.wait_for_text("#entry-status", "1 user created or changed.")
        .await;
    let rows = app
        .script("return [...document.querySelectorAll('#changes-table tbody tr')].map(r => [r.dataset.row, r.dataset.action]);")
        .await;
    assert_eq!(rows, json!([["2", "sync"]]));
    let changed = "#changes-table tr[data-row='2']";
    assert!(app.text(changed).await.contains("Maria Shelley (mshelley)"));
    // Only the value that changed, as before → after.
    let fields = app
        .script(&format!(
            "return [...document.querySelectorAll(\"{changed} li\")].map(li => li.dataset.field);"
        ))
        .await;
    assert_eq!(fields, json!(["first_name"]));
    let line = format!("{changed} li[data-field='first_name']");
    let line_text = app.text(&line).await;
    assert!(
        line_text.starts_with("First Name: Mary →") && line_text.ends_with("Maria"),
        "{line_text:?}"
    );
    assert_eq!(app.text(&format!("{line} del")).await, "Mary");
    assert_eq!(app.text(&format!("{line} ins")).await, "Maria");
    app.screenshot("history-3-entry-before-after").await;

    // Both imports in the history, newest first, each linking to its entry.
    app.click(".topbar a[href='/imports']").await;
    app.wait_for_path("/imports").await;
    app.wait_for_text("#history-status", "2 imports.").await;
    let listed = app
        .script(
            "return [...document.querySelectorAll('#history-table tbody tr')].map(r => \
             [Number(r.dataset.import), r.dataset.state, \
              r.querySelector('[data-count=created]').textContent, \
              r.querySelector('[data-count=synced]').textContent, \
              r.querySelector('a').getAttribute('href')]);",
        )
        .await;
    assert_eq!(
        listed,
        json!([
            [second_id, "done", "0", "3", format!("/imports/{second_id}")],
            [first_id, "done", "3", "0", format!("/imports/{first_id}")],
        ])
    );
    let table = app.text("#history-table").await;
    for expected in [
        "staff-renamed.csv",
        "staff.csv",
        "admin",
        "Root",
        "Imported",
    ] {
        assert!(table.contains(expected), "{expected:?} in {table:?}");
    }
    app.screenshot("history-4-list").await;
    app.click(&format!("#history-table a[href='/imports/{first_id}']"))
        .await;
    app.wait_for_text("#entry-title", "Import of staff.csv")
        .await;

    // The server's answer holds no password either.
    let detail: Value = api.get(&format!("/api/imports/{first_id}")).await;
    let text = detail.to_string();
    assert!(
        !text.contains("\"password\"") && !text.contains("hash"),
        "{text}"
    );

    app.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_discards_the_preview_and_writes_nothing() {
    let _turn = crate::ONE_BROWSER_AT_A_TIME.lock().await;
    let server = RosterServer::start().await;
    let api = Api::sign_in(&server).await;
    let dir = ScratchDir::new("history-cancel");
    let file = staff_file(&dir.0, "staff.csv", "Mary");

    let app = BrowserApp::start_at(server.addr).await;
    app.sign_in_and_open_import(&server).await;
    app.try_import(&file).await;
    let id = shown_preview_id(&app).await;
    assert_eq!(api.preview_status(id).await, 200, "the preview waits");
    app.screenshot("history-5-before-cancel").await;

    app.click("#import-cancel").await;
    app.wait_until_gone("#import-preview").await;
    // Back at step 4: Try Import is offered again.
    assert!(app.present("#try-import:not([disabled])").await);
    assert!(!app.present("#import-commit").await);
    // The server forgot the preview (404, not a state) and wrote nothing.
    assert_eq!(api.preview_status(id).await, 404);
    assert_eq!(api.user_count().await, 1, "only admin");
    app.screenshot("history-6-cancelled").await;

    // The history has nothing to show.
    app.click(".topbar a[href='/imports']").await;
    app.wait_for_text("#history-status", "No import yet.").await;
    app.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_preview_is_replaced_and_then_imported() {
    let _turn = crate::ONE_BROWSER_AT_A_TIME.lock().await;
    let server = RosterServer::start().await;
    let api = Api::sign_in(&server).await;
    let placed = api.role_and_root().await;
    let dir = ScratchDir::new("history-stale");
    let file = staff_file(&dir.0, "staff.csv", "Mary");

    let app = BrowserApp::start_at(server.addr).await;
    app.sign_in_and_open_import(&server).await;
    app.try_import(&file).await;
    assert_eq!(app.text("#preview-create").await, "3");

    // Behind the page's back, jausten appears in the directory: row 3 is a
    // sync now, not a create.
    api.create_user(
        placed,
        json!({
            "first_name": "Jane", "last_name": "Austen", "username": "jausten",
            "email": "jane.austen@example.org", "user_id": "7002",
        }),
    )
    .await;
    app.click("#import-commit").await;
    app.wait_for_text("#stale-preview", "The user directory changed")
        .await;
    assert_eq!(app.text("#preview-create").await, "2");
    assert_eq!(app.text("#preview-sync").await, "1");
    assert!(app.text("#preview-sync-list").await.contains("jausten"));
    assert_eq!(api.user_count().await, 2, "nothing imported");
    app.screenshot("history-7-stale-preview").await;

    // Import again: the fresh preview is applied.
    app.click("#import-commit").await;
    app.wait_for_text("#import-result", "Imported").await;
    assert_eq!(app.text("#result-created").await, "2");
    assert_eq!(app.text("#result-synced").await, "1");
    assert_eq!(api.user_count().await, 4);
    app.open_history_entry().await;
    app.wait_for_text("#entry-status", "3 users created or changed.")
        .await;
    let jane = app.text("#changes-table tr[data-row='3']").await;
    assert!(jane.contains("Synchronised"), "{jane}");
    assert!(jane.contains("Email: jane.austen@example.org →"), "{jane}");
    assert!(jane.contains("User ID: 7002 →"), "{jane}");
    app.screenshot("history-8-after-stale").await;
    app.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_correction_after_try_import_discards_the_preview() {
    let _turn = crate::ONE_BROWSER_AT_A_TIME.lock().await;
    let server = RosterServer::start().await;
    let api = Api::sign_in(&server).await;
    api.create_role("Pupil", &["restore_users"]).await;
    let dir = ScratchDir::new("history-correction");
    // Row 4's email has no dot in its domain.
    let file = dir.0.join("staff.csv");
    let text = std::fs::read_to_string(staff_file(&dir.0, "staff.csv", "Mary"))
        .expect("the file")
        .replace("ann@example.org", "ann@example");
    std::fs::write(&file, text).expect("write the file");

    let app = BrowserApp::start_at(server.addr).await;
    app.sign_in_and_open_import(&server).await;
    app.try_import(&file).await;
    assert_eq!(app.text("#preview-errors").await, "1");
    let id = shown_preview_id(&app).await;
    assert_eq!(api.preview_status(id).await, 200, "the preview waits");

    // Correct the cell in the grid: the preview goes, here and on the
    // server.
    app.correct_cell(4, "email", "ann@example.org").await;
    app.wait_for_text("#preview-discarded", "Press Try Import again")
        .await;
    assert!(!app.present("#import-preview").await);
    assert!(!app.present("#import-commit").await);
    let deadline = Instant::now() + STEP_TIMEOUT;
    while api.preview_status(id).await != 404 {
        assert!(Instant::now() < deadline, "the preview was not cancelled");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    app.screenshot("history-9-correction-discards").await;

    // Try Import again: a preview of the corrected rows.
    app.click("#try-import").await;
    app.wait_for_text("#preview-create", "3").await;
    assert!(!app.present("#preview-discarded").await);
    // Another role discards it too.
    app.select("#import-role", "Pupil").await;
    app.wait_for_text("#preview-discarded", "Press Try Import again")
        .await;
    assert!(!app.present("#import-preview").await);
    app.click("#try-import").await;
    app.wait_for_text("#preview-create", "3").await;
    app.click("#import-commit").await;
    app.wait_for_text("#import-result", "Imported").await;
    let found = api.get("/api/users?q=aradcliffe").await;
    assert_eq!(found["users"][0]["email"], "ann@example.org", "{found}");
    let pupil = api.get("/api/roles").await["roles"]
        .as_array()
        .and_then(|r| r.iter().find(|r| r["name"] == "Pupil"))
        .and_then(|r| r["id"].as_i64())
        .expect("the Pupil role");
    assert_eq!(found["users"][0]["role_id"], pupil, "the role chosen last");
    app.finish().await;
}

/// The id of the preview the page shows (`data-import-id`).
async fn shown_preview_id(app: &BrowserApp) -> i64 {
    let id = app
        .script("return document.querySelector('#import-preview').dataset.importId;")
        .await;
    id.as_str()
        .and_then(|id| id.parse().ok())
        .unwrap_or_else(|| panic!("no preview id on the page: {id}"))
}
