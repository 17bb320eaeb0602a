//! The .xlsx downloads: an import's errors file and the template.

use std::collections::HashMap;

use roster_shared::{Field, MappedRow, RowError};

/// The fields of the errors file and the template: SPEC section 2's
/// columns. The password is left out of the errors file: it is never
/// returned (an empty password changes nothing on a second import).
fn sheet_fields(with_password: bool) -> Vec<Field> {
    Field::ALL
        .into_iter()
        .filter(|f| with_password || *f != Field::Password)
        .collect()
}

/// A cell as text that a spreadsheet never runs as a formula: every cell is
/// written as a string, and those starting like a formula (`=`, `+`, `-`,
/// `@`, tab, CR) also get the quote prefix, so editing them keeps them text.
fn write_text(
    sheet: &mut rust_xlsxwriter::Worksheet,
    row: u32,
    col: u16,
    value: &str,
    quoted: &rust_xlsxwriter::Format,
) -> std::result::Result<(), rust_xlsxwriter::XlsxError> {
    if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        sheet.write_string_with_format(row, col, value, quoted)?;
    } else if !value.is_empty() {
        sheet.write_string(row, col, value)?;
    }
    Ok(())
}

/// The rows with errors, as uploaded (names trimmed, passwords left out),
/// with the spreadsheet's row number first and every message last.
pub fn errors_workbook(rows: &[MappedRow], errors: &[RowError]) -> anyhow::Result<Vec<u8>> {
    use rust_xlsxwriter::{Format, Workbook};
    let mut messages: HashMap<u32, Vec<&str>> = HashMap::new();
    for e in errors {
        messages.entry(e.row).or_default().push(&e.message);
    }
    let fields = sheet_fields(false);
    let bold = Format::new().set_bold();
    let quoted = Format::new().set_quote_prefix();
    let mut workbook = Workbook::new();
    let sheet = workbook.add_worksheet();
    sheet.set_name("Errors")?;
    sheet.write_string_with_format(0, 0, "Row", &bold)?;
    for (c, field) in fields.iter().enumerate() {
        sheet.write_string_with_format(0, col(c + 1)?, field.label(), &bold)?;
    }
    let error_col = col(fields.len() + 1)?;
    sheet.write_string_with_format(0, error_col, "Errors", &bold)?;
    sheet.set_column_width(error_col, 60)?;
    let mut r = 1u32;
    for row in rows {
        let Some(list) = messages.get(&row.row) else {
            continue;
        };
        sheet.write_number(r, 0, f64::from(row.row))?;
        for (c, field) in fields.iter().enumerate() {
            write_text(sheet, r, col(c + 1)?, row.get(*field), &quoted)?;
        }
        write_text(sheet, r, error_col, &list.join("; "), &quoted)?;
        r += 1;
    }
    Ok(workbook.save_to_buffer()?)
}

fn col(c: usize) -> anyhow::Result<u16> {
    Ok(u16::try_from(c)?)
}

/// The example file: SPEC section 2's headers and two sample rows.
pub fn template_workbook() -> anyhow::Result<Vec<u8>> {
    use rust_xlsxwriter::{Format, Workbook};
    let fields = sheet_fields(true);
    let samples: [&[(Field, &str)]; 2] = [
        &[
            (Field::FirstName, "Zoë"),
            (Field::LastName, "Janssen"),
            (Field::Username, "zjanssen"),
            (Field::Email, "zoe.janssen@example.com"),
            (Field::UserId, "1001"),
            (Field::SubLevel1, "School A"),
            (Field::SubLevel2, "Class 1"),
            (Field::SpecialNeeds, "no"),
        ],
        &[
            (Field::FirstName, "Liam"),
            (Field::LastName, "de Vries"),
            (Field::Username, "ldevries"),
            (Field::Email, "liam.devries@example.com"),
            (Field::UserId, "1002"),
            (Field::Password, "change-me-2024"),
            (Field::SubLevel1, "School A"),
            (Field::SpecialNeeds, "yes"),
            (Field::SyncKey, "HR-1002"),
            (Field::TimeZone, "Europe/Amsterdam"),
        ],
    ];
    let bold = Format::new().set_bold();
    let quoted = Format::new().set_quote_prefix();
    let mut workbook = Workbook::new();
    let sheet = workbook.add_worksheet();
    sheet.set_name("Users")?;
    for (c, field) in fields.iter().enumerate() {
        sheet.write_string_with_format(0, col(c)?, field.label(), &bold)?;
        sheet.set_column_width(col(c)?, 18)?;
    }
    for (r, sample) in samples.iter().enumerate() {
        for (field, value) in sample.iter() {
            if let Some(c) = fields.iter().position(|f| f == field) {
                write_text(sheet, u32::try_from(r + 1)?, col(c)?, value, &quoted)?;
            }
        }
    }
    Ok(workbook.save_to_buffer()?)
}

#[cfg(test)]
mod tests {
    use roster_shared::cells::CellValue;
    use roster_shared::{ErrorCode, ReadOptions, read_table};

    use super::*;

    #[test]
    fn the_errors_file_reads_back_and_keeps_formulas_as_text() {
        let rows = vec![
            MappedRow::new(2)
                .with(Field::FirstName, "=1+1")
                .with(Field::Username, "@cmd")
                .with(Field::Password, "secret-password"),
            MappedRow::new(3).with(Field::FirstName, "Fine"),
        ];
        let errors = vec![
            RowError::new(
                2,
                Field::Email,
                ErrorCode::Required,
                "Email: This value is required".into(),
            ),
            RowError::in_use(2, "holder"),
        ];
        let bytes = errors_workbook(&rows, &errors).expect("a workbook");
        let table = read_table(&bytes, Some("errors.xlsx"), &ReadOptions::default())
            .expect("it reads back");
        assert_eq!(table.headers[0], "Row");
        assert_eq!(table.headers[1], "First Name");
        assert!(!table.headers.iter().any(|h| h == "Password"));
        assert_eq!(table.headers.last().map(String::as_str), Some("Errors"));
        assert_eq!(table.rows.len(), 1, "only rows with errors");
        let text = |c: usize| match table.rows[0].cells.get(c) {
            Some(CellValue::Text(t)) => t.to_string(),
            other => panic!("column {c}: {other:?}"),
        };
        assert_eq!(text(1), "=1+1", "a formula-like value stays text");
        assert_eq!(
            text(table.headers.len() - 1),
            "Email: This value is required; User ID: This value is already in use"
        );
        let template = template_workbook().expect("the template");
        let table = read_table(&template, Some("t.xlsx"), &ReadOptions::default())
            .expect("the template reads");
        assert_eq!(table.headers.len(), Field::ALL.len());
        assert_eq!(table.rows.len(), 2);
    }
}
