//! .ods through calamine, which lays every table out as a dense grid when the
//! workbook is opened, expanding repeated rows and columns. So content.xml is
//! first scanned here, cheaply, for the size of that grid, and a table that
//! would pass [`Limits::max_dense_cells`] stops the read before calamine runs.

use std::io::{BufReader, Cursor, Read};

use calamine::{Ods, OdsError, Reader};
use quick_xml::events::{BytesStart, Event};

use super::{Format, ReadOptions, Reporter, Sheet, choose_calamine_sheet, collect_range};
use crate::error::{ReadError, column_letters};
use crate::limits::Limits;

pub(super) fn read(
    bytes: &[u8],
    options: &ReadOptions,
    progress: &mut Reporter<'_>,
) -> Result<Sheet, ReadError> {
    prescan(bytes, &options.limits)?;
    let (name, range) = super::guard_calamine(".ods", || {
        let mut workbook: Ods<_> = Ods::new(Cursor::new(bytes)).map_err(damaged)?;
        let name = choose_calamine_sheet(workbook.sheets_metadata(), options.sheet.as_deref())?;
        let range = workbook.worksheet_range(&name).map_err(damaged)?;
        Ok((name, range))
    })?;
    Ok(Sheet {
        format: Format::Ods,
        name,
        rows: collect_range(&range, &options.limits, progress)?,
    })
}

fn damaged(e: OdsError) -> ReadError {
    match e {
        OdsError::Password => ReadError::Encrypted,
        e => ReadError::Damaged {
            format: ".ods",
            detail: e.to_string(),
        },
    }
}

/// calamine's own caps (it clamps repeats to the sheet's maximum size).
const MAX_ROWS: u64 = 1_048_576;
const MAX_COLUMNS: u64 = 16_384;

fn prescan(bytes: &[u8], limits: &Limits) -> Result<(), ReadError> {
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| bad(e.to_string()))?;
    // A password-protected .ods lists how each part is encrypted.
    if let Ok(manifest) = zip.by_name("META-INF/manifest.xml") {
        let mut text = Vec::new();
        manifest
            .take(1 << 20)
            .read_to_end(&mut text)
            .map_err(|e| bad(e.to_string()))?;
        if memchr::memmem::find(&text, b"encryption-data").is_some() {
            return Err(ReadError::Encrypted);
        }
    }
    let content = zip.by_name("content.xml").map_err(|e| bad(e.to_string()))?;
    // The archive check already bounded the inflated size.
    let mut xml = quick_xml::Reader::from_reader(BufReader::new(content.take(u64::MAX)));
    let mut buf = Vec::new();
    let mut table = TableSize::default();
    let mut row = RowSize::default();
    loop {
        let event = xml
            .read_event_into(&mut buf)
            .map_err(|e| bad(e.to_string()))?;
        match event {
            Event::Start(e) | Event::Empty(e) if is(&e, "table:table") => {
                table = TableSize::default()
            }
            Event::Start(e) if is(&e, "table:table-row") => {
                row = RowSize {
                    repeat: repeat(&e, "table:number-rows-repeated")?,
                    ..RowSize::default()
                };
            }
            Event::Empty(e) if is(&e, "table:table-row") => {
                table.rows = table
                    .rows
                    .saturating_add(repeat(&e, "table:number-rows-repeated")?);
            }
            ref ev @ (Event::Start(ref e) | Event::Empty(ref e))
                if is(e, "table:table-cell") || is(e, "table:covered-table-cell") =>
            {
                let n = repeat(e, "table:number-columns-repeated")?;
                let has_value = matches!(ev, Event::Start(_))
                    || e.try_get_attribute("office:value-type")
                        .ok()
                        .flatten()
                        .is_some();
                row.width = row.width.saturating_add(n).min(MAX_COLUMNS);
                if has_value {
                    if row.width > limits.max_columns as u64 {
                        return Err(ReadError::TooManyColumns {
                            row: u32::try_from(table.rows.saturating_add(1)).unwrap_or(u32::MAX),
                            column: column_letters(limits.max_columns as u32),
                            limit: limits.max_columns,
                        });
                    }
                    row.used = row.width;
                }
            }
            Event::End(e) if e.name().as_ref() == "table:table-row" => {
                let repeat = row.repeat.min(MAX_ROWS.saturating_sub(table.rows));
                table.rows = table.rows.saturating_add(repeat);
                // calamine keeps every cell of the row as written, and
                // expands repeated non-empty rows to the used width.
                table.cells = table.cells.saturating_add(row.width);
                if row.used > 0 {
                    table.cells = table.cells.saturating_add(repeat.saturating_mul(row.used));
                }
                if table.cells > limits.max_dense_cells {
                    return Err(ReadError::SheetAreaTooLarge {
                        limit: limits.max_dense_cells,
                    });
                }
            }
            Event::Eof => return Ok(()),
            _ => {}
        }
        buf.clear();
    }
}

#[derive(Default)]
struct TableSize {
    rows: u64,
    cells: u64,
}

#[derive(Default)]
struct RowSize {
    repeat: u64,
    width: u64,
    used: u64,
}

fn is(e: &BytesStart<'_>, name: &str) -> bool {
    e.name().as_ref() == name
}

fn repeat(e: &BytesStart<'_>, attr: &str) -> Result<u64, ReadError> {
    match e.try_get_attribute(attr) {
        Ok(Some(a)) => a
            .value
            .trim()
            .parse::<u64>()
            .ok()
            .ok_or_else(|| bad(format!("bad {attr} value"))),
        Ok(None) => Ok(1),
        Err(e) => Err(bad(e.to_string())),
    }
}

fn bad(detail: String) -> ReadError {
    ReadError::Damaged {
        format: ".ods",
        detail,
    }
}
