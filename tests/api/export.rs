//! The export (issue 18): `GET /api/users/export.xlsx` writes the users of
//! a search in the import template's columns, and the file comes back
//! through Try Import changing only what was edited.

use reqwest::StatusCode;
use roster_shared::cells::CellValue;
use roster_shared::{ReadError, ReadOptions, Table, read_table};
use serde_json::{Value, json};

use crate::helpers::{
    Kind, TestClient, assert_error, eventually, ok_json, spawn_app, spawn_app_with,
};
use crate::imports::form;

crate::on_both_databases!(
    the_export_has_the_templates_columns_and_each_users_values,
    an_export_edited_in_three_cells_imports_back_as_three_syncs,
    an_export_longer_than_the_request_timeout_is_not_cut,
    a_subtree_is_counted_on_its_own_to_one_past_the_limit,
    users_deeper_than_five_levels_refuse_the_export_with_their_count,
);

const HEADERS: [&str; 13] = [
    "First Name",
    "Last Name",
    "Username",
    "Email",
    "User ID",
    "Sub-level-1",
    "Sub-level-2",
    "Sub-level-3",
    "Sub-level-4",
    "Sub-level-5",
    "Special Needs",
    "Synchronisation Key",
    "Time Zone",
];

/// The export at `query`, read by the rules crate as an import reads it.
async fn export(client: &TestClient, query: &str) -> Table {
    let bytes = export_bytes(client, query).await;
    read_table(&bytes, Some("export.xlsx"), &ReadOptions::default()).expect("the export reads")
}

/// The export's bytes, its headers checked.
async fn export_bytes(client: &TestClient, query: &str) -> Vec<u8> {
    let response = client.get(&format!("/api/users/export.xlsx{query}")).await;
    assert_eq!(response.status(), StatusCode::OK, "export{query}");
    assert_eq!(
        response.headers()["content-type"],
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    );
    let disposition = response.headers()["content-disposition"]
        .to_str()
        .expect("ASCII")
        .to_string();
    assert!(
        disposition.starts_with("attachment; filename=\"roster-users-"),
        "{disposition}"
    );
    response.bytes().await.expect("the body").to_vec()
}

/// Every row's cells as text, each asserted to be a text cell (so an ID
/// keeps its leading zeros in Excel), padded to the header's width.
fn texts(table: &Table) -> Vec<Vec<String>> {
    table
        .rows
        .iter()
        .map(|row| {
            (0..table.headers.len())
                .map(|c| match row.cells.get(c) {
                    None | Some(CellValue::Empty) => String::new(),
                    Some(CellValue::Text(t)) => t.to_string(),
                    Some(other) => panic!("row {}: a {other:?} cell, not text", row.number),
                })
                .collect()
        })
        .collect()
}

async fn node(admin: &TestClient, parent: i64, name: &str) -> i64 {
    let node = ok_json(
        admin
            .post("/api/hierarchy", json!({"parent_id": parent, "name": name}))
            .await,
        StatusCode::CREATED,
    )
    .await;
    node["id"].as_i64().expect("a node id")
}

async fn the_export_has_the_templates_columns_and_each_users_values(kind: Kind) {
    let app = spawn_app(kind).await;
    let admin = app.admin().await;
    let root = admin.root_node().await;
    let school_a = node(&admin, root, "School A").await;
    let class_1 = node(&admin, school_a, "Class 1").await;
    let group_1 = node(&admin, class_1, "Group 1").await;
    let school_b = node(&admin, root, "School B").await;
    let student = admin.role("Student", &[]).await;
    let user = |fields: Value| {
        let mut fields = fields;
        fields["role_id"] = json!(student);
        fields
    };
    admin
        .create_user(user(json!({
            "first_name": "Zoë", "last_name": "Janssen", "username": "zjanssen",
            "email": "zoe@example.com", "user_id": "000123", "hierarchy_ids": [class_1],
            "special_needs": true, "sync_key": "007", "time_zone": "Europe/Amsterdam",
            "password": "never-in-the-file",
        })))
        .await;
    admin
        .create_user(user(json!({
            "first_name": "Liam", "last_name": "de Vries", "username": "ldevries",
            "email": "liam@example.com", "user_id": "0042",
            "hierarchy_ids": [school_b, group_1], "time_zone": "UTC",
        })))
        .await;
    admin
        .create_user(user(json!({
            "first_name": "Mia", "last_name": "=1+1", "username": "mia",
            "email": "mia@example.com", "user_id": "M-1", "hierarchy_ids": [school_b],
            "special_needs": false, "time_zone": "UTC",
        })))
        .await;

    // Everyone, below the root: the template's columns, no password.
    let table = export(&admin, "").await;
    assert_eq!(table.headers, HEADERS);
    let rows = texts(&table);
    let usernames: Vec<&str> = rows.iter().map(|r| r[2].as_str()).collect();
    assert_eq!(usernames, ["admin", "zjanssen", "ldevries", "mia"]);
    assert_eq!(
        rows[1],
        [
            "Zoë",
            "Janssen",
            "zjanssen",
            "zoe@example.com",
            "000123",
            "School A",
            "Class 1",
            "",
            "",
            "",
            "yes",
            "007",
            "Europe/Amsterdam"
        ]
    );
    // The first membership (the oldest node) gives the path.
    assert_eq!(rows[2][5..10], ["School A", "Class 1", "Group 1", "", ""]);
    assert_eq!(rows[3][1], "=1+1", "a formula-like value stays text");
    assert_eq!(rows[3][10], "no");
    assert_eq!(rows[0][5..10], ["", "", "", "", ""], "admin is in the root");

    // Below School A: the path starts under it, and only its users.
    let rows = texts(&export(&admin, &format!("?node={school_a}")).await);
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!(rows[0][2], "zjanssen");
    assert_eq!(rows[0][5..10], ["Class 1", "", "", "", ""]);
    assert_eq!(rows[1][2], "ldevries");
    assert_eq!(rows[1][5..10], ["Class 1", "Group 1", "", "", ""]);
    // Below School B, Liam's membership there is the start node itself.
    let rows = texts(&export(&admin, &format!("?node={school_b}")).await);
    let usernames: Vec<&str> = rows.iter().map(|r| r[2].as_str()).collect();
    assert_eq!(usernames, ["ldevries", "mia"]);
    assert_eq!(rows[0][5..10], ["", "", "", "", ""]);

    // The Users page's search, accents and case ignored.
    let rows = texts(&export(&admin, "?q=ZOE%20jans").await);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0][4], "000123");
    // Nobody found: the header row alone (which an import refuses as
    // holding no data rows).
    let bytes = export_bytes(&admin, "?q=nobody-at-all").await;
    let read = read_table(&bytes, Some("export.xlsx"), &ReadOptions::default());
    assert!(
        matches!(read, Err(ReadError::NoDataRows { header_row: 1, .. })),
        "{read:?}"
    );

    assert_error(
        admin.get("/api/users/export.xlsx?node=999999").await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid",
    )
    .await;
    assert_error(
        app.client().get("/api/users/export.xlsx").await,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    )
    .await;
    let nothing = admin.role("Nothing", &[]).await;
    admin
        .create_user(
            json!({"username": "nobody", "password": "nobody-password", "role_id": nothing}),
        )
        .await;
    let nobody = app.signed_in("nobody", "nobody-password").await;
    assert_error(
        nobody.get("/api/users/export.xlsx").await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    let doc = admin.get_ok("/api/openapi.json").await;
    assert!(doc["paths"]["/api/users/export.xlsx"]["get"].is_object());
    app.finish().await;
}

/// Try Import of `rows` as `role` below `node`, committed.
async fn import_rows(admin: &TestClient, role: i64, node: i64, rows: Value) {
    let body =
        json!({"file_name": "users.xlsx", "role_id": role, "hierarchy_id": node, "rows": rows});
    let preview = ok_json(admin.try_import(body).await, StatusCode::CREATED).await;
    assert_eq!(preview["summary"]["with_errors"], 0, "{preview}");
    let id = preview["id"].as_i64().expect("a preview id");
    let done = ok_json(admin.commit_import(id, false).await, StatusCode::OK).await;
    assert_eq!(done["created"], rows.as_array().map_or(0, Vec::len));
}

/// `rows` (under `HEADERS`) as an .xlsx written by rust_xlsxwriter, every
/// value a string, as Excel saves a sheet whose cells are text.
fn xlsx(rows: &[Vec<String>]) -> Vec<u8> {
    let mut workbook = rust_xlsxwriter::Workbook::new();
    let sheet = workbook.add_worksheet();
    for (c, header) in HEADERS.iter().enumerate() {
        sheet.write_string(0, c as u16, *header).expect("a header");
    }
    for (r, row) in rows.iter().enumerate() {
        for (c, value) in row.iter().enumerate() {
            if !value.is_empty() {
                sheet
                    .write_string(r as u32 + 1, c as u16, value)
                    .expect("a cell");
            }
        }
    }
    workbook.save_to_buffer().expect("the workbook")
}

async fn an_export_edited_in_three_cells_imports_back_as_three_syncs(kind: Kind) {
    let app = spawn_app(kind).await;
    let admin = app.admin().await;
    let root = admin.root_node().await;
    let school = node(&admin, root, "School A").await;
    let student = admin.role("Student", &[]).await;
    let rows: Vec<Value> = (1..=10)
        .map(|i| {
            let mut row = json!({
                "row": i + 1, "first_name": format!("First{i}"), "last_name": "Müller",
                "username": format!("student{i}"), "email": format!("student{i}@example.com"),
                "user_id": format!("{i:05}"),
                "sub_level_1": if i % 2 == 0 { "Class 1" } else { "Class 2" },
            });
            if i % 3 == 0 {
                row["sub_level_2"] = json!("Group 1");
                row["special_needs"] = json!("yes");
                row["sync_key"] = json!(format!("00{i}"));
                row["time_zone"] = json!("Europe/Amsterdam");
            }
            row
        })
        .collect();
    import_rows(&admin, student, school, json!(rows)).await;

    let exported = texts(&export(&admin, &format!("?node={school}")).await);
    assert_eq!(exported.len(), 10, "the students, not admin: {exported:?}");
    assert_eq!(exported[0][4], "00001", "leading zeros kept");
    assert_eq!(exported[2][5..8], ["Class 2", "Group 1", ""]);
    assert_eq!(exported[2][10..13], ["yes", "003", "Europe/Amsterdam"]);

    // Three cells changed in a real writer.
    let mut edited = exported.clone();
    edited[0][0] = "Renamed".to_string();
    edited[4][3] = "new.address@example.com".to_string();
    edited[8][11] = "SK-9".to_string();
    let file = xlsx(&edited);

    let role = student.to_string();
    let start = school.to_string();
    let (content_type, body) = form(&[
        ("file", Some("roster-users.xlsx"), &file),
        ("role_id", None, role.as_bytes()),
        ("hierarchy_id", None, start.as_bytes()),
    ]);
    let mut request = admin
        .http
        .post(format!("{}/api/imports", admin.base))
        .header("content-type", content_type)
        .body(body);
    if let Some(csrf) = &admin.csrf {
        request = request.header("X-CSRF-Token", csrf);
    }
    let preview = ok_json(request.send().await.expect("sent"), StatusCode::CREATED).await;
    assert_eq!(
        preview["summary"],
        json!({"rows": 10, "to_create": 0, "to_sync": 10, "unchanged": 7, "with_errors": 0, "with_warnings": 0}),
        "{preview}"
    );
    assert_eq!(preview["errors"], json!([]));
    assert_eq!(preview["hierarchy_to_create"], json!([]));
    assert!(
        preview["warnings"].as_array().is_none_or(Vec::is_empty),
        "{preview}"
    );
    let id = preview["id"].as_i64().expect("a preview id");
    let done = ok_json(admin.commit_import(id, false).await, StatusCode::OK).await;
    assert_eq!(done["created"], 0, "{done}");
    // The directory now holds the edited file, and only that changed.
    assert_eq!(
        texts(&export(&admin, &format!("?node={school}")).await),
        edited
    );
    app.finish().await;
}

/// The request timeout bounds the export's start, not its streamed body:
/// a client that reads slowly still gets every user.
async fn an_export_longer_than_the_request_timeout_is_not_cut(kind: Kind) {
    use std::time::{Duration, Instant};

    let app = spawn_app_with(kind, |config| {
        config.timeouts.request = Duration::from_secs(1);
    })
    .await;
    let admin = app.admin().await;
    let (role, root) = (admin.administrator_role().await, admin.root_node().await);
    let db = app.database().await;
    crate::scale::seed(&db, 20_000, role, root).await;
    db.close().await;
    let started = Instant::now();
    let mut response = admin.get("/api/users/export.xlsx").await;
    assert_eq!(response.status(), StatusCode::OK);
    let mut bytes = Vec::new();
    while let Some(chunk) = response.chunk().await.expect("the body, whole") {
        bytes.extend_from_slice(&chunk);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let took = started.elapsed();
    assert!(
        took > Duration::from_secs(2),
        "longer than the request timeout: {took:?}"
    );
    let table = read_table(&bytes, Some("export.xlsx"), &ReadOptions::default()).expect("it reads");
    assert_eq!(table.rows.len(), 20_001, "admin and every seeded user");
    app.finish().await;
}

/// Two exports download at once at most (`export::AT_ONCE`): a third,
/// while both are held open by clients that stopped reading, is 503
/// `busy` with `Retry-After`; a turn comes back when a download is
/// dropped, and the held ones still end whole. Real parallel requests on
/// PostgreSQL.
#[tokio::test]
async fn a_third_export_at_once_is_refused_busy_on_postgres() {
    let app = spawn_app(Kind::Postgres).await;
    let admin = app.admin().await;
    let (role, root) = (admin.administrator_role().await, admin.root_node().await);
    let db = app.database().await;
    // More than the socket buffers and the body's channel hold, so that a
    // download whose client stops reading stays open.
    crate::scale::seed(&db, 20_000, role, root).await;
    db.close().await;
    let mut first = admin.get("/api/users/export.xlsx").await;
    assert_eq!(first.status(), StatusCode::OK);
    let mut bytes = first
        .chunk()
        .await
        .expect("a chunk")
        .expect("bytes")
        .to_vec();
    let mut second = admin.get("/api/users/export.xlsx").await;
    assert_eq!(second.status(), StatusCode::OK);
    second.chunk().await.expect("a chunk").expect("bytes");

    let third = admin.get("/api/users/export.xlsx?q=u0").await;
    assert_eq!(
        third.headers()["retry-after"],
        "10",
        "{:?}",
        third.headers()
    );
    let message = assert_error(third, StatusCode::SERVICE_UNAVAILABLE, "busy").await;
    assert!(message.contains("at most 2 at once"), "{message}");

    // The second client goes away: its turn comes back.
    drop(second);
    assert!(
        eventually(|| async {
            admin.get("/api/users/export.xlsx?q=nobody").await.status() == StatusCode::OK
        })
        .await,
        "an export starts once a download is dropped"
    );
    // The first, held all along, still ends whole.
    while let Some(chunk) = first.chunk().await.expect("the body, whole") {
        bytes.extend_from_slice(&chunk);
    }
    let table = read_table(&bytes, Some("export.xlsx"), &ReadOptions::default()).expect("it reads");
    assert_eq!(table.rows.len(), 20_001, "admin and every seeded user");
    app.finish().await;
}

/// `n` users of `role` named `{prefix}{i}`, imported below `node`.
async fn import_users(admin: &TestClient, role: i64, node: i64, prefix: &str, n: usize) {
    let rows: Vec<Value> = (0..n)
        .map(|i| {
            json!({
                "row": i + 2, "first_name": "Sub", "last_name": "Tree",
                "username": format!("{prefix}{i}"), "email": format!("{prefix}{i}@example.com"),
                "user_id": format!("{prefix}-{i}"),
            })
        })
        .collect();
    import_rows(admin, role, node, json!(rows)).await;
}

/// The export's limit (a sheet's rows; 100 here) is counted below the
/// start node, not over the whole directory, and only to one past it.
async fn a_subtree_is_counted_on_its_own_to_one_past_the_limit(kind: Kind) {
    let app = spawn_app_with(kind, |config| config.export_max_users = 100).await;
    let admin = app.admin().await;
    let (role, root) = (admin.administrator_role().await, admin.root_node().await);
    let school = node(&admin, root, "School A").await;
    let db = app.database().await;
    crate::scale::seed(&db, 150, role, root).await;
    db.close().await;
    import_users(&admin, role, school, "pupil", 100).await;

    // 100 below School A, 251 in all: the subtree exports.
    let rows = texts(&export(&admin, &format!("?node={school}")).await);
    assert_eq!(rows.len(), 100);
    assert!(rows.iter().all(|r| r[2].starts_with("pupil")), "{rows:?}");
    // The whole directory does not, and its count stopped past the limit.
    let message = assert_error(
        admin.get("/api/users/export.xlsx").await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid",
    )
    .await;
    assert!(message.contains("more than 100 users match"), "{message}");
    // Nor the subtree once it holds one more.
    import_users(&admin, role, school, "late", 1).await;
    assert_error(
        admin
            .get(&format!("/api/users/export.xlsx?node={school}"))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid",
    )
    .await;
    // The search narrows it again.
    let rows = texts(&export(&admin, &format!("?node={school}&q=pupil1")).await);
    assert_eq!(rows.len(), 11, "pupil1, pupil10…pupil19");
    app.finish().await;
}

/// Sub-level-1…5 name five levels: a user whose memberships below the
/// start node are all deeper is not left out silently, the export is
/// refused naming how many; from a lower start node they are exported.
async fn users_deeper_than_five_levels_refuse_the_export_with_their_count(kind: Kind) {
    let app = spawn_app(kind).await;
    let admin = app.admin().await;
    let root = admin.root_node().await;
    let mut chain = vec![root];
    for level in 1..=6 {
        let parent = *chain.last().expect("a parent");
        chain.push(node(&admin, parent, &format!("L{level}")).await);
    }
    let student = admin.role("Student", &[]).await;
    let user = |username: &str, nodes: &[i64]| {
        json!({
            "first_name": "Deep", "last_name": "User", "username": username,
            "email": format!("{username}@example.com"), "user_id": username,
            "hierarchy_ids": nodes, "role_id": student, "time_zone": "UTC",
        })
    };
    // Six levels below the root; five; six and one.
    admin.create_user(user("deep6", &[chain[6]])).await;
    admin.create_user(user("fifth", &[chain[5]])).await;
    admin.create_user(user("both", &[chain[6], chain[1]])).await;

    let message = assert_error(
        admin.get("/api/users/export.xlsx").await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid",
    )
    .await;
    assert!(
        message.contains("1 user is more than five levels below the start node"),
        "{message}"
    );
    // A search that does not find the deep user exports.
    let rows = texts(&export(&admin, "?q=fifth").await);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0][5..10], ["L1", "L2", "L3", "L4", "L5"]);
    // From L1, everyone is within five levels.
    let rows = texts(&export(&admin, &format!("?node={}", chain[1])).await);
    let found: Vec<(&str, &[String])> = rows.iter().map(|r| (r[2].as_str(), &r[5..10])).collect();
    assert_eq!(
        found,
        [
            (
                "deep6",
                &["L2", "L3", "L4", "L5", "L6"].map(String::from)[..]
            ),
            ("fifth", &["L2", "L3", "L4", "L5", ""].map(String::from)[..]),
            ("both", &["", "", "", "", ""].map(String::from)[..]),
        ]
    );
    app.finish().await;
}

/// A million users exported by the release `roster serve` on PostgreSQL:
/// its peak memory and the time, for docs/PERFORMANCE.md. Run by hand:
/// `cargo test --release -p roster-tests --test api export_scale -- --ignored --nocapture`,
/// or from debug tests with a release server only:
/// `cargo build --release -p roster --bin roster && ROSTER_BIN=$PWD/target/release/roster
/// cargo test -p roster-tests --test api export_scale -- --ignored --nocapture`
/// (`ROSTER_SCALE_USERS` to change the count).
#[tokio::test]
#[ignore = "seeds a million users: minutes; run by hand in release (see the doc)"]
async fn export_scale_a_million_users_in_bounded_memory() {
    use std::io::Read as _;
    use std::time::{Duration, Instant};

    use crate::helpers::{RealServer, RealServerClients};

    let count: usize = std::env::var("ROSTER_SCALE_USERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    // The database made and seeded through the in-process server; the
    // export measured on a `roster serve` process of its own.
    let app = spawn_app(Kind::Postgres).await;
    let seeder = app.admin().await;
    let (role, root) = (seeder.administrator_role().await, seeder.root_node().await);
    let db = app.database().await;
    crate::scale::seed(&db, count, role, root).await;
    sqlx::query("VACUUM ANALYZE")
        .execute(&db)
        .await
        .expect("vacuum");
    db.close().await;
    let server = RealServer::start(&app.database_url, &[]).await;
    let admin = server.admin(Duration::from_secs(3600)).await;
    let before = server.memory_mib("VmHWM:");

    let path = std::env::temp_dir().join(format!("roster-export-{}.xlsx", std::process::id()));
    let mut file = std::fs::File::create(&path).expect("a file for the export");
    let started = Instant::now();
    let mut response = admin.get("/api/users/export.xlsx").await;
    assert_eq!(response.status(), StatusCode::OK);
    let first_byte = started.elapsed();
    let mut size = 0usize;
    while let Some(chunk) = response.chunk().await.expect("the body") {
        size += chunk.len();
        std::io::Write::write_all(&mut file, &chunk).expect("written");
    }
    let took = started.elapsed();
    let peak = server.memory_mib("VmHWM:");
    drop(file);
    println!(
        "export of {count} users (PostgreSQL): first byte {first_byte:.1?}, all {took:.1?}, \
         {:.1} MB; roster serve peak RSS {before} MiB before, {peak} MiB after",
        size as f64 / 1e6
    );

    // The streamed zip is whole: its sheet inflates, checksum checked, to
    // one row per user (admin too) and the header.
    let mut zip =
        zip::ZipArchive::new(std::fs::File::open(&path).expect("open")).expect("a readable zip");
    let mut sheet = zip.by_name("xl/worksheets/sheet1.xml").expect("the sheet");
    let xml_size = sheet.size();
    let mut rows = 0usize;
    let mut buffer = vec![0u8; 1 << 20];
    let mut carry = Vec::new();
    loop {
        let n = sheet
            .read(&mut buffer)
            .expect("inflates with a good checksum");
        if n == 0 {
            break;
        }
        carry.extend_from_slice(&buffer[..n]);
        rows += carry.windows(5).filter(|w| w == b"<row ").count();
        let keep = carry.len().saturating_sub(4);
        carry.drain(..keep);
    }
    drop(sheet);
    let _ = std::fs::remove_file(&path);
    println!(
        "the sheet: {rows} rows, {:.1} MB of XML",
        xml_size as f64 / 1e6
    );
    assert_eq!(rows, count + 2, "the header, admin and every seeded user");
    assert!(
        peak < before + 100,
        "the export's memory is bounded: {before} → {peak} MiB"
    );
    drop(server);
    app.finish().await;
}
