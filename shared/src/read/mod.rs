//! Bytes → the non-blank rows of one sheet. Each format has its own module;
//! they all hand their cells to a [`RowCollector`], which enforces the row and
//! column limits as the cells arrive, so no reader ever holds more than the
//! limits allow.

mod archive;
mod compound;
mod csv;
mod ods;
mod xls;
mod xlsx;

use serde::{Deserialize, Serialize};

use std::sync::Arc;

use rustc_hash::FxHashMap;

use crate::cells::{self, CellValue};
use crate::error::{ReadError, column_letters};
use crate::limits::{Limits, MAX_CELL_CHARS, over_cell_limit};

/// The file formats Roster reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Xlsx,
    Xls,
    Ods,
    Csv,
}

impl Format {
    pub const fn extension(self) -> &'static str {
        match self {
            Format::Xlsx => "xlsx",
            Format::Xls => "xls",
            Format::Ods => "ods",
            Format::Csv => "csv",
        }
    }
}

/// One non-blank row of a sheet, with the number the spreadsheet shows.
#[derive(Debug, Clone, PartialEq)]
pub struct SheetRow {
    /// 1-based row number (in CSV, the line the record starts on).
    pub number: u32,
    /// How many rows or lines the row takes (more than 1 only for a CSV
    /// record with line breaks inside quotes).
    pub span: u32,
    /// Cells by column, from column A; trailing empty cells left out.
    pub cells: Vec<CellValue>,
}

/// The non-blank rows of the chosen sheet.
#[derive(Debug, Clone, PartialEq)]
pub struct Sheet {
    pub format: Format,
    pub name: String,
    pub rows: Vec<SheetRow>,
}

/// What to read: which sheet, within which limits.
#[derive(Debug, Clone, Default)]
pub struct ReadOptions {
    /// Sheet name; `None` for the first visible worksheet.
    pub sheet: Option<String>,
    pub limits: Limits,
}

/// How far a read has got, for a progress bar (SPEC §10 step 1): `done`
/// of `total` units (bytes of the sheet's XML inflated, of a CSV's text, or
/// rows of a calamine grid). `total` is an estimate (a part's declared size),
/// so `done` may pass it: use [`Progress::fraction`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    pub done: u64,
    pub total: u64,
}

impl Progress {
    /// The share done, from 0 to 1.
    pub fn fraction(self) -> f64 {
        if self.total == 0 {
            return 0.0;
        }
        (self.done as f64 / self.total as f64).min(1.0)
    }
}

/// Calls the caller's progress callback at most every 2 % of the total, so
/// reporting costs one comparison per chunk or row.
pub(crate) struct Reporter<'p> {
    report: &'p mut dyn FnMut(Progress),
    total: u64,
    next: u64,
}

impl<'p> Reporter<'p> {
    /// Calls at most this many times over a read (every 2 %).
    const STEPS: u64 = 50;

    pub(crate) fn new(report: &'p mut dyn FnMut(Progress)) -> Self {
        Reporter {
            report,
            total: 0,
            next: u64::MAX,
        }
    }

    /// Sets the total the next calls of [`Reporter::at`] count towards.
    pub(crate) fn start(&mut self, total: u64) {
        self.total = total;
        self.next = 0;
    }

    #[inline]
    pub(crate) fn at(&mut self, done: u64) {
        if done >= self.next {
            self.call(done);
        }
    }

    #[cold]
    fn call(&mut self, done: u64) {
        let step = (self.total / Self::STEPS).max(1);
        self.next = if done >= self.total {
            u64::MAX
        } else {
            (done / step + 1) * step
        };
        (self.report)(Progress {
            done,
            total: self.total,
        });
    }
}

/// Reads the chosen sheet of a file held in memory. `file_name` only helps
/// to tell a CSV from other text; the format is known from the bytes.
pub fn read_sheet(
    bytes: &[u8],
    file_name: Option<&str>,
    options: &ReadOptions,
) -> Result<Sheet, ReadError> {
    read_sheet_with_progress(bytes, file_name, options, &mut |_| {})
}

/// [`read_sheet`], telling `progress` how far it has got every few percent
/// of a large file (a small one may get no call at all).
pub fn read_sheet_with_progress(
    bytes: &[u8],
    file_name: Option<&str>,
    options: &ReadOptions,
    progress: &mut dyn FnMut(Progress),
) -> Result<Sheet, ReadError> {
    let mut progress = Reporter::new(progress);
    let progress = &mut progress;
    let limits = &options.limits;
    if bytes.len() as u64 > limits.max_file_bytes {
        return Err(ReadError::FileTooLarge {
            size: bytes.len() as u64,
            limit: limits.max_file_bytes,
        });
    }
    if bytes.is_empty() {
        return Err(ReadError::EmptyFile);
    }
    match sniff(bytes, file_name)? {
        Sniffed::Zip => match archive::kind(bytes)? {
            archive::ZipKind::Xlsx => xlsx::read(bytes, options, progress),
            archive::ZipKind::Ods => {
                // calamine inflates ods parts itself, without a cap.
                archive::check(bytes, limits)?;
                ods::read(bytes, options, progress)
            }
        },
        Sniffed::Cfb => xls::read(bytes, options, progress),
        Sniffed::Text => csv::read(bytes, options, progress),
    }
}

enum Sniffed {
    Zip,
    Cfb,
    Text,
}

const ZIP_MAGIC: &[u8] = b"PK\x03\x04";
const CFB_MAGIC: &[u8] = &[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];

/// Tells the container from the first bytes; the extension is only a hint
/// for the message when the bytes are not what the name promises.
fn sniff(bytes: &[u8], file_name: Option<&str>) -> Result<Sniffed, ReadError> {
    if bytes.starts_with(ZIP_MAGIC) {
        return Ok(Sniffed::Zip);
    }
    if bytes.starts_with(CFB_MAGIC) {
        return Ok(Sniffed::Cfb);
    }
    let ext = file_name
        .and_then(|n| n.rsplit_once('.'))
        .map(|(_, e)| e.to_ascii_lowercase());
    if looks_like_text(bytes) {
        return Ok(Sniffed::Text);
    }
    if let Some(utf16) = csv::utf16_by_bom(bytes) {
        // UTF-16 text is half NUL bytes: judge the characters instead.
        let sample = &bytes[..bytes.len().min(64 * 1024) & !1];
        if looks_like_text(utf16.decode_with_bom_removal(sample).0.as_bytes()) {
            return Ok(Sniffed::Text);
        }
    }
    let detail = match ext.as_deref() {
        _ if looks_like_utf16_without_bom(bytes) => "the file looks like UTF-16 text without \
            a byte-order mark; save it as CSV UTF-8, or as UTF-16 with one"
            .to_string(),
        Some(e @ ("xlsx" | "xls" | "ods" | "csv")) => {
            format!("the file is named .{e} but its content is not a .{e} file")
        }
        _ => "the content is not a known spreadsheet format".to_string(),
    };
    Err(ReadError::NotASpreadsheet { detail })
}

/// Mostly Latin text in UTF-16 has a NUL in every other byte: the high
/// bytes (LE) or the low ones (BE) of its code units.
fn looks_like_utf16_without_bom(bytes: &[u8]) -> bool {
    let sample = &bytes[..bytes.len().min(64 * 1024) & !1];
    let pairs = sample.len() / 2;
    let (mut even, mut odd) = (0, 0);
    for pair in sample.chunks_exact(2) {
        even += usize::from(pair[0] == 0);
        odd += usize::from(pair[1] == 0);
    }
    pairs >= 2 && (even.min(odd) * 10 <= pairs) && (even.max(odd) * 10 >= pairs * 9)
}

/// Text has no NUL bytes and few control characters; random or binary
/// bytes fail this long before a CSV parser would.
fn looks_like_text(bytes: &[u8]) -> bool {
    let sample = &bytes[..bytes.len().min(64 * 1024)];
    if sample.contains(&0) {
        return false;
    }
    let controls = sample
        .iter()
        .filter(|&&b| b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r' | 0x0C))
        .count();
    controls * 100 <= sample.len()
}

/// Gathers cells into rows, stopping at the limits as soon as they are
/// passed. Readers call [`RowCollector::cell`] in any order of columns and,
/// for well-formed files, in ascending row order.
pub(crate) struct RowCollector<'a> {
    limits: &'a Limits,
    rows: Vec<SheetRow>,
    current: Option<SheetRow>,
    out_of_order: bool,
    /// The last row's width: the next row is likely as wide.
    width: usize,
    /// Texts longer than [`MAX_CELL_CHARS`] bytes found within the limit,
    /// by address: a shared string used by many cells is counted once.
    /// Each is kept alive here, so its address is not reused.
    counted: FxHashMap<usize, Arc<str>>,
}

impl<'a> RowCollector<'a> {
    pub(crate) fn new(limits: &'a Limits) -> Self {
        RowCollector {
            limits,
            rows: Vec::new(),
            current: None,
            out_of_order: false,
            width: 0,
            counted: FxHashMap::default(),
        }
    }

    /// Refuses a cell of more than [`MAX_CELL_CHARS`] characters. Called for
    /// every cell: a text of at most that many bytes is let through here,
    /// before any call (no character is less than a byte).
    #[inline]
    fn check_length(&mut self, row: u32, col: usize, value: &CellValue) -> Result<(), ReadError> {
        match value {
            CellValue::Text(s) if s.len() > MAX_CELL_CHARS => self.check_long_text(row, col, value),
            CellValue::Error(s) if s.len() > MAX_CELL_CHARS => {
                self.check_long_text(row, col, value)
            }
            _ => Ok(()),
        }
    }

    #[cold]
    fn check_long_text(
        &mut self,
        row: u32,
        col: usize,
        value: &CellValue,
    ) -> Result<(), ReadError> {
        let over = match value {
            CellValue::Text(s) if s.len() > MAX_CELL_CHARS => {
                let address = s.as_ptr() as usize;
                !self.counted.contains_key(&address) && {
                    let over = over_cell_limit(s);
                    if !over {
                        self.counted.insert(address, Arc::clone(s));
                    }
                    over
                }
            }
            CellValue::Error(s) => over_cell_limit(s),
            _ => false,
        };
        if over {
            return Err(ReadError::CellTooLong {
                row,
                column: column_letters(col as u32),
                limit: MAX_CELL_CHARS,
            });
        }
        Ok(())
    }

    /// Adds one cell at a 1-based row number and 0-based column.
    pub(crate) fn cell(&mut self, row: u32, col: u32, value: CellValue) -> Result<(), ReadError> {
        self.check_length(row, col as usize, &value)?;
        if value.is_blank() {
            return Ok(());
        }
        if col as usize >= self.limits.max_columns {
            return Err(ReadError::TooManyColumns {
                row,
                column: column_letters(col),
                limit: self.limits.max_columns,
            });
        }
        if self.current.as_ref().is_none_or(|r| r.number != row) {
            self.start_row(row, 1)?;
        }
        if let Some(current) = self.current.as_mut() {
            let col = col as usize;
            // Cells mostly come in order, one after the other.
            if current.cells.len() == col {
                current.cells.push(value);
                return Ok(());
            }
            if current.cells.len() < col {
                current.cells.resize(col + 1, CellValue::Empty);
            }
            current.cells[col] = value;
        }
        Ok(())
    }

    /// Adds a whole row (CSV), blank or not.
    pub(crate) fn row(
        &mut self,
        number: u32,
        span: u32,
        cells: Vec<CellValue>,
    ) -> Result<(), ReadError> {
        for (col, cell) in cells.iter().enumerate() {
            self.check_length(number, col, cell)?;
        }
        if let Some(col) = cells.iter().rposition(|c| !c.is_blank()) {
            if col >= self.limits.max_columns {
                return Err(ReadError::TooManyColumns {
                    row: number,
                    column: column_letters(col as u32),
                    limit: self.limits.max_columns,
                });
            }
            self.start_row(number, span)?;
            if let Some(current) = self.current.as_mut() {
                current.cells = cells;
                current.cells.truncate(col + 1);
            }
        }
        Ok(())
    }

    fn start_row(&mut self, number: u32, span: u32) -> Result<(), ReadError> {
        if let Some(done) = self.current.take() {
            if done.number >= number {
                self.out_of_order = true;
            }
            self.width = done.cells.len();
            self.rows.push(done);
            // The header plus the data rows: one more is past the limit.
            if self.rows.len() > self.limits.max_data_rows + 1 {
                return Err(ReadError::TooManyRows {
                    limit: self.limits.max_data_rows,
                });
            }
        }
        self.current = Some(SheetRow {
            number,
            span,
            cells: Vec::with_capacity(self.width),
        });
        Ok(())
    }

    pub(crate) fn finish(mut self) -> Result<Vec<SheetRow>, ReadError> {
        if let Some(done) = self.current.take() {
            if self.rows.last().is_some_and(|r| r.number >= done.number) {
                self.out_of_order = true;
            }
            self.rows.push(done);
        }
        if self.out_of_order {
            self.rows.sort_by_key(|r| r.number);
            self.rows.dedup_by(|later, kept| {
                if later.number != kept.number {
                    return false;
                }
                for (i, cell) in std::mem::take(&mut later.cells).into_iter().enumerate() {
                    if !cell.is_blank() {
                        if kept.cells.len() <= i {
                            kept.cells.resize(i + 1, CellValue::Empty);
                        }
                        kept.cells[i] = cell;
                    }
                }
                true
            });
        }
        if self.rows.len() > self.limits.max_data_rows + 1 {
            return Err(ReadError::TooManyRows {
                limit: self.limits.max_data_rows,
            });
        }
        Ok(self.rows)
    }
}

/// Which sheet to read: the one named (exactly, else ignoring case), or
/// the first that `usable` accepts (a visible worksheet). Shared by every
/// workbook reader, whatever its sheet type.
pub(crate) fn choose_sheet<'s, S>(
    sheets: &'s [S],
    name_of: impl Fn(&S) -> &str,
    usable: impl Fn(&S) -> bool,
    wanted: Option<&str>,
) -> Result<&'s S, ReadError> {
    match wanted {
        Some(name) => sheets
            .iter()
            .find(|s| name_of(s) == name)
            .or_else(|| {
                sheets
                    .iter()
                    .find(|s| name_of(s).eq_ignore_ascii_case(name))
            })
            .ok_or_else(|| ReadError::SheetNotFound {
                name: name.to_string(),
                available: sheets
                    .iter()
                    .map(|s| format!("\"{}\"", name_of(s)))
                    .collect::<Vec<_>>()
                    .join(", "),
            }),
        None => sheets
            .iter()
            .find(|s| usable(s))
            .ok_or(ReadError::NoVisibleSheet),
    }
}

/// [`choose_sheet`] over calamine's sheet list (xls, ods).
pub(crate) fn choose_calamine_sheet(
    sheets: &[calamine::Sheet],
    wanted: Option<&str>,
) -> Result<String, ReadError> {
    use calamine::{SheetType, SheetVisible};
    let usable =
        |s: &calamine::Sheet| s.typ == SheetType::WorkSheet && s.visible == SheetVisible::Visible;
    choose_sheet(sheets, |s| &s.name, usable, wanted).map(|s| s.name.clone())
}

/// calamine's value types, as Roster's.
pub(crate) fn from_calamine(value: calamine::DataRef<'_>) -> CellValue {
    use calamine::DataRef;
    match value {
        DataRef::Empty => CellValue::Empty,
        DataRef::String(s) => CellValue::Text(s.into()),
        DataRef::SharedString(s) => CellValue::Text(s.into()),
        DataRef::Float(f) => CellValue::Number(f),
        DataRef::Int(i) => CellValue::Int(i),
        DataRef::Bool(b) => CellValue::Bool(b),
        DataRef::DateTime(dt) => cells::serial(dt).unwrap_or(CellValue::Number(dt.as_f64())),
        // calamine gives these for .ods only (Roster reads .xlsx itself).
        DataRef::DateTimeIso(s) => cells::iso_date(&s, cells::Shown::Date, false),
        DataRef::DurationIso(s) => cells::ods_time(&s),
        DataRef::Error(e) => CellValue::Error(e.to_string().into()),
    }
}

/// The same for the owned values of calamine's dense ranges (xls, ods).
pub(crate) fn from_calamine_owned(value: &calamine::Data) -> CellValue {
    use calamine::{Data, DataRef};
    let as_ref = match value {
        Data::Empty => DataRef::Empty,
        Data::String(s) => DataRef::SharedString(s),
        Data::Float(f) => DataRef::Float(*f),
        Data::Int(i) => DataRef::Int(*i),
        Data::Bool(b) => DataRef::Bool(*b),
        Data::DateTime(dt) => DataRef::DateTime(*dt),
        Data::DateTimeIso(s) => DataRef::DateTimeIso(s.clone()),
        Data::DurationIso(s) => DataRef::DurationIso(s.clone()),
        Data::Error(e) => DataRef::Error(e.clone()),
    };
    from_calamine(as_ref)
}

/// Runs calamine on a file that passed the pre-scans. Fuzzing finds .xls
/// inputs on which calamine panics (unchecked slices of short records);
/// natively such a panic ends here as a damaged-file error, quietly. In wasm
/// a panic aborts: the worker that runs the rules dies, and the page's
/// worker client starts a fresh one and says the file could not be read.
pub(crate) fn guard_calamine<T>(
    format: &'static str,
    read: impl FnOnce() -> Result<T, ReadError>,
) -> Result<T, ReadError> {
    quiet_panics::install();
    quiet_panics::GUARDED.with(|g| g.set(true));
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(read));
    quiet_panics::GUARDED.with(|g| g.set(false));
    result.unwrap_or_else(|_| {
        Err(ReadError::Damaged {
            format,
            detail: "its structure is inconsistent".into(),
        })
    })
}

/// A panic hook that stays silent for panics [`guard_calamine`] turns into
/// errors, and hands every other panic to the hook that was there before.
mod quiet_panics {
    use std::cell::Cell;
    use std::sync::Once;

    thread_local! {
        pub(super) static GUARDED: Cell<bool> = const { Cell::new(false) };
    }

    pub(super) fn install() {
        static INSTALL: Once = Once::new();
        INSTALL.call_once(|| {
            let previous = std::panic::take_hook();
            std::panic::set_hook(Box::new(move |info| {
                if !GUARDED.with(Cell::get) {
                    previous(info);
                }
            }));
        });
    }
}

/// Feeds a calamine dense range (xls, ods) to the collector. `is_error`
/// tells the cells (0-based row and column) the file marks as errors where
/// calamine gives their text (.ods).
pub(crate) fn collect_range(
    range: &calamine::Range<calamine::Data>,
    limits: &Limits,
    progress: &mut Reporter<'_>,
    is_error: impl Fn(u32, u32) -> bool,
) -> Result<Vec<SheetRow>, ReadError> {
    let mut rows = RowCollector::new(limits);
    let (row0, col0) = range.start().unwrap_or((0, 0));
    progress.start(range.height() as u64);
    for (r, row) in range.rows().enumerate() {
        progress.at(r as u64);
        for (c, value) in row.iter().enumerate() {
            if !matches!(value, calamine::Data::Empty) {
                let (row, col) = (row0 + r as u32, col0 + c as u32);
                let mut cell = from_calamine_owned(value);
                if is_error(row, col) {
                    cell = CellValue::Error(cell.header_text().into());
                }
                rows.cell(row + 1, col, cell)?;
            }
        }
    }
    rows.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every progress call for a read, and the sheet it gave.
    fn calls(bytes: &[u8], name: &str) -> (Vec<Progress>, Sheet) {
        let mut seen = Vec::new();
        let sheet =
            read_sheet_with_progress(bytes, Some(name), &ReadOptions::default(), &mut |p| {
                seen.push(p)
            })
            .expect("a readable file");
        (seen, sheet)
    }

    fn assert_steady(seen: &[Progress], at_least: usize) {
        assert!(seen.len() >= at_least, "{} calls", seen.len());
        assert!(
            seen.len() <= Reporter::STEPS as usize + 1,
            "{} calls",
            seen.len()
        );
        assert!(seen.windows(2).all(|w| w[0].done < w[1].done), "{seen:?}");
        let last = seen.last().map_or(0.0, |p| p.fraction());
        assert!(last > 0.9 && last <= 1.0, "{last}");
    }

    #[test]
    fn a_large_csv_reports_progress_every_few_percent() {
        let mut csv = String::from("First Name,Email\n");
        for i in 0..20_000 {
            csv.push_str(&format!("Name {i},user{i}@example.org\n"));
        }
        let (seen, sheet) = calls(csv.as_bytes(), "users.csv");
        assert_steady(&seen, 40);
        assert_eq!(sheet.rows.len(), 20_001);
    }

    #[cfg(not(target_arch = "wasm32"))]
    #[test]
    fn a_large_xlsx_reports_progress_by_bytes_of_its_xml() {
        let mut workbook = rust_xlsxwriter::Workbook::new();
        let sheet = workbook.add_worksheet();
        for row in 0..30_000u32 {
            sheet.write_string(row, 0, format!("name {row}")).unwrap();
            sheet.write_number(row, 1, f64::from(row)).unwrap();
        }
        let bytes = workbook.save_to_buffer().unwrap();
        let (seen, sheet) = calls(&bytes, "users.xlsx");
        // One call per 256 KiB chunk of the sheet at most.
        assert_steady(&seen, 5);
        assert_eq!(sheet.rows.len(), 30_000);
    }

    #[test]
    fn a_small_file_gets_few_calls() {
        let (seen, _) = calls(b"a,b\n1,2\n", "small.csv");
        assert!(seen.len() <= 3, "{seen:?}");
    }
}
