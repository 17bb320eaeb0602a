//! .xls (BIFF in an OLE compound file) through calamine, which reads every
//! sheet into a dense grid when the workbook is opened. The BIFF records are
//! walked here first (cheap: a few bytes per cell) to bound that grid, and to
//! tell an encrypted file or an encrypted .xlsx from a damaged one.

use std::io::Cursor;

use calamine::{Reader, Xls, XlsError, XlsOptions};

use super::compound::Compound;
use super::{Format, ReadOptions, Reporter, Sheet, choose_calamine_sheet, collect_range};
use crate::error::ReadError;
use crate::limits::Limits;

pub(super) fn read(
    bytes: &[u8],
    options: &ReadOptions,
    progress: &mut Reporter<'_>,
) -> Result<Sheet, ReadError> {
    let biff = prescan(bytes, &options.limits)?;
    let mut xls_options = XlsOptions::default();
    // BIFF8 strings are UTF-16 (whole, or each code unit's low byte) whatever
    // code page the file names; calamine decodes them in that code page, so
    // a file that says Windows-1252 read `H\0i\0`. Older BIFF has no
    // Unicode strings: there the code page is the text's.
    if biff == Biff::Eight {
        xls_options.force_codepage = Some(1200);
    }
    let (name, range) = super::guard_calamine(".xls", || {
        let mut workbook: Xls<_> =
            Xls::new_with_options(Cursor::new(bytes), xls_options).map_err(damaged)?;
        let name = choose_calamine_sheet(workbook.sheets_metadata(), options.sheet.as_deref())?;
        let range = workbook.worksheet_range(&name).map_err(damaged)?;
        Ok((name, range))
    })?;
    Ok(Sheet {
        format: Format::Xls,
        name,
        rows: collect_range(&range, &options.limits, progress, |_, _| false)?,
    })
}

fn damaged(e: XlsError) -> ReadError {
    match e {
        XlsError::Password => ReadError::Encrypted,
        e => bad(e.to_string()),
    }
}

fn bad(detail: String) -> ReadError {
    ReadError::Damaged {
        format: ".xls",
        detail,
    }
}

/// BIFF record types that hold one cell, with its row and column first.
const CELL_RECORDS: [u16; 7] = [0x0203, 0x0204, 0x00FD, 0x027E, 0x0205, 0x0006, 0x00D6];
const MULRK: u16 = 0x00BD;
const DIMENSIONS: u16 = 0x0200;
/// The most cells a BIFF sheet holds (65,536 rows of 256 columns).
const MAX_SHEET_CELLS: u64 = 65_536 * 256;
const BOF: u16 = 0x0809;
const BOUNDSHEET: u16 = 0x0085;
const FILEPASS: u16 = 0x002F;

/// The workbook's BIFF version, as calamine tells it.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Biff {
    Eight,
    Older,
}

/// calamine's reading of a BOF record's version: BIFF8 unless it says
/// otherwise (`0` with a BIFF5 worksheet type is BIFF5).
fn biff_of(bof: &[u8]) -> Biff {
    let version = bof
        .get(..2)
        .map_or(0x0600, |v| u16::from_le_bytes([v[0], v[1]]));
    let kind = bof
        .get(2..4)
        .map_or(0, |v| u16::from_le_bytes([v[0], v[1]]));
    match version {
        0x0200 | 0x0002 | 0x0007 | 0x0300 | 0x0400 | 0x0500 => Biff::Older,
        0 if kind == 0x1000 => Biff::Older,
        _ => Biff::Eight,
    }
}

fn prescan(bytes: &[u8], limits: &Limits) -> Result<Biff, ReadError> {
    let file = Compound::open(bytes).map_err(bad)?;
    if file.has("EncryptedPackage") || file.has("EncryptionInfo") {
        return Err(ReadError::Encrypted); // a password-protected .xlsx
    }
    // calamine's order: the Workbook stream, else (also if it cannot be
    // read) the Book stream of BIFF5.
    let stream = match (file.stream("Workbook"), file.stream("Book")) {
        (Some(Ok(stream)), _) | (_, Some(Ok(stream))) => stream,
        (Some(Err(e)), _) | (None, Some(Err(e))) => return Err(bad(e)),
        (None, None) => {
            return Err(ReadError::NotASpreadsheet {
                detail: "the file is an Office document but not an Excel workbook".into(),
            });
        }
    };
    let mut biff = None;

    let mut area = SheetArea::default();
    let mut total: u64 = 0;
    let mut at = 0usize;
    while let Some(header) = stream.get(at..at + 4) {
        let kind = u16::from_le_bytes([header[0], header[1]]);
        let len = u16::from_le_bytes([header[2], header[3]]) as usize;
        let data = stream.get(at + 4..at + 4 + len).unwrap_or(&[]);
        at += 4 + len;
        match kind {
            FILEPASS => return Err(ReadError::Encrypted),
            // calamine slices the stream at each sheet's offset unchecked.
            BOUNDSHEET if data.len() >= 4 => {
                let at = u32::from_le_bytes([data[0], data[1], data[2], data[3]]) as usize;
                if at > stream.len() {
                    return Err(bad("a sheet starts past the end of the workbook".into()));
                }
            }
            BOF => {
                biff.get_or_insert(biff_of(data));
                total = total.saturating_add(area.cells());
                area = SheetArea::default();
            }
            // calamine reserves room for the declared area before reading
            // a cell: 4 billion rows would abort the process. No writer can
            // declare more than a sheet holds.
            DIMENSIONS if declared_cells(data) > MAX_SHEET_CELLS => {
                return Err(ReadError::SheetAreaTooLarge {
                    limit: limits.max_dense_cells,
                });
            }
            MULRK if data.len() >= 6 => {
                let row = u16::from_le_bytes([data[0], data[1]]);
                let first = u16::from_le_bytes([data[2], data[3]]);
                let last = u16::from_le_bytes([data[len - 2], data[len - 1]]);
                area.add(row, first);
                area.add(row, last.max(first));
            }
            k if CELL_RECORDS.contains(&k) && data.len() >= 4 => {
                area.add(
                    u16::from_le_bytes([data[0], data[1]]),
                    u16::from_le_bytes([data[2], data[3]]),
                );
            }
            _ => {}
        }
        if total.saturating_add(area.cells()) > limits.max_dense_cells {
            return Err(ReadError::SheetAreaTooLarge {
                limit: limits.max_dense_cells,
            });
        }
    }
    Ok(biff.unwrap_or(Biff::Eight))
}

/// The cells a DIMENSIONS record declares, computed as calamine computes
/// the room it reserves (in u32, wrapping as its release build does).
fn declared_cells(data: &[u8]) -> u64 {
    let u16_at = |at: usize| u32::from(u16::from_le_bytes([data[at], data[at + 1]]));
    let u32_at =
        |at: usize| u32::from_le_bytes([data[at], data[at + 1], data[at + 2], data[at + 3]]);
    let (first_row, last_row, mut first_col, last_col) = match data.len() {
        10 => (u16_at(0), u16_at(2), u16_at(4), u16_at(6)),
        14 | 16 => (u32_at(0), u32_at(4), u16_at(8), u16_at(10)),
        _ => return 0, // calamine refuses the record
    };
    if first_col > 0xFF || last_col < first_col {
        first_col = 0;
    }
    if last_row == 0 || last_col == 0 {
        return 1;
    }
    let rows = (last_row - 1).wrapping_sub(first_row).wrapping_add(1);
    let cols = (last_col - 1).wrapping_sub(first_col).wrapping_add(1);
    u64::from(rows) * u64::from(cols)
}

/// The bounding box of one sheet's cells, as calamine will allocate it.
#[derive(Default)]
struct SheetArea {
    rows: Option<(u16, u16)>,
    cols: Option<(u16, u16)>,
}

impl SheetArea {
    fn add(&mut self, row: u16, col: u16) {
        let widen = |b: Option<(u16, u16)>, v: u16| match b {
            None => Some((v, v)),
            Some((lo, hi)) => Some((lo.min(v), hi.max(v))),
        };
        self.rows = widen(self.rows, row);
        self.cols = widen(self.cols, col);
    }

    fn cells(&self) -> u64 {
        match (self.rows, self.cols) {
            (Some((r0, r1)), Some((c0, c1))) => (u64::from(r1 - r0) + 1) * (u64::from(c1 - c0) + 1),
            _ => 0,
        }
    }
}
