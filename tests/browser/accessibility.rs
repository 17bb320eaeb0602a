//! Every page, in the states an administrator sees, checked by axe-core
//! against WCAG 2.1 A and AA: the check page before and after a file with
//! errors, sign-in, users, one user, trash can, roles, hierarchy, regional
//! settings, the import steps (report, preview, the skip dialog, the
//! result), the import history and one entry with its undo (the preview,
//! a fresh one, the result, the undo's own entry), and "page not found".
//!
//! axe-core comes from the npm registry (`tests/browser/package.json`,
//! installed by scripts/setup.sh) and is injected into the page under test.

use std::path::PathBuf;

use serde_json::{Value, json};

use crate::admin::{Api, RosterServer};
use crate::helpers::{BrowserApp, STEP_TIMEOUT};
use crate::{ScratchDir, files};

/// The rule sets of WCAG 2.0 and 2.1, levels A and AA.
const WCAG_21_AA: [&str; 4] = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"];

fn axe_source() -> String {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("browser/node_modules/axe-core/axe.min.js");
    std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; run `bash scripts/setup.sh` (it installs axe-core with npm)",
            path.display()
        )
    })
}

impl BrowserApp {
    /// Runs axe-core on the whole page as it is now; fails the test with
    /// each violation (rule, impact, help, the elements) if any.
    async fn assert_accessible(&self, axe: &str, state: &str) {
        let list = self.wcag_violations(axe, state).await;
        assert!(
            list.is_empty(),
            "{state}: {} WCAG 2.1 AA violation(s):\n{}",
            list.len(),
            serde_json::to_string_pretty(&Value::Array(list.clone())).unwrap_or_default()
        );
        eprintln!("axe-core: {state}: no violation");
    }

    /// axe-core's WCAG 2.1 A/AA violations on the page as it is now.
    async fn wcag_violations(&self, axe: &str, state: &str) -> Vec<Value> {
        if self.script("return typeof window.axe;").await != "object" {
            self.script(axe).await;
        }
        let run = format!(
            "const done = arguments[arguments.length - 1];
             axe.run(document, {{ runOnly: {{ type: 'tag', values: {} }}, resultTypes: ['violations'] }})
                .then(r => done(r.violations.map(v => ({{
                    id: v.id, impact: v.impact, help: v.help,
                    nodes: v.nodes.slice(0, 5).map(n => n.target.join(' ') + ': ' + n.failureSummary),
                }}))))
                .catch(e => done([{{ id: 'axe-failed', help: String(e) }}]));",
            json!(WCAG_21_AA)
        );
        let violations =
            tokio::time::timeout(STEP_TIMEOUT, self.client.execute_async(&run, vec![]))
                .await
                .unwrap_or_else(|_| panic!("axe-core did not finish on {state}"))
                .unwrap_or_else(|e| panic!("axe-core failed on {state}: {e}"));
        violations.as_array().cloned().unwrap_or_default()
    }

    async fn goto(&self, server: &RosterServer, path: &str) {
        self.client
            .goto(&server.url(path))
            .await
            .unwrap_or_else(|e| panic!("open {path}: {e}"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_passes_wcag_21_aa() {
    let _turn = crate::ONE_BROWSER_AT_A_TIME.lock().await;
    let axe = axe_source();
    let scratch = ScratchDir::new("accessibility");
    let with_errors = files::people_with_errors(&scratch.0);
    let to_import = files::people_to_import(&scratch.0);

    let server = RosterServer::start().await;
    let api = Api::sign_in(&server).await;
    api.create_role("Pupil", &["restore_users"]).await;
    let role_and_root = api.role_and_root().await;
    let zoe = api
        .create_user(
            role_and_root,
            json!({"first_name": "Zoë", "last_name": "Zimmermann", "username": "zzimmermann",
                   "email": "zoe@example.org", "user_id": "7001"}),
        )
        .await;
    let gone = api
        .create_user(
            role_and_root,
            json!({"first_name": "Otto", "last_name": "Gone", "username": "ogone",
                   "email": "otto@example.org", "user_id": "7002"}),
        )
        .await;
    let status = api.delete(&format!("/api/users/{gone}")).await;
    assert!(status == 200 || status == 204, "delete a user: {status}");
    // Zoë twice: a group on the possible duplicates page.
    api.create_user(
        role_and_root,
        json!({"first_name": "Zoe", "last_name": "Zimmermann", "username": "zoe.z",
               "email": "zoe@example.org", "user_id": "7003"}),
    )
    .await;

    let app = BrowserApp::start_at(server.addr).await;

    // Before signing in.
    app.goto(&server, "/check").await;
    app.wait_for_text("#status", "No file chosen yet.").await;
    app.assert_accessible(&axe, "the check page, no file").await;
    // The check can fail: an image without a text alternative is caught.
    app.script("const i = document.createElement('img'); i.id = 'no-alt'; i.src = 'data:,'; document.querySelector('main').append(i);")
        .await;
    let caught = app.wcag_violations(&axe, "an image without alt").await;
    assert!(
        caught.iter().any(|v| v["id"] == "image-alt"),
        "axe-core missed an image without alt: {caught:?}"
    );
    app.script("document.getElementById('no-alt').remove();")
        .await;
    app.choose_file(&with_errors).await;
    app.wait_for_report().await;
    app.wait_for_text("#row-grid", "Lovelace").await;
    app.assert_accessible(&axe, "the check page with a file's errors")
        .await;
    app.goto(&server, "/no-such-page").await;
    app.wait_for_text("main h1", "Page not found").await;
    app.assert_accessible(&axe, "page not found").await;
    app.goto(&server, "/sign-in").await;
    app.wait_for_text("main h1", "Sign in").await;
    app.assert_accessible(&axe, "sign-in").await;

    app.sign_in_as_admin(&server).await;
    app.wait_for_text("main", "Zimmermann").await;
    app.assert_accessible(&axe, "users").await;
    app.goto(&server, &format!("/users/{zoe}")).await;
    app.wait_for_text("#user-title", "Zoë").await;
    app.assert_accessible(&axe, "a user").await;
    app.goto(&server, "/users/duplicates").await;
    app.wait_for_text("#duplicates-status", "1 group of possible duplicates.")
        .await;
    app.wait_for_text("main", "zoe.z").await;
    app.assert_accessible(&axe, "possible duplicates").await;
    app.goto(&server, "/trash").await;
    app.wait_for_text("main", "ogone").await;
    app.assert_accessible(&axe, "the trash can").await;
    app.goto(&server, "/roles").await;
    app.wait_for_text("main", "Pupil").await;
    app.assert_accessible(&axe, "roles").await;
    app.goto(&server, "/hierarchy").await;
    app.wait_for_text("main", "Root").await;
    app.assert_accessible(&axe, "the hierarchy").await;
    app.goto(&server, "/settings").await;
    app.wait_for_text("main h1", "Regional settings").await;
    app.wait_for_text("main", "UTC").await;
    app.assert_accessible(&axe, "regional settings").await;

    // The import's steps.
    app.goto(&server, "/import").await;
    app.wait_for_text("#status", "No file chosen yet.").await;
    app.assert_accessible(&axe, "import, no file").await;
    app.choose_file(&to_import).await;
    app.wait_for_report().await;
    app.wait_for_text("#import-role", "Pupil").await;
    app.wait_for_text("#import-node", "Root").await;
    app.assert_accessible(&axe, "import, the file checked")
        .await;
    app.select("#import-role", "Pupil").await;
    app.select("#import-node", "Root").await;
    app.click("#try-import").await;
    app.wait_for_text("#preview-rows", "4").await;
    app.assert_accessible(&axe, "import, the preview").await;
    app.click("#import-commit").await;
    app.wait_for_text("[role=alertdialog]", "Skip the rows with errors?")
        .await;
    app.assert_accessible(&axe, "import, the skip dialog").await;
    app.click("#confirm-skip").await;
    app.wait_for_text("#import-result", "Imported").await;
    app.assert_accessible(&axe, "import, the result").await;

    app.goto(&server, "/imports").await;
    app.wait_for_text("main", "import-people.xlsx").await;
    app.assert_accessible(&axe, "import history").await;
    let history = api.get("/api/imports").await;
    let entry = history["imports"][0]["id"]
        .as_i64()
        .unwrap_or_else(|| panic!("an import in the history: {history}"));
    app.goto(&server, &format!("/imports/{entry}")).await;
    app.wait_for_text("#entry-title", "import-people.xlsx")
        .await;
    app.wait_for_text("main", "jausten").await;
    app.assert_accessible(&axe, "an import's history entry")
        .await;
    // Its undo: the preview, a fresh one after a change behind its back,
    // the result.
    app.click("#undo-start").await;
    app.wait_for_text("#undo-preview-title", "Undo this import?")
        .await;
    app.assert_accessible(&axe, "an import's undo preview")
        .await;
    let jane = api.user_named("jausten").await;
    api.change_email(jane, "jane.changed@example.org").await;
    app.click("#undo-commit").await;
    app.wait_for_text("#undo-stale", "The user directory changed")
        .await;
    app.wait_for_text("#undo-untouched-list", "jausten").await;
    app.assert_accessible(&axe, "an import's undo preview, made again")
        .await;
    app.click("#undo-commit").await;
    app.wait_for_text("#undo-result", "Import undone").await;
    app.wait_for_text("#entry-undone-by", "Undone by import")
        .await;
    app.assert_accessible(&axe, "an import undone").await;
    app.click("#undo-entry-link").await;
    app.wait_for_text("#entry-undo-of", "Undo of import").await;
    app.assert_accessible(&axe, "an undo's history entry").await;

    app.finish().await;
}
