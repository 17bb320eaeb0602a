//! "Import users" against the REAL `roster serve`: the file is checked in
//! the browser, only its checked rows go to `POST /api/imports` as JSON,
//! the preview, Import with the rows with errors skipped, the result.

use std::time::Instant;

use serde_json::{Value, json};

use crate::ScratchDir;
use crate::admin::{Api, RosterServer};
use crate::files;
use crate::helpers::{BrowserApp, ENTER};

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
    app.wait_for_text("#import-node", "Root").await;
    app.select("#import-role", "Pupil").await;
    app.select("#import-node", "Root").await;
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

/// SPEC 4b against the directory: Try Import names a user already there
/// whom a row would create again (same name and email, another username),
/// beside the errors, and imports the row all the same; then the Users
/// page leads to the possible duplicates, where both are listed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn try_import_names_an_existing_user_as_a_possible_duplicate() {
    let _turn = crate::ONE_BROWSER_AT_A_TIME.lock().await;
    let server = RosterServer::start().await;
    let api = Api::sign_in(&server).await;
    let placed = api.role_and_root().await;
    // Mary Shelley of the file, already here as `mary.s`.
    let mary = api
        .create_user(
            placed,
            json!({"first_name": "Mary", "last_name": "SHELLEY", "username": "mary.s",
                   "email": "Mary@Example.org", "user_id": "9001"}),
        )
        .await;
    let dir = ScratchDir::new("import-duplicate");
    let file = files::people_to_import(&dir.0);

    let app = BrowserApp::start_at(server.addr).await;
    app.sign_in_as_admin(&server).await;
    app.check_for_import(&file).await;
    app.select("#import-role", "Administrator").await;
    app.select("#import-node", "Root").await;
    app.click("#try-import").await;
    app.wait_for_text("#preview-rows", "4").await;
    assert_eq!(app.text("#preview-warnings").await, "1");
    assert_eq!(app.text("#preview-errors").await, "1");
    let listed = app.text("#preview-warning-list").await;
    assert!(
        listed.contains(
            "Warning: Row 2: Username: may be the same person as mary.s (user ID 9001), already in the directory"
        ),
        "{listed}"
    );
    // Beside the errors, with the warning's icon.
    assert_eq!(
        app.script(
            "return document.querySelectorAll('#preview-warning-list li svg.icon-warning').length;"
        )
        .await,
        1
    );
    app.screenshot("import-duplicate-preview").await;
    app.click("#import-commit").await;
    app.wait_for_text("[role=alertdialog]", "Skip the rows with errors?")
        .await;
    app.click("#confirm-skip").await;
    app.wait_for_text("#import-result", "Imported").await;
    assert_eq!(app.text("#result-created").await, "3");

    // The Users page links to the possible duplicates: both Marys.
    app.click(".topbar a[href='/users']").await;
    app.wait_for_path("/users").await;
    app.click("#duplicates-link").await;
    app.wait_for_path("/users/duplicates").await;
    app.wait_for_text("#duplicates-status", "1 group of possible duplicates.")
        .await;
    let group = app.text(".duplicate-group").await;
    assert!(
        group.contains("mary.s") && group.contains("mshelley"),
        "{group}"
    );
    assert!(group.contains("9001") && group.contains("5001"), "{group}");
    app.screenshot("duplicates-page").await;
    // Each username links to the user's page.
    app.click(&format!(".duplicate-group a[href='/users/{mary}']"))
        .await;
    app.wait_for_path(&format!("/users/{mary}")).await;
    app.finish().await;
}

impl BrowserApp {
    /// Signs in on the sign-in page as `username`; waits to leave it.
    async fn sign_in_as(&self, server: &RosterServer, username: &str, password: &str) {
        self.client
            .goto(&server.url("/sign-in"))
            .await
            .expect("open /sign-in");
        self.wait_for_text("main h1", "Sign in").await;
        self.type_into("#username", username).await;
        self.type_into("#password", &format!("{password}{ENTER}"))
            .await;
        self.wait_for_path("/users").await;
    }

    /// Opens "Import users" from the top bar, chooses `file` and waits for
    /// its check and for the role and node pickers to be filled.
    async fn check_for_import(&self, file: &std::path::Path) {
        self.click(".topbar a[href='/import']").await;
        self.wait_for_path("/import").await;
        self.wait_for_text("#status", "No file chosen yet.").await;
        self.choose_file(file).await;
        self.wait_for_report().await;
        self.wait_for_text("#import-role", "Administrator").await;
        self.wait_for_text("#import-node", "Root").await;
    }

    /// An attribute of the first element matching `css` (null if none).
    async fn attribute(&self, css: &str, name: &str) -> Value {
        self.script(&format!(
            "const e = document.querySelector({}); return e ? e.getAttribute({}) : null;",
            json!(css),
            json!(name)
        ))
        .await
    }

    /// How many `POST /api/imports` (Try Import) the page has sent.
    async fn try_imports_sent(&self) -> usize {
        self.resource_paths()
            .await
            .iter()
            .filter(|p| *p == "/api/imports")
            .count()
    }
}

/// The import page chooses no role and no start node for the
/// administrator: Try Import without them says, beside each picker, what
/// is missing, and sends nothing. The grid masks passwords here too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn try_import_needs_a_role_and_a_node_chosen_by_hand() {
    let _turn = crate::ONE_BROWSER_AT_A_TIME.lock().await;
    let server = RosterServer::start().await;
    let api = Api::sign_in(&server).await;
    api.create_role("Pupil", &["restore_users"]).await;
    let dir = ScratchDir::new("import-choices");
    let file = files::people_with_passwords(&dir.0);

    let app = BrowserApp::start_at(server.addr).await;
    app.sign_in_as_admin(&server).await;
    app.check_for_import(&file).await;
    app.wait_for_text("#import-role", "Pupil").await;
    assert_eq!(app.selected("#import-role").await, "Choose a role…");
    assert_eq!(app.selected("#import-node").await, "Choose where…");
    let page = app.page_html().await;
    for (row, password) in files::PASSWORDS {
        assert!(!page.contains(password), "row {row}'s password is shown");
    }

    // Neither chosen: both pickers say so, the role's takes the focus.
    app.click("#try-import").await;
    app.wait_for_text(
        "#import-role-error",
        "Choose the role every imported user gets",
    )
    .await;
    app.wait_for_text(
        "#import-node-error",
        "Choose the hierarchy node the imported users go under",
    )
    .await;
    for picker in ["import-role", "import-node"] {
        let css = format!("#{picker}");
        assert_eq!(app.attribute(&css, "aria-invalid").await, "true");
        assert_eq!(
            app.attribute(&css, "aria-describedby").await,
            format!("{picker}-error")
        );
    }
    assert_eq!(
        app.script("return !!document.querySelector('#import-role-error svg.icon-error');")
            .await,
        true
    );
    app.wait_for_focus("import-role").await;
    app.screenshot("import-5-choose-role-and-node").await;

    // The role alone: only the node is asked for.
    app.select("#import-role", "Pupil").await;
    app.click("#try-import").await;
    app.wait_for_focus("import-node").await;
    assert_eq!(app.text("#import-role-error").await, "");
    assert_eq!(
        app.attribute("#import-role", "aria-invalid").await,
        Value::Null
    );
    assert!(
        app.text("#import-node-error")
            .await
            .contains("Choose the hierarchy node")
    );
    // Nothing was sent: no request, no preview on the server.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(app.try_imports_sent().await, 0);
    assert_eq!(app.text("#import-preview").await, "");
    assert_eq!(api.get_status("/api/imports/1").await, 404);

    // Both chosen: the preview, for the role chosen.
    app.select("#import-node", "Root").await;
    assert_eq!(app.text("#import-node-error").await, "");
    app.click("#try-import").await;
    app.wait_for_text("#preview-rows", "3").await;
    assert_eq!(app.try_imports_sent().await, 1);
    let id = app
        .script("return document.querySelector('#import-preview').dataset.importId;")
        .await;
    let id = id.as_str().expect("the preview's id");
    assert_eq!(
        api.get(&format!("/api/imports/{id}")).await["role_name"],
        "Pupil"
    );
    app.finish().await;
}

/// A 403 shows the server's own reason, not a bare refusal: a user who may
/// import but may not give the Administrator role is told so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_try_import_shows_the_servers_reason() {
    const IMPORTER_PASSWORD: &str = "an-importer-password-9";
    let _turn = crate::ONE_BROWSER_AT_A_TIME.lock().await;
    let server = RosterServer::start().await;
    let api = Api::sign_in(&server).await;
    let importer = api.create_role("Importer", &["manage_users"]).await;
    let (_, root) = api.role_and_root().await;
    api.create_user(
        (importer, root),
        json!({
            "first_name": "Ida", "last_name": "Importer", "username": "importer",
            "email": "ida@example.org", "user_id": "9001", "password": IMPORTER_PASSWORD,
        }),
    )
    .await;
    let dir = ScratchDir::new("import-refused");
    let file = files::people_with_passwords(&dir.0);

    let app = BrowserApp::start_at(server.addr).await;
    app.sign_in_as(&server, "importer", IMPORTER_PASSWORD).await;
    app.check_for_import(&file).await;
    app.select("#import-role", "Administrator").await;
    app.select("#import-node", "Root").await;
    app.click("#try-import").await;
    app.wait_for_text(
        "#import-error",
        "You cannot give this role: it needs permissions your role lacks.",
    )
    .await;
    assert!(!app.text("#import-error").await.contains("not allowed"));
    app.screenshot("import-6-refused-role").await;
    app.finish().await;
}
