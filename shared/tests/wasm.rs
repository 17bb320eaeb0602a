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
