//! "Export to Excel" on the Users page against the REAL `roster serve`:
//! the file downloaded by Chromium, three cells edited in a real writer,
//! and imported back through the import page as three changed users.

use roster_shared::cells::CellValue;
use roster_shared::{ReadOptions, read_table};
use serde_json::json;

use crate::ScratchDir;
use crate::admin::{Api, RosterServer};
use crate::helpers::{BrowserApp, ENTER};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_export_is_downloaded_edited_and_imported_back_as_three_changes() {
    let _turn = crate::ONE_BROWSER_AT_A_TIME.lock().await;
    let server = RosterServer::start().await;
    let api = Api::sign_in(&server).await;
    let (_, root) = api.role_and_root().await;
    let student = api.create_role("Student", &[]).await;
    let (status, school) = api
        .post(
            "/api/hierarchy",
            json!({"parent_id": root, "name": "School A"}),
        )
        .await;
    assert_eq!(status, 201, "{school}");
    let school = school["id"].as_i64().expect("a node id");
    let rows: Vec<_> = (1..=6)
        .map(|i| {
            json!({
                "row": i + 1, "first_name": format!("First{i}"), "last_name": "Müller",
                "username": format!("pupil{i}"), "email": format!("pupil{i}@example.com"),
                "user_id": format!("{i:04}"), "sub_level_1": "Class 1",
            })
        })
        .collect();
    let (status, preview) = api
        .post(
            "/api/imports",
            json!({"file_name": "pupils.xlsx", "role_id": student, "hierarchy_id": school, "rows": rows}),
        )
        .await;
    assert_eq!(status, 201, "{preview}");
    let id = preview["id"].as_i64().expect("a preview id");
    let (status, done) = api
        .post(
            &format!("/api/imports/{id}/commit"),
            json!({"skip_errors": false}),
        )
        .await;
    assert_eq!((status, done["created"].as_i64()), (200, Some(6)), "{done}");

    let app = BrowserApp::start_at(server.addr).await;
    app.sign_in_as_admin(&server).await;
    // The current search is what is exported: everyone matching "muller"
    // below School A (admin is neither).
    app.type_into("#search", &format!("muller{ENTER}")).await;
    app.wait_for_text("#users-status", "6 users found").await;
    app.wait_for_text("#export-node", "Root/School A").await;
    app.select("#export-node", "Root/School A").await;
    app.click("#export-users").await;
    app.wait_for_text("#export-status", "Saved roster-users-")
        .await;
    let status = app.text("#export-status").await;
    let name = status
        .strip_prefix("Saved ")
        .and_then(|s| s.split_once(' '))
        .map(|(name, _)| name.to_string())
        .unwrap_or_else(|| panic!("a file name in {status:?}"));
    let bytes = app.wait_for_download(&name).await;
    app.screenshot("export-1-saved").await;

    let table = read_table(&bytes, Some(&name), &ReadOptions::default()).expect("it reads");
    assert_eq!(
        table.headers[..5],
        ["First Name", "Last Name", "Username", "Email", "User ID"]
    );
    assert_eq!(table.rows.len(), 6);
    let mut cells: Vec<Vec<String>> = table
        .rows
        .iter()
        .map(|row| {
            (0..table.headers.len())
                .map(|c| match row.cells.get(c) {
                    Some(CellValue::Text(t)) => t.to_string(),
                    None | Some(CellValue::Empty) => String::new(),
                    Some(other) => panic!("a {other:?} cell, not text"),
                })
                .collect()
        })
        .collect();
    assert_eq!(cells[0][4], "0001", "the leading zeros are kept");
    assert_eq!(cells[0][5], "Class 1", "the path below School A");

    // Three cells changed, saved by a real writer.
    cells[0][0] = "Renamed".into();
    cells[2][3] = "pupil3.new@example.com".into();
    cells[5][1] = "Müller-Lüdenscheidt".into();
    let mut workbook = rust_xlsxwriter::Workbook::new();
    let sheet = workbook.add_worksheet();
    for (c, header) in table.headers.iter().enumerate() {
        sheet.write_string(0, c as u16, header).expect("a header");
    }
    for (r, row) in cells.iter().enumerate() {
        for (c, value) in row.iter().enumerate() {
            if !value.is_empty() {
                sheet
                    .write_string(r as u32 + 1, c as u16, value)
                    .expect("a cell");
            }
        }
    }
    let dir = ScratchDir::new("export");
    let edited = dir.0.join("pupils-edited.xlsx");
    workbook.save(&edited).expect("saved");

    // Back through the import page, with the same role and start node.
    app.click(".topbar a[href='/import']").await;
    app.wait_for_path("/import").await;
    app.wait_for_text("#status", "No file chosen yet.").await;
    app.choose_file(&edited).await;
    app.wait_for_report().await;
    app.wait_for_text("#import-role", "Student").await;
    app.wait_for_text("#import-node", "Root/School A").await;
    app.select("#import-role", "Student").await;
    app.select("#import-node", "Root/School A").await;
    app.click("#try-import").await;
    app.wait_for_text("#preview-rows", "6").await;
    assert_eq!(app.text("#preview-create").await, "0");
    assert_eq!(app.text("#preview-sync").await, "6");
    assert_eq!(app.text("#preview-unchanged").await, "3", "three changed");
    assert_eq!(app.text("#preview-errors").await, "0");
    app.screenshot("export-2-preview").await;
    app.click("#import-commit").await;
    app.wait_for_text("#import-result", "Imported").await;
    assert_eq!(app.text("#result-created").await, "0");

    let found = api.get("/api/users?q=renamed").await;
    assert_eq!(found["total"], 1, "{found}");
    assert_eq!(found["users"][0]["username"], "pupil1");
    let found = api.get("/api/users?q=pupil3.new").await;
    assert_eq!(found["total"], 1, "{found}");
    let found = api.get("/api/users?q=ludenscheidt").await;
    assert_eq!(found["users"][0]["username"], "pupil6", "{found}");
    app.finish().await;
    drop(server);
}
