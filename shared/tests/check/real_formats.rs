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
fn a_damaged_package_relationships_part_is_passed_over() {
    // Excel's usual names still find the workbook, as before.
    let original = users_xlsx();
    let damaged = rebuilt(&original, |name, data| {
        Some(match name {
            "_rels/.rels" => (
                name.into(),
                b"<Relationships><Relationship Id=\"rId1".to_vec(),
            ),
            _ => (name.into(), data),
        })
    });
    assert_eq!(
        sheet(&damaged, "damaged.xlsx"),
        sheet(&original, "users.xlsx")
    );
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

// Item 8: the .xls pre-scan reads the compound file as calamine does.

/// users.xls (xlwt) with its bytes changed by `edit`.
fn users_xls_edited(edit: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    let mut bytes = fixture("users.xls");
    edit(&mut bytes);
    bytes
}

fn u32_at(bytes: &[u8], at: usize) -> usize {
    u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap()) as usize
}

/// The offset of directory entry `i` in a file of 512-byte sectors whose
/// directory fits one sector (xlwt's).
fn directory_entry(bytes: &[u8], i: usize) -> usize {
    512 + u32_at(bytes, 48) * 512 + i * 128
}

#[test]
fn an_xls_with_the_other_byte_order_mark_is_read() {
    let original = fixture("users.xls");
    assert_eq!(original[28..30], [0xFE, 0xFF], "the usual mark, 0xFFFE");
    let swapped = users_xls_edited(|b| b[28..30].copy_from_slice(&[0xFF, 0xFE]));
    assert_eq!(sheet(&swapped, "users.xls"), sheet(&original, "users.xls"));
}

#[test]
fn an_xls_whose_directory_names_are_out_of_order_is_read() {
    // A second stream, `\u{5}SummaryInformation`, as the Workbook entry's
    // left sibling: the compound file format orders names by length first,
    // so it belongs on the right; writers that sort alphabetically put it
    // on the left, and calamine, which scans the entries, reads the file.
    let original = fixture("users.xls");
    let edited = users_xls_edited(|b| {
        let workbook = directory_entry(b, 1);
        assert_eq!(
            &b[workbook..workbook + 16],
            "Workbook"
                .encode_utf16()
                .flat_map(u16::to_le_bytes)
                .collect::<Vec<_>>()
        );
        let summary = directory_entry(b, 2);
        assert_eq!(b[summary + 66], 0, "an unused entry");
        let name: Vec<u8> = "\u{5}SummaryInformation\0"
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect();
        b[summary..summary + name.len()].copy_from_slice(&name);
        b[summary + 64..summary + 66].copy_from_slice(&(name.len() as u16).to_le_bytes());
        b[summary + 66] = 2; // a stream
        b[summary + 116..summary + 120].copy_from_slice(&0xFFFF_FFFEu32.to_le_bytes());
        b[summary + 120..summary + 124].copy_from_slice(&0u32.to_le_bytes());
        b[workbook + 68..workbook + 72].copy_from_slice(&2u32.to_le_bytes());
    });
    assert_eq!(sheet(&edited, "users.xls"), sheet(&original, "users.xls"));
}

#[test]
fn a_looping_chain_in_an_xls_ends_in_one_error_at_once() {
    // The directory's sector chained to itself: calamine would follow it
    // for ever, growing its copy; so would a Workbook stream's chain that
    // loops under a declared size of 4 GB.
    let fat_entry = |b: &[u8], sector: usize| 512 + u32_at(b, 76) * 512 + sector * 4;
    let directory_loops = users_xls_edited(|b| {
        let dir = u32_at(b, 48);
        let at = fat_entry(b, dir);
        b[at..at + 4].copy_from_slice(&(dir as u32).to_le_bytes());
    });
    let stream_loops = users_xls_edited(|b| {
        let workbook = directory_entry(b, 1);
        let start = u32_at(b, workbook + 116);
        b[workbook + 120..workbook + 124].copy_from_slice(&0xFFFF_FFF0u32.to_le_bytes());
        let mut sector = start;
        while u32_at(b, fat_entry(b, sector)) != 0xFFFF_FFFE {
            sector = u32_at(b, fat_entry(b, sector));
        }
        let at = fat_entry(b, sector);
        b[at..at + 4].copy_from_slice(&(start as u32).to_le_bytes());
    });
    for bytes in [directory_loops, stream_loops] {
        let started = Instant::now();
        let err = read_error(&bytes, "loop.xls");
        assert!(
            matches!(err, ReadError::Damaged { format: ".xls", .. }),
            "{err}"
        );
        assert!(started.elapsed() < Duration::from_secs(2));
    }
}

/// users.xls with its sheet's DIMENSIONS record declaring rows
/// `first..last` (exclusive) and columns `0..cols`.
fn users_xls_declaring(first: u32, last: u32, cols: u16) -> Vec<u8> {
    users_xls_edited(|b| {
        // xlwt's BIFF8 record: type 0x0200, 14 bytes.
        let at = b
            .windows(4)
            .position(|w| w == [0x00, 0x02, 0x0E, 0x00])
            .expect("a DIMENSIONS record");
        b[at + 4..at + 8].copy_from_slice(&first.to_le_bytes());
        b[at + 8..at + 12].copy_from_slice(&last.to_le_bytes());
        b[at + 12..at + 14].copy_from_slice(&0u16.to_le_bytes());
        b[at + 14..at + 16].copy_from_slice(&cols.to_le_bytes());
    })
}

#[test]
fn an_xls_declaring_more_cells_than_a_sheet_holds_is_refused() {
    // calamine reserves room for the declared area before it reads a cell:
    // four billion rows aborted the process. A 5.6 KB file.
    let bytes = users_xls_declaring(0, u32::MAX, 256);
    assert!(bytes.len() < 8 * 1024);
    assert_eq!(
        read_error(&bytes, "dims.xls"),
        ReadError::SheetAreaTooLarge { limit: 4_000_000 }
    );
    // So does a first row past the last, which calamine's subtraction wraps.
    assert_eq!(
        read_error(&users_xls_declaring(10, 5, 11), "dims.xls"),
        ReadError::SheetAreaTooLarge { limit: 4_000_000 }
    );
    // The whole of a sheet is what any writer may declare: read as usual.
    let original = fixture("users.xls");
    let whole = users_xls_declaring(0, 65_536, 256);
    assert_eq!(sheet(&whole, "users.xls"), sheet(&original, "users.xls"));
}

// Item 15: BIFF8 strings are Unicode whatever code page the file names.

#[test]
fn xls_strings_are_unicode_whatever_the_code_page_says() {
    // Spreadsheet::WriteExcel names code page 1252 and writes "Hi Excel!"
    // one byte a character, "Łukasz" in UTF-16.
    let bytes = fixture("writeexcel-codepage-1252.xls");
    let read = sheet(&bytes, "writeexcel.xls");
    assert_eq!(cell(&read, 1, 0), text("First Name"));
    assert_eq!(cell(&read, 2, 0), text("Hi Excel!"));
    assert_eq!(cell(&read, 2, 1), text("Zoë"));
    assert_eq!(cell(&read, 3, 0), text("Łukasz"));
    assert_eq!(cell(&read, 3, 1), text("日本"));
    let report = check(&bytes, "writeexcel.xls");
    assert_eq!(report.summary.rows, 2);
    assert_eq!(messages(&report), []);
}

// Item 9: trailing empty cells cost calamine nothing, and nothing here.

#[test]
fn trailing_empty_cells_repeated_to_the_last_column_are_not_counted() {
    // LibreOffice ends every row with an empty cell repeated to column
    // XFD: 305 rows of 16,384 cells, of which 9 rows of 3 hold values.
    let read = sheet(&fixture("phpspreadsheet-issue.2507.ods"), "issue.2507.ods");
    assert_eq!(read.format, Format::Ods);
    let numbers: Vec<u32> = read.rows.iter().map(|r| r.number).collect();
    assert_eq!(numbers, (2..=10).collect::<Vec<_>>());
    assert_eq!(cell(&read, 3, 1), text("Номенклатура"));
    assert_eq!(cell(&read, 3, 2), text("Складское наличие,\nКол-во"));
    assert_eq!(cell(&read, 4, 2), CellValue::Number(0.225));
    assert_eq!(cell(&read, 10, 3), CellValue::Number(98000.0));
}

/// content.xml of an .ods as odfpy writes it: `rows` data rows of the
/// required fields, each ended as LibreOffice ends rows.
fn ods_of_many_rows(rows: usize, trailing: &str) -> Vec<u8> {
    let mut xml = String::new();
    let string_cell = |v: &str| {
        format!(
            "<table:table-cell office:value-type=\"string\"><text:p>{v}</text:p></table:table-cell>"
        )
    };
    let row = |cells: Vec<String>| {
        format!(
            "<table:table-row>{}{trailing}</table:table-row>",
            cells.concat()
        )
    };
    xml.push_str(&row(crate::REQUIRED_HEADERS
        .iter()
        .map(|h| string_cell(h))
        .collect()));
    for n in 0..rows {
        xml.push_str(&row(crate::valid_row(n)
            .iter()
            .map(|v| string_cell(v))
            .collect()));
    }
    with_part(&fixture("users.ods"), "content.xml", |content| {
        let start = content.find("<table:table-row").expect("a row");
        let end = content.rfind("</table:table-row>").expect("a row") + "</table:table-row>".len();
        format!("{}{xml}{}", &content[..start], &content[end..])
    })
}

#[test]
fn rows_padded_to_the_last_column_read_like_plain_rows() {
    let padded = ods_of_many_rows(
        300,
        "<table:table-cell table:number-columns-repeated=\"16379\"/>",
    );
    let plain = ods_of_many_rows(300, "");
    let report = check(&padded, "padded.ods");
    assert_eq!(report.summary.rows, 300);
    assert_eq!(report.summary.valid, 300);
    assert_eq!(report.rows, check(&plain, "plain.ods").rows);
}

#[test]
fn values_far_out_in_many_rows_still_stop_the_ods_read() {
    // 5,000 rows with one value in column AHN (900): calamine keeps each
    // row's cells up to its last value, 4.5 million in all.
    let far = "<table:table-cell table:number-columns-repeated=\"894\"/>\
               <table:table-cell office:value-type=\"string\"><text:p>x</text:p></table:table-cell>";
    let bytes = ods_of_many_rows(5_000, far);
    assert_eq!(
        read_error(&bytes, "far.ods"),
        ReadError::SheetAreaTooLarge { limit: 4_000_000 }
    );
}

// Item 14: .ods error cells are errors.

#[test]
fn ods_error_cells_are_cell_errors() {
    // PhpSpreadsheet's OOCalcTest.ods: `=SUM(marksrange)` shows #NAME?,
    // `=12/0` #DIV/0!, each marked `calcext:value-type="error"`.
    let bytes = fixture("phpspreadsheet-OOCalcTest.ods");
    let read = sheet(&bytes, "OOCalcTest.ods");
    assert_eq!(read.name, "Sample Data");
    assert_eq!(cell(&read, 7, 7), CellValue::Error("#NAME?".into()));
    assert_eq!(cell(&read, 11, 6), CellValue::Error("#DIV/0!".into()));
}

#[test]
fn an_ods_error_is_an_error_and_the_same_text_typed_is_text() {
    // users.ods (odfpy) with Zoë's first name a LibreOffice error cell,
    // `Err:502`, and Bob's a typed `#DIV/0!`.
    let bytes = with_part(&fixture("users.ods"), "content.xml", |xml| {
        let error = "<table:table-cell table:formula=\"of:=ACOS(2)\" office:value-type=\"string\" \
                     office:string-value=\"\" calcext:value-type=\"error\"><text:p>Err:502</text:p></table:table-cell>";
        let typed = "<table:table-cell office:value-type=\"string\"><text:p>#DIV/0!</text:p></table:table-cell>";
        let zoe = "<table:table-cell office:value-type=\"string\"><text:p>Zoë</text:p></table:table-cell>";
        let bob = "<table:table-cell office:value-type=\"string\"><text:p>Bob</text:p></table:table-cell>";
        assert!(xml.contains(zoe) && xml.contains(bob), "{xml}");
        xml.replace(zoe, error)
            .replace(bob, typed)
            .replace(
                "<office:document-content ",
                "<office:document-content xmlns:calcext=\"urn:org:documentfoundation:names:experimental:calc:xmlns:calcext:1.0\" ",
            )
    });
    let read = sheet(&bytes, "errors.ods");
    assert_eq!(cell(&read, 2, 0), CellValue::Error("Err:502".into()));
    assert_eq!(cell(&read, 3, 0), text("#DIV/0!"));
    let report = check(&bytes, "errors.ods");
    let first_names: Vec<(u32, String)> = messages(&report)
        .into_iter()
        .filter(|(_, m)| m.starts_with("First Name"))
        .collect();
    assert_eq!(
        first_names,
        [
            (
                2,
                "First Name: the cell holds an error (Err:502)".to_string()
            ),
            (7, "First Name: This value is required".to_string()),
        ]
    );
}

#[test]
fn ods_error_cells_belong_to_their_own_table() {
    // Before users.ods's table: a table with no name (calamine skips it)
    // whose A2 is an error, and a second one named Users, whose sheet
    // calamine replaces with the later one of that name.
    let error_row = "<table:table-row><table:table-cell office:value-type=\"string\"><text:p>x</text:p></table:table-cell></table:table-row>\
        <table:table-row><table:table-cell office:value-type=\"string\" office:string-value=\"\" calcext:value-type=\"error\"><text:p>#REF!</text:p></table:table-cell></table:table-row>";
    let bytes = with_part(&fixture("users.ods"), "content.xml", |xml| {
        let table = xml.find("<table:table ").expect("a table");
        format!(
            "{}<table:table>{error_row}</table:table><table:table table:name=\"Users\">{error_row}</table:table>{}",
            &xml[..table],
            &xml[table..]
        )
        .replace(
            "<office:document-content ",
            "<office:document-content xmlns:calcext=\"urn:org:documentfoundation:names:experimental:calc:xmlns:calcext:1.0\" ",
        )
    });
    let read = sheet(&bytes, "tables.ods");
    assert_eq!(read.name, "Users");
    assert_eq!(cell(&read, 2, 0), text("Zoë"));
    assert_eq!(read, sheet(&fixture("users.ods"), "users.ods"));
}

// Item 16: UTF-16 text with a byte-order mark is a CSV.

#[test]
fn utf16_csvs_with_a_byte_order_mark_are_read() {
    // Python's csv module through the utf-16 codecs: the same users as
    // users-cp1252-tab.csv, so the same report.
    let expected = check(&fixture("users-cp1252-tab.csv"), "users.csv");
    assert!(expected.summary.rows > 0);
    for name in ["users-utf16le-tab.csv", "users-utf16be-comma.csv"] {
        let report = check(&fixture(name), name);
        assert_eq!(report.source.format, Format::Csv, "{name}");
        assert_eq!(report.rows, expected.rows, "{name}");
        assert_eq!(messages(&report), messages(&expected), "{name}");
    }
}

#[test]
fn utf16_without_a_byte_order_mark_is_refused_by_name() {
    let err = check_file(
        &fixture("users-utf16le-no-bom.csv"),
        Some("users.csv"),
        &CheckOptions::default(),
    )
    .unwrap_err();
    assert!(matches!(err, ReadError::NotASpreadsheet { .. }), "{err}");
    assert!(err.to_string().contains("UTF-16"), "{err}");
}
