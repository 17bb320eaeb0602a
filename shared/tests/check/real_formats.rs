//! Good files that Roster refused or read as something else, by format
//! (issue 14, items 6, 8, 9, 14, 15 and 16): files from other writers' test
//! suites and from real writers (fixtures/README.md), and copies of them
//! changed in one place, each read as its writer meant it.

use std::io::{Cursor, Read, Write};
use std::time::{Duration, Instant};

use roster_shared::cells::CellValue;
use roster_shared::read::{Format, Sheet, read_sheet};
use roster_shared::{CheckOptions, ReadError, ReadOptions, check_file};
use rust_xlsxwriter::Workbook;

use crate::{check, fixture, messages, with_part};

fn sheet(bytes: &[u8], name: &str) -> Sheet {
    read_sheet(bytes, Some(name), &ReadOptions::default()).expect("a readable file")
}

fn read_error(bytes: &[u8], name: &str) -> ReadError {
    read_sheet(bytes, Some(name), &ReadOptions::default()).unwrap_err()
}

/// The cell at a 1-based row number and 0-based column.
fn cell(sheet: &Sheet, row: u32, col: usize) -> CellValue {
    let found = sheet.rows.iter().find(|r| r.number == row);
    let found = found.unwrap_or_else(|| panic!("no row {row}"));
    found.cells.get(col).cloned().unwrap_or(CellValue::Empty)
}

fn text(value: &str) -> CellValue {
    CellValue::Text(value.into())
}

/// The same zip with each entry passed through `change`, which may rename
/// it, rewrite it, or drop it (`None`).
fn rebuilt(
    zip_bytes: &[u8],
    change: impl Fn(&str, Vec<u8>) -> Option<(String, Vec<u8>)>,
) -> Vec<u8> {
    let mut archive = zip::ZipArchive::new(Cursor::new(zip_bytes)).unwrap();
    let mut out = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i).unwrap();
        let name = entry.name().unwrap().into_owned();
        let mut data = Vec::new();
        entry.read_to_end(&mut data).unwrap();
        if let Some((name, data)) = change(&name, data) {
            out.start_file(name, zip::write::SimpleFileOptions::default())
                .unwrap();
            out.write_all(&data).unwrap();
        }
    }
    out.finish().unwrap().into_inner()
}

fn replaced(data: &[u8], from: &str, to: &str) -> Vec<u8> {
    let xml = String::from_utf8(data.to_vec()).unwrap();
    assert!(xml.contains(from), "{xml} holds no {from:?}");
    xml.replace(from, to).into_bytes()
}

/// A workbook by rust_xlsxwriter with a shared string, a number and a date
/// style in use: every part the reader looks for.
fn users_xlsx() -> Vec<u8> {
    let mut workbook = Workbook::new();
    let sheet = workbook.add_worksheet();
    sheet.set_name("Users").unwrap();
    crate::write_text_rows(sheet, &crate::REQUIRED_HEADERS, &[crate::valid_row(1)]);
    sheet.write_number(2, 4, 1002).unwrap();
    let date = rust_xlsxwriter::Format::new().set_num_format("yyyy-mm-dd");
    let day = rust_xlsxwriter::ExcelDateTime::from_ymd(2024, 5, 1).unwrap();
    sheet.write_datetime_with_format(2, 5, &day, &date).unwrap();
    workbook.save_to_buffer().unwrap()
}

// Item 6: the workbook is where the package says it is.

#[test]
fn a_workbook_is_found_through_the_package_relationships() {
    // calamine's minimal package: `/workbook.xml` at the root, named only
    // by `_rels/.rels` and `[Content_Types].xml`; no shared strings.
    let read = sheet(&fixture("calamine-minimal_package.xlsx"), "minimal.xlsx");
    assert_eq!(read.format, Format::Xlsx);
    // 196 rows, of which row 2 holds only spaces.
    assert_eq!(read.rows.len(), 195);
    assert_eq!(cell(&read, 1, 0), text("ARREST BOOKINGS for 01/30/17"));
    assert_eq!(cell(&read, 3, 0), text("BKG_NUM"));
    assert_eq!(cell(&read, 196, 0), text("4895730"));
    assert_eq!(cell(&read, 196, 7), text("MARTINEZ"));
}

#[test]
fn a_workbook_moved_and_renamed_is_read_the_same() {
    // Excel's layout moved: the workbook is `Excel/Book.xml`, its sheet
    // reached by `..`, its shared strings by an absolute target with a
    // percent escape, its styles by the usual relative one.
    let original = users_xlsx();
    let moved = rebuilt(&original, |name, data| {
        Some(match name {
            "_rels/.rels" => (
                name.into(),
                replaced(
                    &data,
                    "Target=\"xl/workbook.xml\"",
                    "Target=\"Excel/Book.xml\"",
                ),
            ),
            "[Content_Types].xml" => (
                name.into(),
                replaced(
                    &data,
                    "PartName=\"/xl/workbook.xml\"",
                    "PartName=\"/Excel/Book.xml\"",
                ),
            ),
            "xl/workbook.xml" => ("Excel/Book.xml".into(), data),
            "xl/_rels/workbook.xml.rels" => {
                let data = replaced(&data, "Target=\"worksheets/", "Target=\"../xl/worksheets/");
                let data = replaced(
                    &data,
                    "Target=\"sharedStrings.xml\"",
                    "Target=\"/Strings/Shared%20Strings.xml\"",
                );
                let data = replaced(
                    &data,
                    "Target=\"styles.xml\"",
                    "Target=\"../xl/styles.xml\"",
                );
                ("Excel/_rels/Book.xml.rels".into(), data)
            }
            "xl/sharedStrings.xml" => ("Strings/Shared Strings.xml".into(), data),
            _ => (name.into(), data),
        })
    });
    assert_eq!(sheet(&moved, "moved.xlsx"), sheet(&original, "users.xlsx"));
    let read = sheet(&moved, "moved.xlsx");
    assert_eq!(cell(&read, 2, 0), text("Ann"));
    assert_eq!(cell(&read, 3, 4).header_text(), "1002");
    assert!(matches!(cell(&read, 3, 5), CellValue::Date(_)));
}

#[test]
fn part_names_are_compared_ignoring_case() {
    let original = users_xlsx();
    let upper = rebuilt(&original, |name, data| Some((name.to_uppercase(), data)));
    assert_eq!(sheet(&upper, "upper.xlsx"), sheet(&original, "users.xlsx"));
}

#[test]
fn only_the_package_map_says_where_the_workbook_is() {
    // Without `_rels/.rels`, `[Content_Types].xml` names the workbook.
    let original = users_xlsx();
    let moved = rebuilt(&original, |name, data| match name {
        "_rels/.rels" => None,
        "[Content_Types].xml" => Some((
            name.into(),
            replaced(
                &data,
                "PartName=\"/xl/workbook.xml\"",
                "PartName=\"/xl/main.xml\"",
            ),
        )),
        "xl/workbook.xml" => Some(("xl/main.xml".into(), data)),
        "xl/_rels/workbook.xml.rels" => Some(("xl/_rels/main.xml.rels".into(), data)),
        _ => Some((name.into(), data)),
    });
    assert_eq!(sheet(&moved, "moved.xlsx"), sheet(&original, "users.xlsx"));
}

#[test]
fn another_office_document_is_named_as_such() {
    // A word-processing package renamed .xlsx: the package says what its
    // main part is.
    let original = users_xlsx();
    let document = rebuilt(&original, |name, data| match name {
        "_rels/.rels" => Some((
            name.into(),
            replaced(
                &data,
                "Target=\"xl/workbook.xml\"",
                "Target=\"word/document.xml\"",
            ),
        )),
        "[Content_Types].xml" => Some((
            name.into(),
            replaced(
                &data,
                "PartName=\"/xl/workbook.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml\"",
                "PartName=\"/word/document.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml\"",
            ),
        )),
        "xl/workbook.xml" => Some(("word/document.xml".into(), data)),
        n if n.starts_with("xl/") => None,
        _ => Some((name.into(), data)),
    });
    assert_eq!(
        read_error(&document, "letter.xlsx").to_string(),
        "this is not a spreadsheet Roster can read: use .xlsx, .xls, .ods or .csv (the file is an Office document but not an Excel workbook)"
    );
}
