//! .xlsx through calamine's streaming cell reader: cells arrive one at a
//! time, so a sheet whose declared dimension is A1:XFD1048576 costs only the
//! cells it really holds (calamine issue 693 is its dense range).

use std::io::Cursor;

use calamine::{Reader, Xlsx, XlsxError};

use super::{Format, ReadOptions, RowCollector, Sheet, choose_sheet, from_calamine};
use crate::error::ReadError;

pub(super) fn read(bytes: &[u8], options: &ReadOptions) -> Result<Sheet, ReadError> {
    let mut workbook: Xlsx<_> = Xlsx::new(Cursor::new(bytes)).map_err(damaged)?;
    let name = choose_sheet(workbook.sheets_metadata(), options.sheet.as_deref())?;
    let mut cells = workbook.worksheet_cells_reader(&name).map_err(damaged)?;
    let mut rows = RowCollector::new(&options.limits);
    while let Some(cell) = cells.next_cell().map_err(damaged)? {
        let (row, col) = cell.get_position();
        let value = from_calamine(cell.get_value().clone());
        rows.cell(row.saturating_add(1), col, value)?;
    }
    Ok(Sheet {
        format: Format::Xlsx,
        name,
        rows: rows.finish()?,
    })
}

fn damaged(e: XlsxError) -> ReadError {
    match e {
        XlsxError::Password => ReadError::Encrypted,
        e => ReadError::Damaged {
            format: ".xlsx",
            detail: e.to_string(),
        },
    }
}
