//! The rules crate compiled to WebAssembly, run in headless Chromium by
//! wasm-bindgen-test: the same files give the same report as natively.
#![cfg(target_arch = "wasm32")]

use roster_shared::read::read_sheet;
use roster_shared::{CheckOptions, ReadError, ReadOptions, check_file};
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

fn messages(bytes: &[u8], name: &str) -> Vec<(u32, String)> {
    let report = check_file(bytes, Some(name), &CheckOptions::default()).unwrap();
    report
        .errors
        .into_iter()
        .map(|e| (e.row, e.message))
        .collect()
}

#[wasm_bindgen_test]
fn every_format_gives_the_same_errors_in_the_browser() {
    let xlsx = messages(include_bytes!("fixtures/users.xlsx"), "users.xlsx");
    assert_eq!(xlsx.len(), 13);
    assert_eq!(xlsx[2], (3, "Username: spaces not allowed".to_string()));
    assert_eq!(
        xlsx[1],
        (
            2,
            "User ID: This value is used more than once in the file (rows 2, 5)".to_string()
        )
    );
    assert_eq!(
        messages(include_bytes!("fixtures/users.xls"), "users.xls"),
        xlsx
    );
    assert_eq!(
        messages(include_bytes!("fixtures/users.ods"), "users.ods"),
        xlsx
    );
    assert_eq!(
        messages(include_bytes!("fixtures/users-cp1252-tab.csv"), "users.csv"),
        xlsx
    );
}

#[wasm_bindgen_test]
fn hostile_files_end_in_one_error_in_the_browser() {
    let options = CheckOptions::default();
    let err = check_file(include_bytes!("fixtures/bomb-1gib.xlsx"), None, &options).unwrap_err();
    assert!(
        matches!(err, ReadError::SuspiciousCompression { .. }),
        "{err}"
    );
    let err = check_file(include_bytes!("fixtures/far-cell.xls"), None, &options).unwrap_err();
    assert!(matches!(err, ReadError::SheetAreaTooLarge { .. }), "{err}");
    let err = check_file(include_bytes!("fixtures/encrypted.xlsx"), None, &options).unwrap_err();
    assert_eq!(err, ReadError::Encrypted);
    // Found by cargo fuzz: calamine panics on it, which in wasm would abort.
    let bytes = include_bytes!("fuzz-regressions/xls-sheet-offset-past-end.xls");
    let err = check_file(bytes, None, &options).unwrap_err();
    assert!(matches!(err, ReadError::Damaged { .. }), "{err}");
}

#[wasm_bindgen_test]
fn a_cell_longer_than_excel_allows_stops_the_read_in_the_browser() {
    let csv = format!(
        "First Name,Last Name,Username,Email,User ID\nAnn,Lee,{},ann@example.org,1\n",
        "x".repeat(1 << 20)
    );
    let err = check_file(csv.as_bytes(), Some("long.csv"), &CheckOptions::default()).unwrap_err();
    assert_eq!(
        err,
        ReadError::CellTooLong {
            row: 2,
            column: "C".into(),
            limit: 32_767,
        }
    );
}

#[wasm_bindgen_test]
fn dates_times_and_durations_read_alike_in_the_browser() {
    // tests/check/dates.rs natively: the same cases from four writers.
    let expected = [
        ("date", "1900-01-11"),
        ("date-time", "2024-05-01 13:30:00"),
        ("midnight", "2024-05-01"),
        ("time of day", "09:30:00"),
        ("time with seconds", "10:10:10"),
        ("elapsed", "26:30:00"),
        ("milliseconds", "2009-01-01 11:00:00"),
    ]
    .map(|(case, value)| (case.to_string(), value.to_string()));
    let files: [(&str, &[u8]); 4] = [
        ("dates.xlsx", include_bytes!("fixtures/dates.xlsx")),
        ("dates-iso.xlsx", include_bytes!("fixtures/dates-iso.xlsx")),
        ("dates.xls", include_bytes!("fixtures/dates.xls")),
        ("dates.ods", include_bytes!("fixtures/dates.ods")),
    ];
    for (name, bytes) in files {
        let sheet = read_sheet(bytes, Some(name), &ReadOptions::default()).unwrap();
        let read: Vec<(String, String)> = sheet.rows[1..]
            .iter()
            .map(|r| (r.cells[0].header_text(), r.cells[1].header_text()))
            .collect();
        assert_eq!(read, expected, "{name}");
    }
}

fn sheet(bytes: &[u8], name: &str) -> roster_shared::read::Sheet {
    roster_shared::read::read_sheet(bytes, Some(name), &Default::default()).unwrap()
}

/// The cell at a 1-based row number and 0-based column, as text.
fn cell(sheet: &roster_shared::read::Sheet, row: u32, col: usize) -> String {
    let row = sheet.rows.iter().find(|r| r.number == row).unwrap();
    row.cells[col].header_text()
}

#[wasm_bindgen_test]
fn good_files_once_refused_are_read_in_the_browser() {
    // Issue 14: a workbook placed by `_rels/.rels`, an .ods padded to the
    // last column, an .xls whose compound file the `cfb` crate refused.
    let minimal = sheet(
        include_bytes!("fixtures/calamine-minimal_package.xlsx"),
        "minimal.xlsx",
    );
    assert_eq!(minimal.rows.len(), 195);
    assert_eq!(cell(&minimal, 196, 7), "MARTINEZ");
    let padded = sheet(
        include_bytes!("fixtures/phpspreadsheet-issue.2507.ods"),
        "issue.2507.ods",
    );
    assert_eq!(padded.rows.len(), 9);
    assert_eq!(cell(&padded, 3, 1), "Номенклатура");
    let mut xls = include_bytes!("fixtures/users.xls").to_vec();
    xls[28..30].copy_from_slice(&[0xFF, 0xFE]);
    assert_eq!(
        messages(&xls, "users.xls"),
        messages(include_bytes!("fixtures/users.xls"), "users.xls")
    );
    // Issue 14: UTF-16 text is a CSV; .xls strings are Unicode whatever
    // code page the file names.
    assert_eq!(
        messages(
            include_bytes!("fixtures/users-utf16le-tab.csv"),
            "users.csv"
        ),
        messages(include_bytes!("fixtures/users-cp1252-tab.csv"), "users.csv")
    );
    let writeexcel = sheet(
        include_bytes!("fixtures/writeexcel-codepage-1252.xls"),
        "writeexcel.xls",
    );
    assert_eq!(cell(&writeexcel, 2, 0), "Hi Excel!");
    assert_eq!(cell(&writeexcel, 3, 0), "Łukasz");
}

#[wasm_bindgen_test]
fn ods_error_cells_are_cell_errors_in_the_browser() {
    let read = sheet(
        include_bytes!("fixtures/phpspreadsheet-OOCalcTest.ods"),
        "OOCalcTest.ods",
    );
    let row = read.rows.iter().find(|r| r.number == 11).unwrap();
    assert_eq!(
        row.cells[6],
        roster_shared::cells::CellValue::Error("#DIV/0!".into())
    );
}

#[wasm_bindgen_test]
fn an_xls_declaring_four_billion_rows_is_refused_in_the_browser() {
    // calamine would reserve room for the declared area first: in wasm an
    // allocation that fails aborts the worker.
    let mut xls = include_bytes!("fixtures/users.xls").to_vec();
    let at = xls
        .windows(4)
        .position(|w| w == [0x00, 0x02, 0x0E, 0x00])
        .unwrap();
    xls[at + 8..at + 12].copy_from_slice(&u32::MAX.to_le_bytes());
    let err = check_file(&xls, None, &CheckOptions::default()).unwrap_err();
    assert!(matches!(err, ReadError::SheetAreaTooLarge { .. }), "{err}");
}
