//! Text in an .xlsx read as its XML means it: line ends (XML 1.0 §2.11)
//! and the `_xHHHH_` escapes of formula results. Real rust_xlsxwriter
//! files; where that writer never writes the case, its XML edited.

use roster_shared::Field;
use rust_xlsxwriter::{Formula, Workbook};

use crate::{REQUIRED_HEADERS, check, valid_row, with_part_edited, write_text_rows};

#[test]
fn a_literal_cr_lf_in_the_xml_is_one_line_break() {
    let mut workbook = Workbook::new();
    let sheet = workbook.add_worksheet();
    let mut rows = vec![valid_row(1), valid_row(2)];
    rows[0][1] = "Lee|Jones".into();
    rows[1][1] = "Lee#Jones".into();
    write_text_rows(sheet, &REQUIRED_HEADERS, &rows);
    let xlsx = workbook.save_to_buffer().unwrap();
    // Writers on Windows may write a line break inside a text as CR LF,
    // and an old one as CR alone: both are one LF to an XML reader.
    let xlsx = with_part_edited(&xlsx, "xl/sharedStrings.xml", "Lee|Jones", "Lee\r\nJones");
    let xlsx = with_part_edited(&xlsx, "xl/sharedStrings.xml", "Lee#Jones", "Lee\rJones");
    let report = check(&xlsx, "crlf.xlsx");
    for row in &report.rows {
        assert_eq!(row.get(Field::LastName), "Lee\nJones", "row {}", row.row);
    }
}

#[test]
fn an_escaped_cr_stays_a_cr() {
    let mut workbook = Workbook::new();
    let sheet = workbook.add_worksheet();
    let mut rows = vec![valid_row(1)];
    rows[0][1] = "Lee\r\nJones".into(); // written as `Lee_x000D_` + LF
    write_text_rows(sheet, &REQUIRED_HEADERS, &rows);
    let report = check(&workbook.save_to_buffer().unwrap(), "cr.xlsx");
    assert_eq!(report.rows[0].get(Field::LastName), "Lee\r\nJones");
}

#[test]
fn a_formulas_text_result_decodes_excel_escapes() {
    let mut workbook = Workbook::new();
    let sheet = workbook.add_worksheet();
    write_text_rows(sheet, &REQUIRED_HEADERS, &[valid_row(1), valid_row(2)]);
    // rust_xlsxwriter writes the cached text as Excel does, `An_x0007_n`,
    // in a `t="str"` cell.
    sheet
        .write_formula(
            1,
            0,
            Formula::new("=\"An\"&CHAR(7)&\"n\"").set_result("An\u{7}n"),
        )
        .unwrap();
    sheet
        .write_formula(2, 0, Formula::new("=\"Bo\"&\"b\"").set_result("Bob"))
        .unwrap();
    let report = check(&workbook.save_to_buffer().unwrap(), "formula.xlsx");
    let row = |n: u32| report.rows.iter().find(|r| r.row == n).unwrap();
    assert_eq!(row(2).get(Field::FirstName), "An\u{7}n");
    assert_eq!(row(3).get(Field::FirstName), "Bob");
    assert_eq!(
        crate::messages(&report),
        vec![(
            2,
            "First Name: line breaks and control characters are not allowed".to_string()
        )]
    );
}
