//! The Hierarchy and Regional settings pages against the real `roster
//! serve`: a tree built, renamed and pruned in the browser, the server's
//! refusals shown, the site's time zone chosen by searching; then an
//! imported user gets that time zone and is counted in their node.

use serde_json::{Value, json};

use crate::admin::{Api, RosterServer};

use crate::helpers::{BrowserApp, ENTER, ESCAPE, SELECT_ALL, absent, present};

/// The id of the node at `path`.
async fn node_id(api: &Api<'_>, path: &str) -> i64 {
    let nodes = api.get("/api/hierarchy").await;
    nodes["nodes"]
        .as_array()
        .and_then(|n| n.iter().find(|n| n["path"] == path))
        .and_then(|n| n["id"].as_i64())
        .unwrap_or_else(|| panic!("no node {path} in {nodes}"))
}

/// The hierarchy table's row of the node at `path`.
fn row(path: &str) -> String {
    format!("#hierarchy-table tr[data-path={}]", json!(path))
}

/// The users count the page shows for the node at `path` ("" if none).
async fn shown_count(app: &BrowserApp, path: &str) -> String {
    let script = format!(
        "const c = document.querySelector({}); return c ? c.textContent.trim() : '';",
        json!(format!("{} .users-count", row(path)))
    );
    app.script(&script)
        .await
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hierarchy_and_time_zone_are_set_in_the_browser_and_an_import_uses_them() {
    let _turn = crate::ONE_BROWSER_AT_A_TIME.lock().await;
    let server = RosterServer::start().await;
    let api = Api::sign_in(&server).await;
    let (role, root) = api.role_and_root().await;

    let app = BrowserApp::start_at(server.addr).await;
    app.sign_in_as_admin(&server).await;
    let links = app.nav_links().await;
    for page in ["Hierarchy", "Regional settings"] {
        assert!(links.iter().any(|l| l == page), "{page} in {links:?}");
    }

    // The tree holds the root, with the admin in it.
    app.click(".topbar a[href='/hierarchy']").await;
    app.wait_for_path("/hierarchy").await;
    app.wait_for_text("#hierarchy-table", "Root").await;
    assert_eq!(shown_count(&app, "Root").await, "1 user");
    app.screenshot("hierarchy-1-root").await;

    // A node under the root (the parent a new node starts with), from the
    // keyboard; then a child under it from its row. Each change is
    // announced once the list asked again after it is shown: a screen
    // reader never hears of a row the table does not show yet (or still
    // shows), so the new node's buttons are there.
    app.watch_said(
        "#hierarchy-status",
        "Added North under Root.",
        &present(&row("Root/North")),
    )
    .await;
    app.type_into("#node-name", &format!("North{ENTER}")).await;
    assert!(
        app.held_when_said().await,
        "North's row is shown when its addition is announced"
    );
    let north = node_id(&api, "Root/North").await;
    app.click(&format!("#add-child-{north}")).await;
    assert_eq!(app.selected("#node-parent").await, "Root/North");
    app.watch_said(
        "#hierarchy-status",
        "Added Schol A under Root/North.",
        &present(&row("Root/North/Schol A")),
    )
    .await;
    app.type_into("#node-name", &format!("Schol A{ENTER}"))
        .await;
    assert!(app.held_when_said().await, "Schol A's row is shown");

    // Renamed: the typo goes.
    let school = node_id(&api, "Root/North/Schol A").await;
    app.click(&format!("#edit-node-{school}")).await;
    app.wait_for_text("#node-form-title", "Rename or move Schol A")
        .await;
    app.watch_said(
        "#hierarchy-status",
        "Renamed Schol A to Harbour School.",
        &format!(
            "{} && {}",
            present(&row("Root/North/Harbour School")),
            absent(&row("Root/North/Schol A"))
        ),
    )
    .await;
    app.type_into("#node-name", &format!("{SELECT_ALL}Harbour School{ENTER}"))
        .await;
    assert!(
        app.held_when_said().await,
        "the new name, not the old one, is shown when the rename is announced"
    );
    // Each node under its parent, indented by its depth.
    let rows = app
        .script(
            "return [...document.querySelectorAll('#hierarchy-table tbody tr')].map(r => \
             [r.dataset.path, getComputedStyle(r.querySelector('.tree-name')).getPropertyValue('--depth').trim()]);",
        )
        .await;
    assert_eq!(
        rows,
        json!([
            ["Root", "0"],
            ["Root/North", "1"],
            ["Root/North/Harbour School", "2"]
        ])
    );
    assert_eq!(
        shown_count(&app, "Root/North/Harbour School").await,
        "0 users"
    );
    app.screenshot("hierarchy-2-tree").await;

    // Moving North below its own child: the server refuses, and says why.
    app.click(&format!("#edit-node-{north}")).await;
    app.select("#node-parent", "Root/North/Harbour School")
        .await;
    app.click("#save-node").await;
    app.wait_for_text(
        "#hierarchy-error",
        "Parent: a node cannot move below itself",
    )
    .await;
    assert_eq!(
        app.script("return !!document.querySelector('#hierarchy-error svg.icon-error');")
            .await,
        true
    );
    app.screenshot("hierarchy-3-move-refused").await;
    app.click("#cancel-edit").await;

    // Deleting asks first: Escape keeps the node, the focus back on its
    // button; confirmed, a node with a child is refused by the server.
    app.click(&format!("#delete-node-{north}")).await;
    app.wait_for_text("[role=alertdialog]", "Delete the node North?")
        .await;
    app.type_into("#confirm-delete", ESCAPE).await;
    app.wait_for_focus(&format!("delete-node-{north}")).await;
    assert_eq!(app.text("[role=alertdialog]").await, "");
    app.type_into(&format!("#delete-node-{north}"), ENTER).await;
    app.wait_for_text("[role=alertdialog]", "Delete the node North?")
        .await;
    app.type_into("#confirm-delete", ENTER).await;
    app.wait_for_text("#hierarchy-error", "The node has child nodes")
        .await;
    app.wait_for_text("#hierarchy-table", "Root/North").await;

    // An empty node is deleted.
    app.click(&format!("#add-child-{root}")).await;
    app.watch_said(
        "#hierarchy-status",
        "Added Spare under Root.",
        &present(&row("Root/Spare")),
    )
    .await;
    app.type_into("#node-name", &format!("Spare{ENTER}")).await;
    assert!(app.held_when_said().await, "Spare's row is shown");
    let spare = node_id(&api, "Root/Spare").await;
    app.click(&format!("#delete-node-{spare}")).await;
    app.wait_for_text("[role=alertdialog]", "Delete the node Spare?")
        .await;
    app.screenshot("hierarchy-4-confirm-delete").await;
    // "Deleted Root/Spare." is said only once its row is gone.
    app.watch_said(
        "#hierarchy-status",
        "Deleted Root/Spare.",
        &absent(&row("Root/Spare")),
    )
    .await;
    app.type_into("#confirm-delete", ENTER).await;
    assert!(
        app.held_when_said().await,
        "Spare's row is gone when its deletion is announced"
    );
    assert_eq!(app.text("#hierarchy-error").await, "");

    // Regional settings: search, choose, save.
    app.click(".topbar a[href='/settings']").await;
    app.wait_for_path("/settings").await;
    app.wait_for_text("#current-time-zone", "UTC").await;
    app.screenshot("settings-1-utc").await;
    app.type_into("#tz-search", "Amsterdam").await;
    app.wait_for_text("#tz-count", "1 time zone matches “Amsterdam”.")
        .await;
    app.select("#tz-list", "Europe/Amsterdam").await;
    app.wait_for_text("#tz-chosen", "Europe/Amsterdam · now")
        .await;
    app.wait_for_text("#tz-chosen", "not saved yet").await;
    app.screenshot("settings-2-found").await;
    app.click("#save-settings").await;
    app.wait_for_text(
        "#settings-status",
        "Saved. The site's time zone is Europe/Amsterdam.",
    )
    .await;
    assert_eq!(app.text("#current-time-zone").await, "Europe/Amsterdam");
    assert_eq!(
        api.get("/api/settings/regional").await["time_zone"],
        "Europe/Amsterdam"
    );
    app.screenshot("settings-3-saved").await;

    // An import of a user without a time zone into Harbour School.
    let (status, preview) = api
        .post(
            "/api/imports",
            json!({
                "file_name": "staff.xlsx", "role_id": role, "hierarchy_id": school,
                "rows": [{"row": 2, "first_name": "Maud", "last_name": "Jansen",
                    "username": "mjansen", "email": "maud@example.com", "user_id": "7001"}],
            }),
        )
        .await;
    assert_eq!(status, 201, "{preview}");
    assert_eq!(preview["summary"]["to_create"], 1, "{preview}");
    let id = preview["id"].as_i64().expect("a preview id");
    let (status, result) = api
        .post(
            &format!("/api/imports/{id}/commit"),
            json!({"skip_errors": false}),
        )
        .await;
    assert_eq!(status, 200, "{result}");
    assert_eq!(result["created"], 1, "{result}");
    let found = api.get("/api/users?q=mjansen").await;
    let maud = found["users"][0]["id"].as_i64().expect("the imported user");

    // Her page says the site's time zone of the import.
    app.client
        .goto(&server.url(&format!("/users/{maud}")))
        .await
        .expect("open her page");
    app.wait_for_text("#user-title", "Maud Jansen").await;
    app.wait_for_text("#field-hierarchy", "Harbour School")
        .await;
    assert_eq!(
        app.script("return document.querySelector('#field-time_zone').value;")
            .await,
        Value::from("Europe/Amsterdam")
    );
    // Her time zone box suggests the IANA names, Amsterdam among them.
    assert_eq!(
        app.script(
            "const box = document.querySelector('#field-time_zone'); \
             return box.list !== null && box.list.querySelector('option[value=\"Asia/Tokyo\"]') !== null;"
        )
        .await,
        Value::from(true)
    );
    app.screenshot("hierarchy-5-imported-user").await;

    // And the hierarchy counts her in her node only.
    app.click(".topbar a[href='/hierarchy']").await;
    app.wait_for_path("/hierarchy").await;
    app.wait_for_text("#hierarchy-table", "Harbour School")
        .await;
    assert_eq!(
        shown_count(&app, "Root/North/Harbour School").await,
        "1 user"
    );
    assert_eq!(shown_count(&app, "Root/North").await, "0 users");
    assert_eq!(shown_count(&app, "Root").await, "1 user");
    app.screenshot("hierarchy-6-counts").await;

    // The time zone from the keyboard: Enter in the search box picks the
    // first match in the list, Enter there saves it.
    app.click(".topbar a[href='/settings']").await;
    app.wait_for_text("#current-time-zone", "Europe/Amsterdam")
        .await;
    app.type_into("#tz-search", &format!("new york{ENTER}"))
        .await;
    app.wait_for_focus("tz-list").await;
    app.wait_for_text("#tz-chosen", "America/New_York").await;
    app.type_into("#tz-list", ENTER).await;
    app.wait_for_text(
        "#settings-status",
        "Saved. The site's time zone is America/New_York.",
    )
    .await;
    assert_eq!(
        api.get("/api/settings/regional").await["time_zone"],
        "America/New_York"
    );

    app.finish().await;
    drop(server);
}
