//! Files that are not what they claim, or that would cost too much to read:
//! each ends in one clear error, fast, without exhausting memory.

use std::io::{Cursor, Write};

use roster_shared::{CheckOptions, Limits, ReadError, ReadOptions, check_file};
use rust_xlsxwriter::Workbook;
use zip::write::SimpleFileOptions;

use crate::{REQUIRED_HEADERS, fixture, valid_row, xlsx_of};

fn read_error(bytes: &[u8], name: &str) -> ReadError {
    check_file(bytes, Some(name), &CheckOptions::default()).unwrap_err()
}

fn with_limits(limits: Limits) -> CheckOptions {
    CheckOptions {
        read: ReadOptions {
            sheet: None,
            limits,
        },
        ..CheckOptions::default()
    }
}

/// Bytes from a fixed xorshift generator: random, yet the same every run.
fn random_bytes(len: usize) -> Vec<u8> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for (name, data) in entries {
        zip.start_file(*name, SimpleFileOptions::default()).unwrap();
        zip.write_all(data).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

#[test]
fn random_bytes_are_not_a_spreadsheet() {
    let err = read_error(&random_bytes(4096), "users.xlsx");
    assert_eq!(
        err.to_string(),
        "this is not a spreadsheet Roster can read: use .xlsx, .xls, .ods or .csv (the file is named .xlsx but its content is not a .xlsx file)"
    );
}

#[test]
fn an_empty_file_says_so() {
    assert_eq!(read_error(b"", "users.csv"), ReadError::EmptyFile);
}

#[test]
fn a_truncated_xlsx_is_damaged() {
    let bytes = fixture("users.xlsx");
    for cut in [100, bytes.len() / 2, bytes.len() - 10] {
        let err = read_error(&bytes[..cut], "users.xlsx");
        assert!(
            matches!(err, ReadError::Damaged { format: "zip", .. }),
            "cut at {cut}: {err}"
        );
    }
}

#[test]
fn a_password_protected_workbook_is_named_as_such() {
    let err = read_error(&fixture("encrypted.xlsx"), "encrypted.xlsx");
    assert_eq!(
        err.to_string(),
        "the file is protected with a password: save a copy without one and try again"
    );
}

/// The parts of a fixture, to build altered copies of a real workbook.
fn fixture_entries(name: &str) -> Vec<(String, Vec<u8>)> {
    use std::io::Read;
    let mut zip = zip::ZipArchive::new(Cursor::new(fixture(name))).unwrap();
    (0..zip.len())
        .map(|i| {
            let mut entry = zip.by_index(i).unwrap();
            let mut data = Vec::new();
            entry.read_to_end(&mut data).unwrap();
            (entry.name().unwrap().to_string(), data)
        })
        .collect()
}

#[test]
fn a_part_that_inflates_too_far_is_a_bomb() {
    // 64 MiB of one letter packs into about 64 KiB: 1000 times.
    let mut entries = fixture_entries("users.xlsx");
    entries.push(("xl/sharedStrings.xml".into(), vec![b'a'; 64 << 20]));
    let entries: Vec<(&str, &[u8])> = entries
        .iter()
        .map(|(n, d)| (n.as_str(), d.as_slice()))
        .collect();
    let bytes = zip_of(&entries);
    assert!(bytes.len() < 1 << 20);
    assert_eq!(
        read_error(&bytes, "bomb.xlsx").to_string(),
        "the part xl/sharedStrings.xml unpacks to more than 100 times its packed size; Roster stops here in case it is a zip bomb"
    );
}

#[test]
fn the_total_inflated_size_is_capped() {
    let bytes = xlsx_of(&REQUIRED_HEADERS, &[valid_row(1)]);
    let limits = Limits {
        max_inflated_bytes: 1024,
        ..Limits::default()
    };
    let err = check_file(&bytes, None, &with_limits(limits)).unwrap_err();
    assert_eq!(err, ReadError::InflatedTooLarge { limit: 1024 });
}

#[test]
fn cells_at_a1_and_xfd1048576_stop_at_the_column_limit() {
    // calamine's dense range would ask for 17 billion cells (issue 693).
    let mut workbook = Workbook::new();
    let sheet = workbook.add_worksheet();
    sheet.write_string(0, 0, "First Name").unwrap();
    sheet.write_string(1_048_575, 16_383, "far away").unwrap();
    let bytes = workbook.save_to_buffer().unwrap();
    assert!(bytes.len() < 10_000);
    assert_eq!(
        read_error(&bytes, "corners.xlsx").to_string(),
        "row 1048576 has a value in column XFD, beyond the limit of 1000 columns"
    );
}

#[test]
fn a_far_away_row_costs_nothing_in_xlsx() {
    let mut workbook = Workbook::new();
    let sheet = workbook.add_worksheet();
    crate::write_text_rows(sheet, &REQUIRED_HEADERS, &[valid_row(1)]);
    for (c, v) in valid_row(2).iter().enumerate() {
        sheet.write_string(1_048_575, c as u16, v).unwrap();
    }
    let report = check_file(
        &workbook.save_to_buffer().unwrap(),
        None,
        &CheckOptions::default(),
    )
    .unwrap();
    assert_eq!(report.source.data_rows, 2);
    assert_eq!(report.source.blank_rows, 1_048_576 - 3);
    assert_eq!(report.rows[1].row, 1_048_576);
}

#[test]
fn a_far_away_cell_in_xls_stops_before_calamine_lays_out_the_grid() {
    assert_eq!(
        read_error(&fixture("far-cell.xls"), "far-cell.xls"),
        ReadError::SheetAreaTooLarge { limit: 4_000_000 }
    );
}

fn ods_with_content(table: &str) -> Vec<u8> {
    let content = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2"><office:body><office:spreadsheet><table:table table:name="Users">{table}</table:table></office:spreadsheet></office:body></office:document-content>"#
    );
    zip_of(&[
        (
            "mimetype",
            b"application/vnd.oasis.opendocument.spreadsheet",
        ),
        ("content.xml", content.as_bytes()),
    ])
}

#[test]
fn an_encrypted_ods_is_named_as_such() {
    // What LibreOffice writes for a password-protected file: the manifest
    // says how each part is encrypted, and content.xml is ciphertext.
    let manifest = br#"<?xml version="1.0" encoding="UTF-8"?><manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0"><manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"><manifest:encryption-data manifest:checksum-type="SHA1/1K" manifest:checksum="x"><manifest:algorithm manifest:algorithm-name="Blowfish CFB"/></manifest:encryption-data></manifest:file-entry></manifest:manifest>"#;
    let bytes = zip_of(&[
        (
            "mimetype",
            b"application/vnd.oasis.opendocument.spreadsheet",
        ),
        ("META-INF/manifest.xml", manifest),
        ("content.xml", &random_bytes(2000)),
    ]);
    assert_eq!(read_error(&bytes, "secret.ods"), ReadError::Encrypted);
}

#[test]
fn repeated_ods_rows_stop_before_calamine_expands_them() {
    let cell =
        r#"<table:table-cell office:value-type="string"><text:p>x</text:p></table:table-cell>"#;
    let wide = format!(
        r#"<table:table-row table:number-rows-repeated="1000000">{}</table:table-row>"#,
        cell.repeat(20)
    );
    assert_eq!(
        read_error(&ods_with_content(&wide), "rows.ods"),
        ReadError::SheetAreaTooLarge { limit: 4_000_000 }
    );
    let far = r#"<table:table-row><table:table-cell table:number-columns-repeated="16000"/><table:table-cell office:value-type="string"><text:p>x</text:p></table:table-cell></table:table-row>"#;
    assert_eq!(
        read_error(&ods_with_content(far), "cols.ods").to_string(),
        "row 1 has a value in column ALM, beyond the limit of 1000 columns"
    );
}

#[test]
fn too_many_rows_stop_the_read() {
    let rows: Vec<Vec<String>> = (0..11).map(valid_row).collect();
    let limits = Limits {
        max_data_rows: 10,
        ..Limits::default()
    };
    let err = check_file(
        &xlsx_of(&REQUIRED_HEADERS, &rows),
        None,
        &with_limits(limits.clone()),
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "the file has more than 10 data rows; split it into smaller files"
    );
    let ten = &rows[..10];
    assert!(check_file(&xlsx_of(&REQUIRED_HEADERS, ten), None, &with_limits(limits)).is_ok());
}

#[test]
fn a_file_over_the_size_limit_is_refused_before_reading() {
    let limits = Limits {
        max_file_bytes: 10,
        ..Limits::default()
    };
    let err = check_file(b"First Name,Last Name\n", None, &with_limits(limits)).unwrap_err();
    assert_eq!(
        err,
        ReadError::FileTooLarge {
            size: 21,
            limit: 10
        }
    );
}

#[test]
fn empty_sheets_and_missing_columns_are_file_errors() {
    let err = read_error(&xlsx_of(&[], &[]), "empty.xlsx");
    assert_eq!(err.to_string(), "the sheet \"Users\" is empty");
    let err = read_error(&xlsx_of(&REQUIRED_HEADERS, &[]), "header.xlsx");
    assert_eq!(
        err.to_string(),
        "the sheet \"Users\" has a header row (1) but no data rows"
    );
    let err = read_error(b"First Name,Surname,Login\nA,B,c\n", "users.csv");
    assert_eq!(
        err.to_string(),
        "no column for the required fields: Email, User ID"
    );
}

#[test]
fn fuzz_regressions_read_without_panicking() {
    // Inputs on which cargo fuzz found a crash (see README, Fuzzing); each
    // must now end in a clear error.
    let dir = format!("{}/tests/fuzz-regressions", env!("CARGO_MANIFEST_DIR"));
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap().flatten() {
        let bytes = std::fs::read(entry.path()).unwrap();
        let result = check_file(&bytes, None, &CheckOptions::default());
        assert!(
            matches!(result, Err(ReadError::Damaged { .. })),
            "{}: {result:?}",
            entry.path().display()
        );
        seen += 1;
    }
    assert!(seen > 0);
}

#[test]
fn a_row_of_many_chunks_is_searched_once() {
    // A row of 7 MB of `arrow>` (under the 8 MiB past which the packing
    // ratio counts) in 250 cells of under 32,767 characters: it spans 27
    // chunks of the scan, and every `row>` in it looks like the end of a
    // `</row>` until checked.
    let header: String = REQUIRED_HEADERS
        .iter()
        .map(|h| format!("<c t=\"inlineStr\"><is><t>{h}</t></is></c>"))
        .collect();
    let cell = format!(
        "<c t=\"inlineStr\"><is><t>{}</t></is></c>",
        "arrow>".repeat(28_000 / 6)
    );
    let sheet = format!(
        "<worksheet xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\"><sheetData>\
         <row r=\"1\">{header}</row><row r=\"2\">{}</row>\
         </sheetData></worksheet>",
        cell.repeat(250)
    );
    let mut entries = fixture_entries("users.xlsx");
    let part = entries
        .iter_mut()
        .find(|(name, _)| name == "xl/worksheets/sheet2.xml")
        .expect("the fixture's Users sheet");
    part.1 = sheet.into_bytes();
    let entries: Vec<(&str, &[u8])> = entries
        .iter()
        .map(|(n, d)| (n.as_str(), d.as_slice()))
        .collect();
    let report = check_file(&zip_of(&entries), None, &CheckOptions::default()).unwrap();
    assert_eq!(report.summary.rows, 1);
    assert_eq!(
        report.rows[0].get(roster_shared::Field::FirstName).len(),
        28_000 / 6 * 6
    );
}

/// A CSV whose row 2 holds `chars` characters (two bytes each) in column F.
fn csv_with_long_cell(chars: usize) -> Vec<u8> {
    let mut csv = REQUIRED_HEADERS.join(",") + ",Notes\n";
    csv.push_str(&valid_row(1).join(","));
    csv.push(',');
    csv.push_str(&"é".repeat(chars));
    csv.push('\n');
    csv.into_bytes()
}

#[test]
fn a_cell_longer_than_excel_allows_stops_the_read() {
    let report = check_file(&csv_with_long_cell(32_767), None, &CheckOptions::default());
    assert_eq!(report.unwrap().summary.valid, 1);
    let err = read_error(&csv_with_long_cell(32_768), "long.csv");
    assert_eq!(
        err,
        ReadError::CellTooLong {
            row: 2,
            column: "F".into(),
            limit: roster_shared::limits::MAX_CELL_CHARS,
        }
    );
    assert_eq!(
        err.to_string(),
        "row 2, column F holds more than 32767 characters, more than a spreadsheet cell can hold; shorten it"
    );
}

/// An .xlsx whose one shared string, `text`, is the first name of `rows`
/// rows: rust_xlsxwriter writes the workbook (it refuses a string over
/// Excel's limit), then the string is put in its shared strings part.
fn xlsx_sharing_one_text(text: &str, rows: usize) -> Vec<u8> {
    let mut workbook = Workbook::new();
    let sheet = workbook.add_worksheet();
    let rows: Vec<Vec<String>> = (0..rows)
        .map(|n| {
            let mut row = valid_row(n);
            row[0] = "SHARED-TEXT".into();
            row
        })
        .collect();
    crate::write_text_rows(sheet, &REQUIRED_HEADERS, &rows);
    let bytes = workbook.save_to_buffer().unwrap();
    crate::with_part(&bytes, "xl/sharedStrings.xml", |xml| {
        assert_eq!(xml.matches("SHARED-TEXT").count(), 1);
        xml.replace("SHARED-TEXT", text)
    })
}

#[test]
fn a_one_mb_shared_string_in_ten_thousand_cells_stops_at_its_first_cell() {
    let bytes = xlsx_sharing_one_text(&"x".repeat(1 << 20), 10_000);
    assert!(bytes.len() < 512 * 1024, "{} bytes", bytes.len());
    assert_eq!(
        read_error(&bytes, "hostile.xlsx"),
        ReadError::CellTooLong {
            row: 2,
            column: "A".into(),
            limit: 32_767,
        }
    );
    // At the limit, it is read, and shared by every row.
    let report = check_file(
        &xlsx_sharing_one_text(&"ü".repeat(32_767), 100),
        None,
        &CheckOptions::default(),
    )
    .unwrap();
    assert_eq!(report.summary.rows, 100);
    assert_eq!(report.summary.with_errors, 100, "too_long first names");
}
