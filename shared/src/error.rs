//! The one error type of the rules crate: why a file could not be read.
//! Each variant renders as one line an administrator can act on.

use crate::fields::Field;

/// A file-level failure: nothing from the file is imported.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ReadError {
    #[error("the file is {size} bytes; the limit is {limit} bytes")]
    FileTooLarge { size: u64, limit: u64 },
    #[error("the file is empty")]
    EmptyFile,
    #[error("this is not a spreadsheet Roster can read: use .xlsx, .xls, .ods or .csv ({detail})")]
    NotASpreadsheet { detail: String },
    #[error("the file is protected with a password: save a copy without one and try again")]
    Encrypted,
    #[error("the {format} file is damaged or incomplete: {detail}")]
    Damaged {
        format: &'static str,
        detail: String,
    },
    #[error(
        "the file unpacks to more than {limit} bytes; Roster stops here in case it is a zip bomb"
    )]
    InflatedTooLarge { limit: u64 },
    #[error(
        "the part {part} unpacks to more than {ratio} times its packed size; Roster stops here in case it is a zip bomb"
    )]
    SuspiciousCompression { part: String, ratio: u64 },
    #[error("the file holds more than {limit} parts; Roster stops here in case it is a zip bomb")]
    TooManyParts { limit: usize },
    #[error(
        "the file holds more than {limit} different texts; Roster stops here in case it is a zip bomb"
    )]
    TooManyStrings { limit: usize },
    #[error(
        "the sheet covers more than {limit} cells from its first to its last; remove the stray cells far from the data"
    )]
    SheetAreaTooLarge { limit: u64 },
    #[error("there is no sheet named \"{name}\"; the sheets are: {available}")]
    SheetNotFound { name: String, available: String },
    #[error("the file has no visible worksheet")]
    NoVisibleSheet,
    #[error("the sheet \"{sheet}\" is empty")]
    EmptySheet { sheet: String },
    #[error("the sheet \"{sheet}\" has a header row ({header_row}) but no data rows")]
    NoDataRows { sheet: String, header_row: u32 },
    #[error("the file has more than {limit} data rows; split it into smaller files")]
    TooManyRows { limit: usize },
    #[error("row {row} has a value in column {column}, beyond the limit of {limit} columns")]
    TooManyColumns {
        row: u32,
        column: String,
        limit: usize,
    },
    #[error(
        "row {row}, column {column} holds more than {limit} characters, more than a spreadsheet cell can hold; shorten it"
    )]
    CellTooLong {
        row: u32,
        column: String,
        limit: usize,
    },
    #[error("no column for the required field{}: {}", if .0.len() == 1 { "" } else { "s" }, labels(.0))]
    MissingColumns(Vec<Field>),
    #[error("no column has the header \"{header}\" (asked for {field})")]
    UnknownHeader { field: Field, header: String },
}

fn labels(fields: &[Field]) -> String {
    fields
        .iter()
        .map(|f| f.label())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Spreadsheet column letters for a 0-based index: 0 → `A`, 26 → `AA`.
pub fn column_letters(index: u32) -> String {
    let mut n = index as u64 + 1;
    let mut letters = Vec::new();
    while n > 0 {
        let rem = ((n - 1) % 26) as u8;
        letters.push(b'A' + rem);
        n = (n - 1) / 26;
    }
    letters.reverse();
    String::from_utf8(letters).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_letters_follow_the_spreadsheet() {
        assert_eq!(column_letters(0), "A");
        assert_eq!(column_letters(25), "Z");
        assert_eq!(column_letters(26), "AA");
        assert_eq!(column_letters(1000), "ALM");
        assert_eq!(column_letters(16383), "XFD");
    }

    #[test]
    fn missing_columns_read_as_a_sentence() {
        let e = ReadError::MissingColumns(vec![Field::Email, Field::UserId]);
        assert_eq!(
            e.to_string(),
            "no column for the required fields: Email, User ID"
        );
    }
}
