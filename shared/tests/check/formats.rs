//! The same users in five files from four writers give the same report.

use roster_shared::{Field, Format};

use crate::{check, fixture, messages};

fn expected_errors() -> Vec<(u32, String)> {
    [
        (
            2,
            "Username: This value is used more than once in the file (rows 2, 6)",
        ),
        (
            2,
            "User ID: This value is used more than once in the file (rows 2, 5)",
        ),
        (3, "Username: spaces not allowed"),
        (3, "Email: Please enter a valid email address"),
        (3, "Password: must be at least 8 characters"),
        (3, "Sub-level-2: Sub-level-1 must be filled in first"),
        (3, "Special Needs: use yes or no"),
        (3, "Time Zone: unknown time zone"),
        (
            5,
            "User ID: This value is used more than once in the file (rows 2, 5)",
        ),
        (
            6,
            "Username: This value is used more than once in the file (rows 2, 6)",
        ),
        (7, "First Name: This value is required"),
        (7, "Username: spaces not allowed"),
        (7, "Email: leading or trailing spaces are not allowed"),
    ]
    .into_iter()
    .map(|(r, m)| (r, m.to_string()))
    .collect()
}

#[test]
fn every_format_gives_the_same_report() {
    let files = [
        ("users.xlsx", Format::Xlsx, "Users"),
        ("users.xls", Format::Xls, "Users"),
        ("users.ods", Format::Ods, "Users"),
        ("users-utf8-bom-semicolon.csv", Format::Csv, ""),
        ("users-cp1252-tab.csv", Format::Csv, ""),
    ];
    let first = check(&fixture(files[0].0), files[0].0);
    for (name, format, sheet) in files {
        let report = check(&fixture(name), name);
        assert_eq!(report.source.format, format, "{name}");
        assert_eq!(
            report.source.sheet, sheet,
            "{name}: the hidden sheet is skipped"
        );
        assert_eq!(
            (
                report.source.header_row,
                report.source.data_rows,
                report.source.blank_rows
            ),
            (1, 5, 1),
            "{name}"
        );
        assert_eq!(messages(&report), expected_errors(), "{name}");
        assert_eq!(report.rows, first.rows, "{name}: converted values");
        assert_eq!(report.unmapped_headers, vec!["Notes"], "{name}");
        assert_eq!(
            (
                report.summary.rows,
                report.summary.valid,
                report.summary.with_errors
            ),
            (5, 0, 5)
        );
    }
}

#[test]
fn values_are_converted_and_names_trimmed() {
    let report = check(&fixture("users.xls"), "users.xls");
    let row = |n: u32| report.rows.iter().find(|r| r.row == n).unwrap();
    assert_eq!(row(2).get(Field::FirstName), "Zoë");
    assert_eq!(row(2).get(Field::UserId), "1001");
    assert_eq!(
        row(5).get(Field::FirstName),
        "Ann",
        "names are trimmed silently"
    );
    assert_eq!(row(6).get(Field::UserId), "1005", "1005.0 reads as 1005");
    assert_eq!(row(6).get(Field::SpecialNeeds), "No");
}

#[test]
fn spreadsheet_cell_types_follow_section_3() {
    let report = check(&fixture("types.xlsx"), "types.xlsx");
    assert_eq!(
        messages(&report),
        vec![
            (2, "Email: the cell holds an error (#N/A)".to_string()),
            (
                3,
                "User ID: a date is not allowed here; format the column as text".to_string()
            ),
            (
                4,
                "User ID: the number is too long to be exact in Excel; format the column as text"
                    .to_string()
            ),
        ]
    );
    let row = |n: u32| report.rows.iter().find(|r| r.row == n).unwrap();
    assert_eq!(
        row(2).get(Field::SpecialNeeds),
        "yes",
        "TRUE in Special Needs"
    );
    assert_eq!(row(3).get(Field::SpecialNeeds), "no");
    assert_eq!(row(3).get(Field::UserId), "2024-01-12");
    assert_eq!(row(5).get(Field::UserId), "12.5");
    assert_eq!(row(5).get(Field::SyncKey), "TRUE", "booleans elsewhere");
    assert_eq!(row(5).get(Field::SpecialNeeds), "YES");
}

#[test]
fn a_sheet_can_be_chosen_by_name() {
    use roster_shared::{CheckOptions, ReadError, ReadOptions, check_file};
    let options = |sheet: &str| CheckOptions {
        read: ReadOptions {
            sheet: Some(sheet.into()),
            ..ReadOptions::default()
        },
        ..CheckOptions::default()
    };
    let bytes = fixture("users.xlsx");
    let err = check_file(&bytes, None, &options("Lookup")).unwrap_err();
    assert_eq!(
        err,
        ReadError::NoDataRows {
            sheet: "Lookup".into(),
            header_row: 1
        }
    );
    let err = check_file(&bytes, None, &options("Nope")).unwrap_err();
    assert_eq!(
        err.to_string(),
        "there is no sheet named \"Nope\"; the sheets are: \"Lookup\", \"Users\""
    );
    assert!(
        check_file(&bytes, None, &options("users")).is_ok(),
        "case-insensitive"
    );
}

#[test]
fn a_sheet_larger_than_one_chunk_is_read_whole() {
    // ~20,000 rows make a sheet part of several MiB: it is scanned in
    // chunks, and no row or cell may be lost at a chunk's edge.
    let rows: Vec<Vec<String>> = (0..20_000).map(crate::valid_row).collect();
    let bytes = crate::xlsx_of(&crate::REQUIRED_HEADERS, &rows);
    let report = check(&bytes, "big.xlsx");
    assert_eq!(report.summary.rows, 20_000);
    assert_eq!(report.errors, vec![]);
    for (i, row) in report.rows.iter().enumerate() {
        assert_eq!(row.row, i as u32 + 2);
        assert_eq!(row.get(Field::Username), format!("ann{i}"));
        assert_eq!(row.get(Field::UserId), format!("{}", 1000 + i));
    }
}

#[test]
fn a_row_longer_than_one_chunk_is_read_whole() {
    // Forty formulas of 8,000 characters make one row of over 320 KB, more
    // than the 256 KiB the sheet is scanned in at a time.
    let mut workbook = rust_xlsxwriter::Workbook::new();
    let sheet = workbook.add_worksheet();
    let rows = vec![crate::valid_row(1), crate::valid_row(2)];
    crate::write_text_rows(sheet, &crate::REQUIRED_HEADERS, &rows);
    let formula = format!("=\"{}\"", "x".repeat(8_000));
    for col in 5..45 {
        sheet.write_formula(1, col, formula.as_str()).unwrap();
    }
    sheet.write_string(1, 45, "last").unwrap();
    let bytes = workbook.save_to_buffer().unwrap();
    let table = roster_shared::read_table(&bytes, Some("long.xlsx"), &Default::default()).unwrap();
    assert_eq!(table.rows.len(), 2);
    assert_eq!(table.rows[0].cells.len(), 46);
    assert_eq!(
        table.rows[0].cells[45],
        roster_shared::cells::CellValue::Text("last".into())
    );
    assert_eq!(table.rows[1].number, 3);
    assert_eq!(
        table.rows[1].cells[2],
        roster_shared::cells::CellValue::Text("ann2".into())
    );
}
