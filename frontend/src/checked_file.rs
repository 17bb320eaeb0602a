//! A check's findings arranged for display: which error belongs to which
//! cell. Only indexing; every rule ran in the worker, which also keeps the
//! rows (the grid asks it for one page at a time).

use std::collections::{BTreeSet, HashMap};

use roster_shared::{ErrorCode, Field, RowError};

use crate::protocol::CheckOutcome;

pub struct CheckedFile {
    pub file_name: String,
    pub outcome: CheckOutcome,
    /// The fields shown as columns: those mapped, and any with an error, in
    /// [`Field::ALL`] order.
    pub columns: Vec<Field>,
    /// Rule → number of errors, most frequent first.
    pub counts: Vec<(ErrorCode, usize)>,
    /// (row number, field) → index into `outcome.errors`.
    error_at: HashMap<(u32, Field), usize>,
    pub timings: Timings,
}

/// Where the time went, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Timings {
    /// Reading the file in the worker; `None` for a check after a change of
    /// mapping, which reads nothing.
    pub read_ms: Option<f64>,
    /// Checking the rows in the worker.
    pub check_ms: f64,
    /// From choosing the file (or changing the mapping) to the report being
    /// ready on the page.
    pub total_ms: f64,
}

impl CheckedFile {
    pub fn new(file_name: String, outcome: CheckOutcome, timings: Timings) -> CheckedFile {
        let columns: BTreeSet<Field> = outcome
            .mapping
            .keys()
            .copied()
            .chain(outcome.errors.iter().map(|e| e.field))
            .collect();
        let mut counts = outcome.counts.clone();
        counts.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        let error_at = outcome
            .errors
            .iter()
            .enumerate()
            .map(|(i, e)| ((e.row, e.field), i))
            .collect();
        CheckedFile {
            file_name,
            outcome,
            columns: columns.into_iter().collect(),
            counts,
            error_at,
            timings,
        }
    }

    pub fn error(&self, row: u32, field: Field) -> Option<&RowError> {
        self.error_at
            .get(&(row, field))
            .and_then(|i| self.outcome.errors.get(*i))
    }

    /// How many rows the grid lists with or without the error filter.
    pub fn row_count(&self, only_errors: bool) -> usize {
        let summary = &self.outcome.summary;
        if only_errors {
            summary.with_errors
        } else {
            summary.rows
        }
    }
}

/// A short name for each rule, for the counts table.
pub fn rule_name(code: ErrorCode) -> &'static str {
    match code {
        ErrorCode::Required => "Required value missing",
        ErrorCode::InvalidCharacters => "Line breaks or control characters",
        ErrorCode::SpacesNotAllowed => "Spaces in a username",
        ErrorCode::Untrimmed => "Leading or trailing spaces",
        ErrorCode::TooLong => "Too long",
        ErrorCode::InvalidEmail => "Invalid email address",
        ErrorCode::PasswordTooShort => "Password too short",
        ErrorCode::InvalidYesNo => "Not yes or no",
        ErrorCode::LevelGap => "Sub-level skipped",
        ErrorCode::InvalidTimeZone => "Unknown time zone",
        ErrorCode::WrongType => "Wrong type of value",
        ErrorCode::CellError => "Spreadsheet error in a cell",
        ErrorCode::ImpreciseNumber => "Number too long for Excel",
        ErrorCode::DuplicateInFile => "Used more than once in the file",
        ErrorCode::InUse => "Already in use",
    }
}
