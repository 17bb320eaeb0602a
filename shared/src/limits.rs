//! The limits of SPEC section 3. Configurable so a server can tighten them;
//! the defaults are the specification's.

/// Most characters one cell may hold: Excel's own limit, so no file an
/// administrator saved from Excel holds more. A longer cell stops the read
/// (a file-level error naming the cell), and a posted row with a longer
/// value is refused the same way: without a bound, one long shared string
/// used by many cells is copied into every report, grid page and JSON.
pub const MAX_CELL_CHARS: usize = 32_767;

/// True when `text` holds more than [`MAX_CELL_CHARS`] characters. Counts
/// the characters of long texts only: a shorter byte length settles it.
pub fn over_cell_limit(text: &str) -> bool {
    text.len() > MAX_CELL_CHARS && text.chars().count() > MAX_CELL_CHARS
}

/// How much of a file Roster will read before it stops with an error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Largest file accepted, in bytes.
    pub max_file_bytes: u64,
    /// Most data rows (the header not counted).
    pub max_data_rows: usize,
    /// Most columns, counted from cells that hold a value.
    pub max_columns: usize,
    /// Most bytes all parts of a zip-based file (xlsx, ods) may unpack to.
    pub max_inflated_bytes: u64,
    /// Most times a part may unpack to its packed size, once past
    /// [`Limits::ratio_applies_after`] bytes.
    pub max_compression_ratio: u64,
    pub ratio_applies_after: u64,
    /// Most parts in a zip-based file.
    pub max_parts: usize,
    /// Most shared strings in an .xlsx: each costs a slot (16 bytes
    /// natively) even when empty, and `<si/>` is five bytes of XML that
    /// packs tightly. 16 million is a 250,000-row sheet of 64 columns of
    /// distinct texts.
    pub max_shared_strings: usize,
    /// Most cells from first to last corner that calamine may lay out as a
    /// dense grid (xls, ods only; xlsx is read cell by cell). 4 million
    /// cells of 32 bytes is 128 MB: room for 65,536 rows × 61 columns.
    pub max_dense_cells: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_file_bytes: 25 * 1024 * 1024,
            max_data_rows: 250_000,
            max_columns: 1_000,
            max_inflated_bytes: 1024 * 1024 * 1024,
            max_compression_ratio: 100,
            ratio_applies_after: 8 * 1024 * 1024,
            max_parts: 10_000,
            max_shared_strings: 16_000_000,
            max_dense_cells: 4_000_000,
        }
    }
}
