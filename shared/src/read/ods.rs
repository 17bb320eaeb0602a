//! .ods through calamine, which lays every table out as a dense grid when the
//! workbook is opened, expanding repeated rows and columns. So content.xml is
//! first scanned here, cheaply, for the size of that grid, and a table that
//! would pass [`Limits::max_dense_cells`] stops the read before calamine runs.

use std::io::{BufReader, Cursor, Read};

use calamine::{Ods, OdsError, Reader};
use quick_xml::events::{BytesStart, Event};
use rustc_hash::FxHashSet;

use super::{Format, ReadOptions, Reporter, Sheet, choose_calamine_sheet, collect_range};
use crate::error::{ReadError, column_letters};
use crate::limits::Limits;

pub(super) fn read(
    bytes: &[u8],
    options: &ReadOptions,
    progress: &mut Reporter<'_>,
) -> Result<Sheet, ReadError> {
    let found = prescan(bytes, &options.limits)?;
    let (name, range) = super::guard_calamine(".ods", || {
        let mut workbook: Ods<_> = Ods::new(Cursor::new(bytes)).map_err(damaged)?;
        let name = choose_calamine_sheet(workbook.sheets_metadata(), options.sheet.as_deref())?;
        let range = workbook.worksheet_range(&name).map_err(damaged)?;
        Ok((name, range))
    })?;
    // The error cells, by position: within the grid the pre-scan bounded.
    // calamine keeps the last table of a name.
    let errors: FxHashSet<(u32, u32)> = found
        .errors
        .iter()
        .rfind(|(table, _)| *table == name)
        .into_iter()
        .flat_map(|(_, blocks)| blocks)
        .flat_map(|b| {
            (b.row..b.row + b.rows).flat_map(move |r| (b.col..b.col + b.cols).map(move |c| (r, c)))
        })
        .collect();
    Ok(Sheet {
        format: Format::Ods,
        name,
        rows: collect_range(&range, &options.limits, progress, |row, col| {
            !errors.is_empty() && errors.contains(&(row, col))
        })?,
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

/// What the pre-scan learns beside the grid's size: the error cells of
/// each named table, in document order. calamine reads an error cell as
/// the string it shows (`#DIV/0!`, `Err:502`), so without this it would
/// pass as text.
#[derive(Default)]
struct Prescan {
    errors: Vec<(String, Vec<CellBlock>)>,
}

/// `rows` × `cols` cells from (`row`, `col`), 0-based: one cell element
/// with its repeats.
#[derive(Clone, Copy)]
struct CellBlock {
    row: u32,
    col: u32,
    rows: u32,
    cols: u32,
}

fn prescan(bytes: &[u8], limits: &Limits) -> Result<Prescan, ReadError> {
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
    let mut found = Prescan::default();
    // The current table's entry in `found.errors`.
    let mut errors: Option<usize> = None;
    let mut table = TableSize::default();
    let mut row = RowSize::default();
    loop {
        let event = xml
            .read_event_into(&mut buf)
            .map_err(|e| bad(e.to_string()))?;
        match event {
            Event::Start(e) | Event::Empty(e) if is(&e, "table:table") => {
                table = TableSize::default();
                // Unescaped as calamine does; a table without a name is
                // no sheet of calamine's.
                let name = e.try_get_attribute("table:name").ok().flatten();
                errors = name.map(|a| {
                    let name = quick_xml::escape::unescape(&a.value).map(|v| v.into_owned());
                    found.errors.push((name.unwrap_or_default(), Vec::new()));
                    found.errors.len() - 1
                });
            }
            Event::Start(e) if is(&e, "table:table-row") => {
                row = RowSize {
                    repeat: table.capped(repeat(&e, "table:number-rows-repeated")?),
                    ..RowSize::default()
                };
            }
            Event::Empty(e) if is(&e, "table:table-row") => {
                let rows = table.capped(repeat(&e, "table:number-rows-repeated")?);
                table.rows += rows;
            }
            Event::Start(e) | Event::Empty(e)
                if is(&e, "table:table-cell") || is(&e, "table:covered-table-cell") =>
            {
                let n = repeat(&e, "table:number-columns-repeated")?.min(MAX_COLUMNS - row.width);
                let col = row.width;
                row.width += n;
                if !has_value(&e) {
                    continue;
                }
                if row.width > limits.max_columns as u64 {
                    return Err(ReadError::TooManyColumns {
                        row: u32::try_from(table.rows.saturating_add(1)).unwrap_or(u32::MAX),
                        column: column_letters(limits.max_columns as u32),
                        limit: limits.max_columns,
                    });
                }
                row.first.get_or_insert(col);
                row.used = row.width;
                if attr_is(&e, "calcext:value-type", "error")
                    && row.repeat > 0
                    && n > 0
                    && let Some((_, errors)) = errors.and_then(|i| found.errors.get_mut(i))
                {
                    // Both under calamine's caps, so under u32::MAX.
                    errors.push(CellBlock {
                        row: table.rows as u32,
                        col: col as u32,
                        rows: row.repeat as u32,
                        cols: n as u32,
                    });
                }
            }
            Event::End(e) if e.name().as_ref() == "table:table-row" => {
                table.add(&row);
                if table.cells() > limits.max_dense_cells {
                    return Err(ReadError::SheetAreaTooLarge {
                        limit: limits.max_dense_cells,
                    });
                }
            }
            Event::Eof => return Ok(found),
            _ => {}
        }
        buf.clear();
    }
}

/// What calamine allocates for one table: each row element's cells up to
/// its last value (trailing empty cells are never stored, however often
/// they repeat), then the dense grid of the box around the values, with
/// repeated rows expanded.
#[derive(Default)]
struct TableSize {
    /// Rows so far, repeats expanded.
    rows: u64,
    stored: u64,
    /// The box: rows `top..bottom`, columns `left..right`.
    top: Option<u64>,
    bottom: u64,
    left: Option<u64>,
    right: u64,
}

impl TableSize {
    /// A row's repeats, as calamine caps them at the sheet's last row.
    fn capped(&self, repeat: u64) -> u64 {
        repeat.min(MAX_ROWS.saturating_sub(self.rows))
    }

    fn add(&mut self, row: &RowSize) {
        if let Some(first) = row.first {
            self.stored += row.used;
            self.top.get_or_insert(self.rows);
            self.bottom = self.rows + row.repeat;
            self.left = Some(self.left.map_or(first, |left| left.min(first)));
            self.right = self.right.max(row.used);
        }
        self.rows += row.repeat;
    }

    fn cells(&self) -> u64 {
        let grid = match (self.top, self.left) {
            (Some(top), Some(left)) => (self.bottom - top).saturating_mul(self.right - left),
            _ => 0,
        };
        self.stored.saturating_add(grid)
    }
}

#[derive(Default)]
struct RowSize {
    repeat: u64,
    /// Columns so far, repeats expanded.
    width: u64,
    /// The first column with a value, and the end of the last.
    first: Option<u64>,
    used: u64,
}

/// A cell calamine gives a value: a value type (a string's is its text),
/// a value attribute, or a formula.
fn has_value(e: &BytesStart<'_>) -> bool {
    e.attributes().flatten().any(|a| {
        matches!(
            a.key.as_ref(),
            "office:value-type"
                | "office:value"
                | "office:string-value"
                | "office:date-value"
                | "office:time-value"
                | "office:boolean-value"
                | "table:formula"
        )
    })
}

fn attr_is(e: &BytesStart<'_>, name: &str, value: &str) -> bool {
    e.try_get_attribute(name)
        .ok()
        .flatten()
        .is_some_and(|a| a.value == value)
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
