//! A check's findings arranged for display: which error belongs to which
//! cell. Only indexing; every rule ran in the worker, which also keeps the
//! rows (the grid asks it for one page at a time).

use std::collections::{BTreeSet, HashMap};

use roster_shared::{ErrorCode, Field, RowError, RowWarning, WarningCode};

use crate::protocol::{CheckOutcome, PageRequest};

pub struct CheckedFile {
    pub file_name: String,
    pub outcome: CheckOutcome,
    /// The fields shown as columns: those mapped, and any with an error, in
    /// [`Field::ALL`] order.
    pub columns: Vec<Field>,
    /// Rule → number of errors, most frequent first.
    pub counts: Vec<(ErrorCode, usize)>,
    /// Warning code → number of warnings not dismissed, most frequent first.
    pub warning_counts: Vec<(WarningCode, usize)>,
    /// (row number, field) → index into `outcome.errors`.
    error_at: HashMap<(u32, Field), usize>,
    /// (row number, field) → indices into `outcome.warnings`.
    warnings_at: HashMap<(u32, Field), Vec<usize>>,
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
            .chain(outcome.warnings.iter().map(|w| w.field))
            .collect();
        let mut counts = outcome.counts.clone();
        counts.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        let mut warning_counts = outcome.warning_counts.clone();
        warning_counts.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        let mut warnings_at: HashMap<(u32, Field), Vec<usize>> = HashMap::new();
        for (i, w) in outcome.warnings.iter().enumerate() {
            warnings_at.entry((w.row, w.field)).or_default().push(i);
        }
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
            warning_counts,
            error_at,
            warnings_at,
            timings,
        }
    }

    pub fn error(&self, row: u32, field: Field) -> Option<&RowError> {
        self.error_at
            .get(&(row, field))
            .and_then(|i| self.outcome.errors.get(*i))
    }

    /// The warnings (not dismissed) of one cell.
    pub fn warnings(&self, row: u32, field: Field) -> impl Iterator<Item = &RowWarning> {
        self.warnings_at
            .get(&(row, field))
            .into_iter()
            .flatten()
            .filter_map(|i| self.outcome.warnings.get(*i))
    }

    /// How many rows the grid lists with this filter.
    pub fn row_count(&self, request: PageRequest) -> usize {
        let summary = &self.outcome.summary;
        if request.only_errors {
            summary.with_errors
        } else if request.only_warnings {
            summary.with_warnings
        } else {
            summary.rows
        }
    }
}

/// A short name for each warning, for the counts table.
pub fn warning_name(code: WarningCode) -> &'static str {
    match code {
        WarningCode::LeadingZerosLost => "Leading zeros lost",
        WarningCode::ScientificNotation => "ID in scientific notation",
        WarningCode::DateInId => "Date in an ID column",
        WarningCode::EmailDomainTypo => "Email domain typo",
        WarningCode::PossibleDuplicate => "Possibly the same person twice",
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
