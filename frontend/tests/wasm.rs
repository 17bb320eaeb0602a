//! The page's own logic in headless Chromium (wasm-bindgen-test): the check
//! session the worker keeps, the remembered mapping in real `localStorage`,
//! the worker messages and the number and time formats. The whole page is tested in
//! tests/browser.
#![cfg(target_arch = "wasm32")]

use roster_frontend::check_session::{CheckSession, SHOWN_CHARS};
use roster_frontend::check_state::ChosenFile;
use roster_frontend::components::format;
use roster_frontend::corrected_file::corrected_name;
use roster_frontend::protocol::{FromWorker, PageRequest, ToWorker, columns_of, mapping_from};
use roster_frontend::{dismissed_warnings, remembered_mapping};
use roster_shared::cells::CellValue;
use roster_shared::{ErrorCode, Field, Format, Mapping, ReadOptions, WarningCode, read_table};
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

const CSV: &str = "First Name,Last Name,Username,Email,User ID,Notes\n\
                   Ada,Lovelace,ada,ada@example.org ,1,a\n\
                   Alan,Turing,alan turing,alan@example.org,2,\n\
                   Grace,Hopper,grace,grace@example.org,2,c\n";

fn session() -> CheckSession {
    let table = read_table(CSV.as_bytes(), Some("team.csv"), &ReadOptions::default())
        .expect("a readable CSV");
    CheckSession::new("team.csv".to_string(), table)
}

fn codes(session: &mut CheckSession) -> Vec<(u32, ErrorCode)> {
    let checked = session.check();
    checked
        .report
        .errors
        .iter()
        .map(|e| (e.row, e.code))
        .collect()
}

#[wasm_bindgen_test]
fn corrections_are_checked_again_with_every_rule() {
    let mut s = session();
    assert_eq!(
        codes(&mut s),
        [
            (2, ErrorCode::Untrimmed),
            (3, ErrorCode::SpacesNotAllowed),
            (3, ErrorCode::DuplicateInFile),
            (4, ErrorCode::DuplicateInFile),
        ]
    );
    // A correction in one row ends the duplicate in another.
    s.edit(4, Field::UserId, "3".to_string());
    s.edit(3, Field::Username, "alan.turing".to_string());
    assert_eq!(codes(&mut s), [(2, ErrorCode::Untrimmed)]);
    assert_eq!(s.trim_all(), 1);
    assert_eq!(codes(&mut s), []);
    assert_eq!(s.trim_all(), 0);
    assert_eq!(s.edited_cells(), 3);
}

#[wasm_bindgen_test]
fn the_corrected_file_keeps_every_column() {
    let mut s = session();
    s.edit(3, Field::Username, "alan.turing".to_string());
    s.check();
    let file = s.export().expect("a CSV");
    assert_eq!(file.name, "team-corrected.csv");
    assert_eq!(file.mime, "text/csv;charset=utf-8");
    let text = String::from_utf8(file.bytes).expect("UTF-8");
    assert_eq!(
        text.lines().collect::<Vec<_>>(),
        [
            "\u{feff}First Name,Last Name,Username,Email,User ID,Notes",
            "Ada,Lovelace,ada,ada@example.org ,1,a",
            "Alan,Turing,alan.turing,alan@example.org,2,",
            "Grace,Hopper,grace,grace@example.org,2,c",
        ]
    );
}

/// A spreadsheet comes back as .xlsx: the mapped fields as the text
/// checked (an ID keeps its leading zeros), other columns as they were.
#[wasm_bindgen_test]
fn a_corrected_spreadsheet_is_an_xlsx() {
    let mut workbook = rust_xlsxwriter::Workbook::new();
    let sheet = workbook.add_worksheet();
    sheet.set_name("Staff").unwrap();
    for (col, header) in [
        "First Name",
        "Last Name",
        "Username",
        "Email",
        "User ID",
        "Age",
    ]
    .into_iter()
    .enumerate()
    {
        sheet.write_string(0, col as u16, header).unwrap();
    }
    for (col, value) in ["Ada", "Lovelace", "ada lovelace", "ada@example.org", "007"]
        .into_iter()
        .enumerate()
    {
        sheet.write_string(1, col as u16, value).unwrap();
    }
    sheet.write_number(1, 5, 36).unwrap();
    // Markup, an escape look-alike and a control character, kept as they are.
    let tricky = "a & b <c> \"d\" _x0041_ \u{1}e";
    sheet.write_string(2, 0, tricky).unwrap();
    let bytes = workbook.save_to_buffer().unwrap();
    let table = read_table(&bytes, Some("staff.xlsx"), &ReadOptions::default()).unwrap();
    let mut s = CheckSession::new("staff.xlsx".to_string(), table);
    s.edit(2, Field::Username, "ada".to_string());
    s.check();
    let file = s.export().expect("an xlsx");
    assert_eq!(file.name, "staff-corrected.xlsx");
    assert!(file.mime.contains("spreadsheetml"), "{}", file.mime);

    let again = read_table(&file.bytes, Some(&file.name), &ReadOptions::default()).unwrap();
    assert_eq!(again.source.sheet, "Staff");
    assert_eq!(
        again.headers,
        [
            "First Name",
            "Last Name",
            "Username",
            "Email",
            "User ID",
            "Age"
        ]
    );
    assert_eq!(
        again.rows[0].cells,
        [
            CellValue::Text("Ada".into()),
            CellValue::Text("Lovelace".into()),
            CellValue::Text("ada".into()),
            CellValue::Text("ada@example.org".into()),
            CellValue::Text("007".into()),
            CellValue::Int(36),
        ]
    );
    assert_eq!(again.rows[1].cells[0], CellValue::Text(tricky.into()));

    // Another reader agrees (calamine's own xlsx reader).
    use calamine::Reader;
    let mut xlsx = calamine::Xlsx::new(std::io::Cursor::new(file.bytes)).unwrap();
    let range = xlsx.worksheet_range("Staff").unwrap();
    assert_eq!(
        range.get_value((1, 4)),
        Some(&calamine::Data::String("007".into()))
    );
    assert_eq!(range.get_value((1, 5)), Some(&calamine::Data::Float(36.0)));
    assert_eq!(
        range.get_value((2, 0)),
        Some(&calamine::Data::String(tricky.into()))
    );
    assert_eq!(
        corrected_name("people", Format::Xls),
        "people-corrected.xlsx"
    );
    assert_eq!(corrected_name("a.b.ods", Format::Ods), "a.b-corrected.xlsx");
}

#[wasm_bindgen_test]
fn pages_of_rows_filter_and_stop_at_the_last_page() {
    let mut s = session();
    let checked = s.check();
    let all = checked.page(PageRequest::default());
    assert_eq!(all.total, 3);
    assert_eq!(
        all.rows.iter().map(|r| r.row).collect::<Vec<_>>(),
        [2, 3, 4]
    );
    let errors = checked.page(PageRequest {
        only_errors: true,
        start: 0,
        ..PageRequest::default()
    });
    assert_eq!(errors.total, 3);
    let past_the_end = checked.page(PageRequest {
        start: 500,
        ..PageRequest::default()
    });
    assert_eq!(past_the_end.request.start, 0, "back to the last page");
    assert_eq!(past_the_end.rows.len(), 3);
}

#[wasm_bindgen_test]
fn a_page_of_rows_carries_a_long_value_cut_for_the_grid() {
    let long = "é".repeat(5_000);
    let csv =
        format!("First Name,Last Name,Username,Email,User ID\nAnn,{long},ann,ann@example.org,1\n");
    let table = read_table(csv.as_bytes(), Some("long.csv"), &ReadOptions::default())
        .expect("a readable CSV");
    let mut s = CheckSession::new("long.csv".to_string(), table);
    let checked = s.check();
    assert_eq!(
        checked.report.rows[0].get(Field::LastName),
        long,
        "kept whole"
    );
    let page = checked.page(PageRequest::default());
    let shown = page.rows[0].get(Field::LastName);
    assert_eq!(shown.chars().count(), SHOWN_CHARS + 1);
    assert!(shown.ends_with('…'), "{shown}");
    assert_eq!(page.rows[0].get(Field::FirstName), "Ann");
    // The cut value still has its error, and the message says why.
    assert_eq!(checked.report.errors[0].code, ErrorCode::TooLong);
}

#[wasm_bindgen_test]
fn a_mapping_is_remembered_for_the_same_headers_in_any_order() {
    let headers = |h: &[&str]| h.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let first = headers(&["Mail", "Login", "Notes", "Given name"]);
    let mut mapping = Mapping::suggest(&first);
    mapping.set(Field::SyncKey, Some(2));
    remembered_mapping::save(&first, &mapping);

    let reordered = headers(&["Notes", "Given name", "Mail", "Login"]);
    let loaded = remembered_mapping::load(&reordered).expect("remembered");
    assert_eq!(loaded.get(Field::SyncKey), Some(0));
    assert_eq!(loaded.get(Field::Email), Some(2));
    assert_eq!(loaded.get(Field::Username), Some(3));
    assert_eq!(loaded.get(Field::FirstName), Some(1));
    assert!(remembered_mapping::load(&headers(&["Mail", "Login"])).is_none());
}

#[wasm_bindgen_test]
fn worker_messages_survive_the_trip() {
    let mapping = Mapping::suggest(&["Email".to_string(), "User ID".to_string()]);
    assert_eq!(mapping_from(&columns_of(&mapping)), mapping);
    let request = ToWorker::Check {
        job: 7,
        columns: columns_of(&mapping),
        page: PageRequest {
            only_errors: true,
            start: 50,
            ..PageRequest::default()
        },
        dismissed: vec![(3, Field::Email, WarningCode::EmailDomainTypo)],
    };
    let text = serde_json::to_string(&request).expect("JSON");
    assert_eq!(
        serde_json::from_str::<ToWorker>(&text).expect("back"),
        request
    );

    let mut s = session();
    let checked = s.check();
    let reply = FromWorker::Checked {
        job: 7,
        outcome: checked.outcome(0),
        page: checked.page(PageRequest::default()),
        check_ms: 1.5,
        trimmed: None,
    };
    let text = serde_json::to_string(&reply).expect("JSON");
    assert_eq!(
        serde_json::from_str::<FromWorker>(&text).expect("back"),
        reply
    );
}

#[wasm_bindgen_test]
fn numbers_read_as_an_administrator_reads_them() {
    assert_eq!(format::thousands(0), "0");
    assert_eq!(format::thousands(999), "999");
    assert_eq!(format::thousands(100_000), "100,000");
    assert_eq!(format::thousands(1_234_567), "1,234,567");
    assert_eq!(format::bytes(25.0 * 1024.0 * 1024.0), "25 MB");
    assert_eq!(format::bytes(4.5 * 1024.0 * 1024.0), "4.5 MB");
    assert_eq!(format::bytes(2048.0), "2 KB");
    assert_eq!(format::duration(35.2), "35 ms");
    assert_eq!(format::duration(2440.0), "2.4 s");
    assert_eq!(format::count(1, "row", "rows"), "1 row");
    assert_eq!(format::count(2, "row", "rows"), "2 rows");
    // The server's counts are i64; one helper for both.
    assert_eq!(format::count(1_234_i64, "user", "users"), "1,234 users");
    assert_eq!(format::thousands(-1_234_567_i64), "-1,234,567");
    assert_eq!(format::thousands(u64::MAX), "18,446,744,073,709,551,615");
}

#[wasm_bindgen_test]
fn server_times_read_in_utc_to_the_minute() {
    assert_eq!(format::when("2026-11-26T02:21:07Z"), "2026-11-26 02:21 UTC");
    assert_eq!(
        format::when("2026-11-26T02:21:07.123456Z"),
        "2026-11-26 02:21 UTC"
    );
    // Not UTC, or not a time at all: as written.
    assert_eq!(
        format::when("2026-11-26T02:21:07+01:00"),
        "2026-11-26T02:21:07+01:00"
    );
    assert_eq!(format::when("soon"), "soon");
}

#[wasm_bindgen_test]
fn reading_progress_fills_the_second_third_of_the_bar() {
    use roster_frontend::protocol::Stage;
    assert_eq!(Stage::Loading.percent(), 0);
    assert_eq!(Stage::Reading { percent: 0 }.percent(), 33);
    assert_eq!(Stage::Reading { percent: 50 }.percent(), 50);
    assert_eq!(Stage::Reading { percent: 250 }.percent(), 66);
    assert_eq!(Stage::Checking.percent(), 66);
    let reply = FromWorker::Progress {
        job: 3,
        stage: Stage::Reading { percent: 42 },
    };
    let text = serde_json::to_string(&reply).expect("JSON");
    assert_eq!(
        serde_json::from_str::<FromWorker>(&text).expect("back"),
        reply
    );
}

#[wasm_bindgen_test]
fn dismissed_warnings_leave_the_outcome_and_the_filter() {
    let csv = "First Name,Last Name,Username,Email,User ID\n\
               Ada,Lovelace,ada,ada@gmial.com,1\n\
               Alan,Turing,alan,alan@hotmial.com,2\n\
               Grace,Hopper,grace,grace@example.org,3\n";
    let table =
        read_table(csv.as_bytes(), Some("w.csv"), &ReadOptions::default()).expect("a readable CSV");
    let mut s = CheckSession::new("w.csv".to_string(), table);
    let only_warnings = PageRequest {
        only_warnings: true,
        ..PageRequest::default()
    };
    let checked = s.check();
    let outcome = checked.outcome(0);
    assert_eq!(outcome.warnings.len(), 2);
    assert_eq!(outcome.summary.with_warnings, 2);
    assert_eq!(outcome.warning_counts, [(WarningCode::EmailDomainTypo, 2)]);
    assert_eq!(
        checked
            .page(only_warnings)
            .rows
            .iter()
            .map(|r| r.row)
            .collect::<Vec<_>>(),
        [2, 3]
    );

    s.set_dismissed(vec![(2, Field::Email, WarningCode::EmailDomainTypo)]);
    let checked = s.checked.as_ref().expect("still checked");
    let outcome = checked.outcome(0);
    assert_eq!((outcome.warnings.len(), outcome.dismissed_warnings), (1, 1));
    assert_eq!(outcome.summary.with_warnings, 1);
    assert_eq!(
        checked
            .page(only_warnings)
            .rows
            .iter()
            .map(|r| r.row)
            .collect::<Vec<_>>(),
        [3]
    );
    // A check after a correction keeps the dismissal.
    s.edit(4, Field::FirstName, "Grace B.".to_string());
    assert_eq!(s.check().outcome(1).warnings.len(), 1);
}

#[wasm_bindgen_test]
fn dismissed_warnings_are_kept_for_the_same_file_only() {
    let file = ChosenFile {
        name: "people.xlsx".to_string(),
        size: 1234.0,
        last_modified: 1_700_000_000_000.0,
    };
    let dismissed = vec![(3, Field::UserId, WarningCode::LeadingZerosLost)];
    dismissed_warnings::save(&file, &dismissed);
    assert_eq!(dismissed_warnings::load(&file), dismissed);
    let saved_again = ChosenFile {
        last_modified: 1_700_000_000_001.0,
        ..file.clone()
    };
    assert_eq!(dismissed_warnings::load(&saved_again), []);
    dismissed_warnings::save(&file, &[]);
    assert_eq!(dismissed_warnings::load(&file), []);
}
