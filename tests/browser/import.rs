//! "Import users" against the REAL `roster serve`: the file is checked in
//! the browser, only its checked rows go to `POST /api/imports` as JSON,
//! the preview, Import with the rows with errors skipped, the result.

use std::time::Instant;

use serde_json::Value;

use crate::ScratchDir;
use crate::admin::{Api, RosterServer};
use crate::files;
use crate::helpers::BrowserApp;

/// Records the method, URL and body of every `fetch` the page makes.
const FETCH_RECORDER: &str = "\
    window.__requests = []; \
    const original = window.fetch.bind(window); \
    window.fetch = async (input, init) => { \
        const request = new Request(input, init); \
        const body = request.method === 'GET' ? '' : await request.clone().text(); \
        window.__requests.push({ method: request.method, url: request.url, body, \
            type: request.headers.get('Content-Type') }); \
        return original(request); \
    };";

impl BrowserApp {
    /// The fetches recorded by [`FETCH_RECORDER`].
    async fn recorded_requests(&self) -> Vec<Value> {
        self.script("return window.__requests || [];")
            .await
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// The paths of the page's fetched resources (Resource Timing API).
    async fn resource_paths(&self) -> Vec<String> {
        self.script(
            "return performance.getEntriesByType('resource').map(e => new URL(e.name).pathname);",
        )
        .await
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_administrator_imports_a_file_skipping_the_row_with_an_error() {
    let started = Instant::now();
    let _turn = crate::ONE_BROWSER_AT_A_TIME.lock().await;
    let server = RosterServer::start().await;
    let api = Api::sign_in(&server).await;
    api.create_role("Pupil", &["restore_users"]).await;
    let dir = ScratchDir::new("import");
    let file = files::people_to_import(&dir.0);
    let file_bytes = std::fs::read(&file).expect("the file");

    let app = BrowserApp::start_at(server.addr).await;
    app.sign_in_as_admin(&server).await;
    assert!(app.nav_links().await.contains(&"Import users".to_string()));

    // The top bar leads to the import page (same app: the recorder stays).
    app.script(FETCH_RECORDER).await;
    app.click(".topbar a[href='/import']").await;
    app.wait_for_path("/import").await;
    app.wait_for_text("main h1", "Import users").await;
    app.wait_for_text("#status", "No file chosen yet.").await;
    assert_eq!(
        app.script("return document.querySelector('#template-link').getAttribute('href');")
            .await,
        "/api/import/template"
    );

    // Steps 1–3 are the check page's: the error is shown before anything
    // is sent.
    app.choose_file(&file).await;
    app.wait_for_report().await;
    app.wait_for_text("#check-summary", "import-people.xlsx")
        .await;
    app.wait_for_text("#row-grid", "emily@example").await;
    assert!(
        !app.resource_paths()
            .await
            .iter()
            .any(|p| p.starts_with("/api/imports")),
        "nothing is sent before Try Import"
    );
    app.screenshot("import-1-checked").await;

    // Step 4: role and start hierarchy, Try Import, the preview.
    app.wait_for_text("#import-role", "Pupil").await;
    app.select("#import-role", "Pupil").await;
    app.click("#try-import").await;
    app.wait_for_text("#preview-rows", "4").await;
    assert_eq!(app.text("#preview-create").await, "3");
    assert_eq!(app.text("#preview-errors").await, "1");
    assert!(app.text("#preview-error-list").await.contains("Row 4:"));
    assert!(app.text("#preview-node-list").await.contains("Class A"));
    app.screenshot("import-2-preview").await;

    // The POST carried the rows as JSON, not the file.
    let posts: Vec<Value> = app
        .recorded_requests()
        .await
        .into_iter()
        .filter(|r| {
            r["method"] == "POST" && r["url"].as_str().unwrap_or("").ends_with("/api/imports")
        })
        .collect();
    assert_eq!(posts.len(), 1, "one Try Import: {posts:?}");
    assert_eq!(posts[0]["type"], "application/json");
    let body_text = posts[0]["body"].as_str().expect("a text body");
    assert!(!body_text.starts_with("PK"), "not the .xlsx's bytes");
    assert!(body_text.len() < file_bytes.len() * 2);
    let body: Value = serde_json::from_str(body_text).expect("a JSON body");
    assert_eq!(body["file_name"], "import-people.xlsx");
    let rows = body["rows"].as_array().expect("rows");
    assert_eq!(rows.len(), 4);
    assert_eq!(rows[0]["row"], 2);
    assert_eq!(rows[0]["username"], "mshelley");
    assert_eq!(rows[2]["email"], "emily@example");
    assert!(
        app.resource_paths()
            .await
            .iter()
            .any(|p| p == "/api/imports"),
        "the Resource Timing API saw the POST"
    );

    // Step 5: Import asks about the row with errors first.
    app.click("#import-commit").await;
    app.wait_for_text("[role=alertdialog]", "Skip the rows with errors?")
        .await;
    app.screenshot("import-3-confirm-skip").await;
    app.click("#confirm-skip").await;
    app.wait_for_text("#import-result", "Imported").await;
    assert_eq!(app.text("#result-created").await, "3");
    assert_eq!(app.text("#result-synced").await, "0");
    assert_eq!(app.text("#result-skipped").await, "1");
    let errors_link = app
        .script("return document.querySelector('#errors-download').getAttribute('href');")
        .await;
    assert!(
        errors_link
            .as_str()
            .is_some_and(|h| h.starts_with("/api/imports/") && h.ends_with("/errors.xlsx")),
        "{errors_link}"
    );
    app.screenshot("import-4-result").await;

    // The users are in the directory; the row with an error is not.
    let found = api.get("/api/users?q=jausten").await;
    assert_eq!(found["total"], 1, "{found}");
    let found = api.get("/api/users?q=ebronte").await;
    assert_eq!(found["total"], 0, "{found}");

    app.finish().await;
    drop(server);
    eprintln!("import test took {:?}", started.elapsed());
}
