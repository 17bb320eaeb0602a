//! Files from other writers' test suites (fixtures/README.md names each
//! source), and cases made from them or from rust_xlsxwriter by changing one
//! part: each read as its writer meant it, with no silent change (issue 14).

use roster_shared::cells::CellValue;
use roster_shared::read::{Sheet, read_sheet};
use roster_shared::{Field, ReadOptions};
use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};

use crate::{check, fixture, with_part};

fn sheet(bytes: &[u8], name: &str) -> Sheet {
    read_sheet(bytes, Some(name), &ReadOptions::default()).expect("a readable file")
}

fn text(cell: &CellValue) -> String {
    match cell {
        CellValue::Text(s) => s.to_string(),
        CellValue::Date(s) => s.to_string(),
        other => panic!("not text or a date: {other:?}"),
    }
}

/// sheetjs-1904.xlsx: column B holds dates, column C the text Excel made
/// of each with `TEXT(B1,"YYYY-MM-DD")`. Each B must read as its C.
fn assert_dates_read_as_excel_shows_them(bytes: &[u8]) {
    let sheet = sheet(bytes, "1904.xlsx");
    assert_eq!(sheet.rows.len(), 5);
    for row in &sheet.rows {
        assert!(
            matches!(row.cells[1], CellValue::Date(_)),
            "row {}",
            row.number
        );
        assert_eq!(
            text(&row.cells[1]),
            text(&row.cells[2]),
            "row {}",
            row.number
        );
    }
}

#[test]
fn a_1904_workbook_by_modern_excel_keeps_its_dates() {
    let bytes = fixture("sheetjs-1904.xlsx");
    // Modern Excel's `<x15:workbookPr chartTrackingRefBase="1"/>` in
    // `extLst` comes after the main `workbookPr date1904="1"`.
    let workbook = with_part(&bytes, "xl/workbook.xml", |xml| {
        assert!(xml.contains(r#"<workbookPr date1904="1""#));
        assert!(xml.contains("<x15:workbookPr "));
        xml
    });
    assert_dates_read_as_excel_shows_them(&workbook);
    let first = sheet(&bytes, "1904.xlsx");
    assert_eq!(text(&first.rows[0].cells[1]), "1904-01-02");
}

#[test]
fn the_main_workbook_pr_counts_under_any_prefix() {
    // The same workbook.xml with the main namespace bound to `x:`.
    let bytes = with_part(&fixture("sheetjs-1904.xlsx"), "xl/workbook.xml", |xml| {
        let main = r#"xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main""#;
        let prefixed = xml
            .replace(main, &main.replace("xmlns=", "xmlns:x="))
            .replace("</", "\u{0}")
            .replace('<', "<x:")
            .replace('\u{0}', "</x:")
            .replace("<x:?xml", "<?xml")
            .replace("<x:x15:", "<x15:")
            .replace("</x:x15:", "</x15:")
            .replace("<x:mc:", "<mc:")
            .replace("</x:mc:", "</mc:")
            .replace("<x:xr:", "<xr:")
            .replace("<x:x15ac:", "<x15ac:")
            .replace("<x:xcalcf:", "<xcalcf:")
            .replace("</x:xcalcf:", "</xcalcf:");
        assert!(
            prefixed.contains(r#"<x:workbookPr date1904="1""#),
            "{prefixed}"
        );
        assert!(prefixed.contains("<x15:workbookPr "), "{prefixed}");
        prefixed
    });
    assert_dates_read_as_excel_shows_them(&bytes);
}

#[test]
fn without_date1904_the_same_serials_are_1900_dates() {
    // The control: the test above would see the difference.
    let bytes = with_part(&fixture("sheetjs-1904.xlsx"), "xl/workbook.xml", |xml| {
        xml.replace(r#" date1904="1""#, "")
    });
    let sheet = sheet(&bytes, "1900.xlsx");
    assert_eq!(text(&sheet.rows[0].cells[1]), "1900-01-01");
}

/// A 1904 workbook made from rust_xlsxwriter's output: `date1904` set on
/// the main `workbookPr`, and modern Excel's `extLst` added after it.
#[test]
fn an_x15_workbook_pr_in_ext_lst_does_not_reset_the_date_system() {
    let mut workbook = Workbook::new();
    let sheet_ = workbook.add_worksheet();
    let date = Format::new().set_num_format("yyyy-mm-dd");
    sheet_.write_string(0, 0, "Start").unwrap();
    let may_first = ExcelDateTime::from_ymd(2024, 5, 1).unwrap();
    sheet_
        .write_datetime_with_format(1, 0, &may_first, &date)
        .unwrap();
    let written = workbook.save_to_buffer().unwrap();
    let ext = r#"<extLst><ext uri="{140A7094-0E35-4892-8432-C4D2E57EDEB5}" xmlns:x15="http://schemas.microsoft.com/office/spreadsheetml/2010/11/main"><x15:workbookPr chartTrackingRefBase="1"/></ext></extLst></workbook>"#;
    let bytes = with_part(&written, "xl/workbook.xml", |xml| {
        assert!(xml.contains("<workbookPr"));
        xml.replace("<workbookPr", r#"<workbookPr date1904="1""#)
            .replace("</workbook>", ext)
    });
    // The serial of 2024-05-01 in the 1900 system, read in the 1904
    // system: 1,462 days later.
    let read = sheet(&bytes, "1904.xlsx");
    assert_eq!(text(&read.rows[1].cells[0]), "2028-05-02");
    let plain = sheet(&written, "1900.xlsx");
    assert_eq!(text(&plain.rows[1].cells[0]), "2024-05-01");
}

/// (row number, first cell, second cell) of every row of a CSV.
fn csv_rows(bytes: &[u8]) -> Vec<(u32, String, String)> {
    let sheet = sheet(bytes, "users.csv");
    sheet
        .rows
        .iter()
        .map(|r| {
            let cell = |i: usize| r.cells.get(i).map(|c| c.header_text()).unwrap_or_default();
            (r.number, cell(0), cell(1))
        })
        .collect()
}

fn owned(rows: &[(u32, &str, &str)]) -> Vec<(u32, String, String)> {
    rows.iter()
        .map(|&(n, a, b)| (n, a.to_string(), b.to_string()))
        .collect()
}

#[test]
fn a_record_ending_in_a_bare_cr_is_not_merged_with_the_next() {
    let bytes = fixture("mixed-cr.csv");
    assert_eq!(
        bytes, b"First Name,Last Name\r\nAnn,Lee\rBob,\r\nCy,Day\r\n",
        "the fixture"
    );
    assert_eq!(
        csv_rows(&bytes),
        owned(&[
            (1, "First Name", "Last Name"),
            (2, "Ann", "Lee"),
            (3, "Bob", ""),
            (4, "Cy", "Day"),
        ])
    );
    let report = check(
        b"First Name,Last Name,Username,Email,User ID\r\n\
          Ann,Lee,ann,ann@example.org,1\r\
          Bob,,bob,bob@example.org,2\r\n",
        "users.csv",
    );
    assert_eq!(report.rows.len(), 2);
    assert_eq!(report.rows[0].get(Field::LastName), "Lee");
    assert_eq!(report.rows[1].get(Field::LastName), "");
}

#[test]
fn cr_only_line_ends_end_every_record() {
    assert_eq!(
        csv_rows(b"First Name;Last Name\rAnn;Lee\r\rBob;Ray\r"),
        owned(&[
            (1, "First Name", "Last Name"),
            (2, "Ann", "Lee"),
            (4, "Bob", "Ray"),
        ])
    );
}

#[test]
fn line_ends_of_every_kind_count_inside_quotes_too() {
    // Line 2's record holds a CR and a CRLF inside quotes: it takes lines
    // 2 to 4; line 5 is blank (a lone CR), so the next record is line 6.
    let csv = b"a,b\n\"x\ry\r\nz\",w\n\rc,d\r\ne,f";
    let sheet = sheet(csv, "mixed.csv");
    let spans: Vec<(u32, u32)> = sheet.rows.iter().map(|r| (r.number, r.span)).collect();
    assert_eq!(spans, [(1, 1), (2, 3), (6, 1), (7, 1)]);
    assert_eq!(
        csv_rows(csv),
        owned(&[
            (1, "a", "b"),
            (2, "x\ry\r\nz", "w"),
            (6, "c", "d"),
            (7, "e", "f"),
        ])
    );
}

#[test]
fn an_empty_number_value_is_an_empty_cell() {
    // Apache POI writes `<c r="H9" t="n"><v></v></c>` for 25 cells.
    let sheet = sheet(&fixture("poi-56702.xlsx"), "56702.xlsx");
    assert_eq!(sheet.rows.len(), 475);
    let row9 = sheet.rows.iter().find(|r| r.number == 9).unwrap();
    assert_eq!(row9.cells[6], CellValue::Int(98));
    assert_eq!(row9.cells[7], CellValue::Empty);
    assert_eq!(row9.cells[8], CellValue::Text("No".into()));
}

/// The same zip with every entry renamed by `rename`.
fn renamed(zip_bytes: &[u8], rename: impl Fn(&str) -> String) -> Vec<u8> {
    use std::io::{Cursor, Read, Write};
    let mut archive = zip::ZipArchive::new(Cursor::new(zip_bytes)).unwrap();
    let mut out = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i).unwrap();
        let entry_name = entry.name().unwrap().into_owned();
        let mut data = Vec::new();
        entry.read_to_end(&mut data).unwrap();
        out.start_file(
            rename(&entry_name),
            zip::write::SimpleFileOptions::default(),
        )
        .unwrap();
        out.write_all(&data).unwrap();
    }
    out.finish().unwrap().into_inner()
}

#[test]
fn zip_entries_named_with_backslashes_are_the_same_parts() {
    // calamine's file names every entry `xl\worksheets\sheet26.xml`; with
    // `/` instead it is an ordinary package, read the same.
    let bytes = fixture("calamine-issue_530.xlsx");
    let slashes = renamed(&bytes, |n| n.replace('\\', "/"));
    let as_written = sheet(&bytes, "issue_530.xlsx");
    assert!(as_written.rows.len() > 3);
    assert_eq!(as_written, sheet(&slashes, "issue_530.xlsx"));
    // And the other way round: a package of ours renamed with `\`.
    let users = fixture("users.xlsx");
    let backslashes = renamed(&users, |n| n.replace('/', "\\"));
    assert_eq!(
        check(&backslashes, "users.xlsx").errors,
        check(&users, "users.xlsx").errors
    );
}

#[test]
fn cdata_in_inline_strings_is_text() {
    let sheet = sheet(&fixture("calamine-inlineStr_cdata.xlsx"), "cdata.xlsx");
    let cells: Vec<Vec<String>> = sheet
        .rows
        .iter()
        .map(|r| r.cells.iter().map(CellValue::header_text).collect())
        .collect();
    assert_eq!(cells, [["Hello CDATA", "World"], ["12345", "NormalText"]]);
}

#[test]
fn cdata_in_shared_strings_is_text() {
    let mut workbook = Workbook::new();
    let sheet_ = workbook.add_worksheet();
    sheet_.write_string(0, 0, "First Name").unwrap();
    sheet_.write_string(1, 0, "Zoë").unwrap();
    let bytes = with_part(
        &workbook.save_to_buffer().unwrap(),
        "xl/sharedStrings.xml",
        |xml| {
            assert!(xml.contains("<t>Zoë</t>"));
            xml.replace("<t>Zoë</t>", "<t>Z<![CDATA[o&amp;<ë>]]></t>")
        },
    );
    let read = sheet(&bytes, "cdata.xlsx");
    assert_eq!(read.rows[1].cells[0], CellValue::Text("Zo&amp;<ë>".into()));
}
