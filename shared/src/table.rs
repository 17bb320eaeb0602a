//! A sheet's rows → a header and data rows (SPEC section 3): the header is
//! the first non-blank row, data rows are the later non-blank rows, and the
//! rows between them that hold nothing are counted as blank.

use serde::{Deserialize, Serialize};

use crate::cells::CellValue;
use crate::error::ReadError;
use crate::read::{Format, Sheet, SheetRow};

/// Where the rows came from, as the report shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceInfo {
    pub format: Format,
    /// Sheet name; empty for CSV.
    pub sheet: String,
    pub header_row: u32,
    pub data_rows: usize,
    pub blank_rows: usize,
}

/// The header texts and the data rows of a sheet.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    pub source: SourceInfo,
    /// Header text per column (trimmed), `""` where the header cell is empty.
    pub headers: Vec<String>,
    pub rows: Vec<SheetRow>,
}

impl Table {
    pub fn from_sheet(sheet: Sheet) -> Result<Table, ReadError> {
        let mut rows = sheet.rows.into_iter();
        let header = rows.next().ok_or_else(|| ReadError::EmptySheet {
            sheet: display_name(&sheet.name, sheet.format),
        })?;
        let data: Vec<SheetRow> = rows.collect();
        if data.is_empty() {
            return Err(ReadError::NoDataRows {
                sheet: display_name(&sheet.name, sheet.format),
                header_row: header.number,
            });
        }
        let mut blank_rows = 0usize;
        let mut next_expected = header.number.saturating_add(header.span);
        for row in &data {
            blank_rows += row.number.saturating_sub(next_expected) as usize;
            next_expected = row.number.saturating_add(row.span);
        }
        let headers = header
            .cells
            .iter()
            .map(|c| crate::text::trim(&c.header_text()).to_string())
            .collect();
        Ok(Table {
            source: SourceInfo {
                format: sheet.format,
                sheet: sheet.name,
                header_row: header.number,
                data_rows: data.len(),
                blank_rows,
            },
            headers,
            rows: data,
        })
    }

    /// The cell of `row` in column `col`, empty past the row's end.
    pub fn cell(row: &SheetRow, col: usize) -> &CellValue {
        static EMPTY: CellValue = CellValue::Empty;
        row.cells.get(col).unwrap_or(&EMPTY)
    }
}

fn display_name(name: &str, format: Format) -> String {
    if name.is_empty() {
        format!("(the .{} file)", format.extension())
    } else {
        name.to_string()
    }
}
