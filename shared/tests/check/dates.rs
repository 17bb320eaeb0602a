//! Dates, date-times, times of day and elapsed times read the same in
//! every format (SPEC section 3; issue 14, items 12 and 13). The files are
//! written by openpyxl (serials, and ISO 8601 `t="d"` cells), xlwt, odfpy
//! and LibreOffice from the same values (fixtures/make_fixtures.py).

use roster_shared::cells::CellValue;
use roster_shared::read::read_sheet;
use roster_shared::{Field, ReadOptions};
use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};

use crate::{check, fixture, with_part_edited};

/// Each case of fixtures/make_fixtures.py's `DATES`, as section 3 reads it.
const EXPECTED: [(&str, &str); 7] = [
    ("date", "1900-01-11"),
    ("date-time", "2024-05-01 13:30:00"),
    ("midnight", "2024-05-01"),
    ("time of day", "09:30:00"),
    ("time with seconds", "10:10:10"),
    ("elapsed", "26:30:00"),
    ("milliseconds", "2009-01-01 11:00:00"),
];

/// (case, value) of each row after the header; every value must be a
/// date (so an identifier column calls it `wrong_type`).
fn cases(bytes: &[u8], name: &str) -> Vec<(String, String)> {
    let sheet = read_sheet(bytes, Some(name), &ReadOptions::default()).expect("a readable file");
    sheet.rows[1..]
        .iter()
        .map(|row| {
            let value = &row.cells[1];
            assert!(
                matches!(value, CellValue::Date(_)),
                "{name}, row {}: {value:?}",
                row.number
            );
            (row.cells[0].header_text(), value.header_text())
        })
        .collect()
}

fn expected() -> Vec<(String, String)> {
    EXPECTED
        .iter()
        .map(|&(case, value)| (case.to_string(), value.to_string()))
        .collect()
}

#[test]
fn every_writer_gives_the_same_dates_times_and_durations() {
    for name in ["dates.xlsx", "dates-iso.xlsx", "dates.xls", "dates.ods"] {
        assert_eq!(cases(&fixture(name), name), expected(), "{name}");
    }
}

#[test]
fn libreoffice_files_read_as_libreoffice_shows_them() {
    // LibreOffice saved dates.xlsx as .ods and .xls. Its calendar has no
    // 1900-02-29, so serial 11 is 1900-01-10 to it, and that is the date
    // its .ods holds; everything else reads as from the other writers.
    let mut libreoffice = expected();
    libreoffice[0].1 = "1900-01-10".into();
    assert_eq!(
        cases(&fixture("dates-libreoffice.ods"), "lo.ods"),
        libreoffice
    );
    assert_eq!(
        cases(&fixture("dates-libreoffice.xls"), "lo.xls"),
        expected()
    );
}

#[test]
fn a_time_of_day_and_an_elapsed_time_are_not_dates_of_1899_or_numbers() {
    // The classes of item 13, in one place: the serial 0.3958… under
    // `h:mm:ss` and 1.1041… under `[h]:mm:ss`.
    for name in ["dates.xlsx", "dates.xls"] {
        let read = cases(&fixture(name), name);
        assert_eq!(read[3].1, "09:30:00", "{name}: not 1899-12-31 09:30:00");
        assert_eq!(
            read[5].1, "26:30:00",
            "{name}: not 1.104… or 1900-01-01 02:30:00"
        );
    }
    let ods = cases(&fixture("dates.ods"), "dates.ods");
    assert_eq!(ods[2].1, "2024-05-01", "not 2024-05-01 00:00:00");
    assert_eq!(ods[4].1, "10:10:10", "not PT10H10M10S");
}

/// dates-iso.xlsx (openpyxl's `t="d"` cells) with the `<v>` text `from`
/// (one of [`ISO_VALUES`]) replaced by `to`, as other writers write it:
/// that cell's value.
fn iso_cell(from: &str, to: &str) -> String {
    let bytes = with_part_edited(
        &fixture("dates-iso.xlsx"),
        "xl/worksheets/sheet1.xml",
        &format!("<v>{from}</v>"),
        &format!("<v>{to}</v>"),
    );
    let case = ISO_VALUES.iter().position(|&v| v == from).unwrap();
    cases(&bytes, "iso.xlsx")[case].1.clone()
}

/// The `<v>` texts openpyxl wrote in dates-iso.xlsx, row by row.
const ISO_VALUES: [&str; 7] = [
    "1900-01-11",
    "2024-05-01T13:30:00",
    "2024-05-01T00:00:00",
    "09:30:00",
    "10:10:10",
    "1.104166666666667",
    "2009-01-01T11:00:00.123",
];

#[test]
fn iso_dates_as_excel_strict_writes_them() {
    // Excel writes a Strict OOXML date with twenty digits of fraction.
    assert_eq!(
        iso_cell(
            "2009-01-01T11:00:00.123",
            "2009-01-01T11:00:00.00000020954757600"
        ),
        "2009-01-01 11:00:00"
    );
    // Just under a whole second is that second, as for a serial.
    assert_eq!(
        iso_cell("2009-01-01T11:00:00.123", "2009-01-01T10:59:59.9999997904"),
        "2009-01-01 11:00:00"
    );
    assert_eq!(
        iso_cell("2009-01-01T11:00:00.123", "2009-12-31T23:59:59.99999"),
        "2010-01-01"
    );
    assert_eq!(iso_cell("09:30:00", "09:30:00.0000002"), "09:30:00");
    assert_eq!(iso_cell("09:30:00", "09:30"), "09:30:00");
    // A zone Strict OOXML does not allow: the clock as written.
    assert_eq!(
        iso_cell("2024-05-01T13:30:00", "2024-05-01T13:30:00Z"),
        "2024-05-01 13:30:00"
    );
    // Not a date: kept as the file writes it, still a date for the rules.
    assert_eq!(
        iso_cell("2024-05-01T13:30:00", "2024-02-30T13:30:00"),
        "2024-02-30 13:30:00"
    );
}

#[test]
fn iso_durations_stay_durations() {
    // The elapsed-time cell (style `[hh]:mm:ss`) as a `t="d"` cell: as the
    // date its serial stands for, or as an ISO 8601 duration.
    let elapsed = |v: &str| {
        let bytes = with_part_edited(
            &fixture("dates-iso.xlsx"),
            "xl/worksheets/sheet1.xml",
            r#"t="n"><v>1.104166666666667</v>"#,
            &format!(r#"t="d"><v>{v}</v>"#),
        );
        cases(&bytes, "iso.xlsx")[5].1.clone()
    };
    assert_eq!(elapsed("1900-01-01T02:30:00"), "26:30:00");
    assert_eq!(elapsed("PT26H30M"), "26:30:00");
    assert_eq!(elapsed("02:30:00"), "2:30:00");
    assert_eq!(elapsed("1900-03-01T00:00:00"), "1464:00:00", "serial 61");
}

#[test]
fn a_real_ods_with_dates_and_times() {
    // calamine's tests/date.ods, saved by LibreOffice: a date, a
    // date-time, a time and a time with microseconds, each beside a number.
    let sheet = read_sheet(
        &fixture("calamine-date.ods"),
        Some("date.ods"),
        &ReadOptions::default(),
    )
    .unwrap();
    let values: Vec<String> = sheet
        .rows
        .iter()
        .map(|r| r.cells[0].header_text())
        .collect();
    assert_eq!(
        values,
        ["2021-01-01", "2021-01-01 10:10:10", "10:10:10", "10:10:10"]
    );
}

#[test]
fn a_time_in_an_identifier_column_is_the_wrong_type_and_text_elsewhere() {
    // User ID a time of day, Password an elapsed time, Sub-level-1 a time
    // of day, written by rust_xlsxwriter.
    let mut workbook = Workbook::new();
    let sheet = workbook.add_worksheet();
    let headers = ["First Name", "Last Name", "Username", "Email", "User ID"];
    let mut row = crate::valid_row(1);
    row[4].clear();
    crate::write_text_rows(sheet, &headers, &[row]);
    let time = Format::new().set_num_format("hh:mm:ss");
    let elapsed = Format::new().set_num_format("[h]:mm:ss");
    let half_past_nine = ExcelDateTime::from_hms(9, 30, 0).unwrap();
    sheet.write_string(0, 5, "Password").unwrap();
    sheet.write_string(0, 6, "Sub-level-1").unwrap();
    sheet
        .write_datetime_with_format(1, 4, &half_past_nine, &time)
        .unwrap();
    sheet
        .write_number_with_format(1, 5, 26.5 / 24.0, &elapsed)
        .unwrap();
    sheet
        .write_datetime_with_format(1, 6, &half_past_nine, &time)
        .unwrap();
    let report = check(&workbook.save_to_buffer().unwrap(), "times.xlsx");
    let row = &report.rows[0];
    assert_eq!(row.get(Field::UserId), "09:30:00");
    assert_eq!(row.get(Field::Password), "26:30:00");
    assert_eq!(row.get(Field::SubLevel1), "09:30:00");
    assert_eq!(
        report
            .errors
            .iter()
            .map(|e| (e.row, e.message.as_str()))
            .collect::<Vec<_>>(),
        [(
            2,
            "User ID: a date is not allowed here; format the column as text"
        )]
    );
}
