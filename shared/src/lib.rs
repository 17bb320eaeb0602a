//! Roster's rules crate: spreadsheet bytes → checked user rows and a report.
//!
//! The data walks one way through the modules: [`read`] (bytes → the rows of
//! one sheet) → [`table`] (header and data rows) → [`mapping`] (which column
//! fills which field) → [`rows`] (cells converted to text by [`cells`]) →
//! [`rules`] (every check of SPEC section 4, then [`warnings`], section
//! 4b) → [`report`]. The way back, rows → .xlsx, is [`write`].
//!
//! The crate does no I/O and knows no database, HTTP or DOM, so the browser
//! (as WebAssembly) and the server (natively) run exactly the same rules.

#![forbid(unsafe_code)]

pub mod api;
pub mod cells;
pub mod error;
pub mod fields;
pub mod limits;
pub mod mapping;
pub mod read;
pub mod report;
pub mod rows;
pub mod rules;
pub mod table;
pub mod text;
pub mod time_zones;
pub mod warnings;
pub mod write;

pub use error::ReadError;
pub use fields::Field;
pub use limits::Limits;
pub use mapping::Mapping;
pub use read::{Format, ReadOptions};
pub use report::{Report, Summary};
pub use rows::MappedRow;
pub use rules::{CheckedRows, ErrorCode, RowError, RuleOptions, check_rows};
pub use table::Table;
pub use time_zones::time_zone_names;
pub use warnings::{RowWarning, WarningCode};

/// Everything `roster check` can be told.
#[derive(Debug, Clone, Default)]
pub struct CheckOptions {
    pub read: ReadOptions,
    /// `--map FIELD=HEADER` overrides of the suggested mapping.
    pub mapping: Vec<(Field, String)>,
    pub rules: RuleOptions,
}

/// Reads a file into a table: the step before mapping.
pub fn read_table(
    bytes: &[u8],
    file_name: Option<&str>,
    options: &ReadOptions,
) -> Result<Table, ReadError> {
    Table::from_sheet(read::read_sheet(bytes, file_name, options)?)
}

/// Reads, maps and checks a file in one go (the command line's path). A
/// required field with no column is a file-level error.
pub fn check_file(
    bytes: &[u8],
    file_name: Option<&str>,
    options: &CheckOptions,
) -> Result<Report, ReadError> {
    let mut table = read_table(bytes, file_name, &options.read)?;
    let mut mapping = Mapping::suggest(&table.headers);
    for (field, header) in &options.mapping {
        mapping.override_with(*field, header, &table.headers)?;
    }
    let missing = mapping.missing_required();
    if !missing.is_empty() {
        return Err(ReadError::MissingColumns(missing));
    }
    let rows = rows::into_mapped_rows(std::mem::take(&mut table.rows), &mapping);
    let checked = check_rows(rows, &options.rules);
    Ok(Report::from_checked(&table, &mapping, checked))
}
