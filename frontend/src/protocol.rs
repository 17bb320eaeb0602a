//! The messages between the page and the check worker, as JSON text.
//!
//! A `Read` message travels as a two-item array: the JSON text and the
//! chosen `File` (a handle: the worker reads the bytes itself, so the page
//! never holds them); so does the `Export` reply, with the corrected file
//! as a `Blob`. Every other message is the JSON text alone. Each
//! request carries a `job` number; the page ignores replies to anything but
//! its latest request.

use std::collections::BTreeMap;

use roster_shared::table::SourceInfo;
use roster_shared::{
    ErrorCode, Field, MappedRow, Mapping, RowError, RowWarning, Summary, WarningCode,
};
use serde::{Deserialize, Serialize};

/// Path of the worker's loader script in `dist/` (Trunk's `data-loader-shim`).
pub const WORKER_SCRIPT: &str = "/roster-check-worker_loader.js";

/// Rows the grid shows at once, and asks the worker for at once.
pub const PAGE_SIZE: usize = 50;

/// One column index per field of [`Field::ALL`], `None` where unmapped.
pub type Columns = Vec<Option<usize>>;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ToWorker {
    /// Read a file (the chosen `File` travels beside the message) and keep
    /// its table.
    Read { job: u32, file_name: String },
    /// Check the table last read with this mapping; reply with `page`.
    /// `dismissed`: the warnings dismissed for this file so far.
    Check {
        job: u32,
        columns: Columns,
        page: PageRequest,
        dismissed: Vec<WarningKey>,
    },
    /// The warnings dismissed for this file now (all of them, replacing
    /// the last list); reply with the outcome without them and `page`.
    Dismiss {
        job: u32,
        dismissed: Vec<WarningKey>,
        page: PageRequest,
    },
    /// A page of the rows of the last check, for the grid.
    Rows { job: u32, page: PageRequest },
    /// Correct one cell and check again.
    Edit {
        job: u32,
        row: u32,
        field: Field,
        value: String,
        page: PageRequest,
    },
    /// Remove leading and trailing whitespace from every value and check
    /// again (names are trimmed by the rules anyway).
    TrimAll { job: u32, page: PageRequest },
    /// The file with every correction (`crate::corrected_file`).
    Export { job: u32 },
    /// The checked, corrected rows, for Try Import (sent as JSON, never the file).
    ImportRows { job: u32 },
}

impl ToWorker {
    /// The request's job number, which its reply carries back.
    pub fn job(&self) -> u32 {
        match self {
            ToWorker::Read { job, .. }
            | ToWorker::Check { job, .. }
            | ToWorker::Dismiss { job, .. }
            | ToWorker::Rows { job, .. }
            | ToWorker::Edit { job, .. }
            | ToWorker::TrimAll { job, .. }
            | ToWorker::Export { job }
            | ToWorker::ImportRows { job } => *job,
        }
    }
}

/// Which rows the grid wants: [`PAGE_SIZE`] from `start`, of all rows, of
/// the rows with errors only, or of the rows with (not dismissed) warnings
/// only.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageRequest {
    pub only_errors: bool,
    #[serde(default)]
    pub only_warnings: bool,
    pub start: usize,
}

/// One warning, as dismissed: its row, field and code. Row numbers are the
/// sheet's and never change while a file is open, so the key holds across
/// corrections and checks of the same file.
pub type WarningKey = (u32, Field, WarningCode);

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FromWorker {
    /// The worker's WebAssembly is loaded; it takes requests from now on.
    Ready,
    Progress {
        job: u32,
        stage: Stage,
    },
    /// The file was read: its headers and the mapping the rules crate suggests.
    Table {
        job: u32,
        headers: Vec<String>,
        suggested: Columns,
        source: SourceInfo,
        read_ms: f64,
    },
    /// The check's findings and the first page of rows. The rows stay in
    /// the worker: the page asks for them a page at a time.
    Checked {
        job: u32,
        outcome: CheckOutcome,
        page: RowsPage,
        check_ms: f64,
        /// For [`ToWorker::TrimAll`]: how many cells it changed.
        trimmed: Option<usize>,
    },
    Rows {
        job: u32,
        page: RowsPage,
    },
    /// The corrected file: its bytes travel beside the message as a `Blob`
    /// (the worker makes it; a `Blob` passes as a handle, not a copy).
    Export {
        job: u32,
        file_name: String,
        #[serde(skip)]
        file: Option<web_sys::Blob>,
    },
    /// Every checked row with its corrections (section 8 `rows`).
    ImportRows {
        job: u32,
        file_name: String,
        rows: Vec<MappedRow>,
    },
    /// The file could not be read (one line saying why).
    Failed {
        job: u32,
        message: String,
    },
}

impl FromWorker {
    /// The job a final reply answers; `None` for `Ready` and progress.
    pub fn job(&self) -> Option<u32> {
        match self {
            FromWorker::Ready | FromWorker::Progress { .. } => None,
            FromWorker::Table { job, .. }
            | FromWorker::Checked { job, .. }
            | FromWorker::Rows { job, .. }
            | FromWorker::Export { job, .. }
            | FromWorker::ImportRows { job, .. }
            | FromWorker::Failed { job, .. } => Some(*job),
        }
    }
}

/// A message with a handle beside its JSON text (a `File`, a `Blob`).
pub fn with_handle(text: String, handle: &wasm_bindgen::JsValue) -> wasm_bindgen::JsValue {
    js_sys::Array::of2(&text.into(), handle).into()
}

/// A message's JSON text, and the handle beside it if it has one.
pub fn split(data: &wasm_bindgen::JsValue) -> (Option<String>, Option<wasm_bindgen::JsValue>) {
    if js_sys::Array::is_array(data) {
        let parts = js_sys::Array::from(data);
        (parts.get(0).as_string(), Some(parts.get(1)))
    } else {
        (data.as_string(), None)
    }
}

/// A [`roster_shared::Report`] without its rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckOutcome {
    pub source: SourceInfo,
    /// Field → the header of the column that fills it.
    pub mapping: BTreeMap<Field, String>,
    pub unmapped_headers: Vec<String>,
    pub summary: Summary,
    pub errors: Vec<RowError>,
    /// The warnings not dismissed (`summary.with_warnings` counts their
    /// rows).
    pub warnings: Vec<RowWarning>,
    /// How many warnings have been dismissed for this file.
    pub dismissed_warnings: usize,
    /// How many cells have been corrected in the grid.
    pub edited_cells: usize,
    /// [`roster_shared::Report::counts_by_code`].
    pub counts: Vec<(ErrorCode, usize)>,
    /// The warnings not dismissed, by code.
    pub warning_counts: Vec<(WarningCode, usize)>,
}

/// Some of the checked rows, as asked for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RowsPage {
    pub request: PageRequest,
    /// How many rows there are in all, with this filter.
    pub total: usize,
    pub rows: Vec<MappedRow>,
}

/// Where a file is on its way to a report, for the progress indicator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    Loading,
    /// `percent` of the sheet read so far (the worker tells every few
    /// percent of a large file).
    Reading {
        percent: u8,
    },
    Checking,
}

impl Stage {
    pub const COUNT: u32 = 3;

    /// 1-based position, for a `<progress>` of [`Stage::COUNT`] steps.
    pub const fn step(self) -> u32 {
        match self {
            Stage::Loading => 1,
            Stage::Reading { .. } => 2,
            Stage::Checking => 3,
        }
    }

    /// Percent of the whole way, counting each step as an equal share and
    /// the reading step by how much of the sheet is read.
    pub fn percent(self) -> u32 {
        let within = match self {
            Stage::Reading { percent } => u32::from(percent.min(100)),
            Stage::Loading | Stage::Checking => 0,
        };
        ((self.step() - 1) * 100 + within) / Self::COUNT
    }

    pub const fn describe(self) -> &'static str {
        match self {
            Stage::Loading => "Loading the file",
            Stage::Reading { .. } => "Reading the spreadsheet",
            Stage::Checking => "Checking every row",
        }
    }
}

pub fn columns_of(mapping: &Mapping) -> Columns {
    Field::ALL.iter().map(|f| mapping.get(*f)).collect()
}

pub fn mapping_from(columns: &[Option<usize>]) -> Mapping {
    let mut mapping = Mapping::default();
    for (field, column) in Field::ALL.into_iter().zip(columns) {
        if column.is_some() {
            mapping.set(field, *column);
        }
    }
    mapping
}
