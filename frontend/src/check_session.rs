//! The worker's state for one file: its table, the mapping, the
//! corrections made in the grid, and the last report. All checking is the
//! rules crate's; this only applies corrections, pages and exports.

use std::collections::{HashMap, HashSet};

use roster_shared::rows::map_rows;
use roster_shared::text::trim;
use roster_shared::{Field, MappedRow, Mapping, Report, RuleOptions, Table, check_rows};

use crate::corrected_file::{CorrectedFile, Value, Writer, corrected_name};
use crate::protocol::{CheckOutcome, PAGE_SIZE, PageRequest, RowsPage, WarningKey};

/// The file being worked on.
pub struct CheckSession {
    pub file_name: String,
    pub table: Table,
    pub mapping: Mapping,
    /// Corrections: (row number, field) → value. They outlive a change of
    /// mapping; a new file starts without any.
    edits: HashMap<(u32, Field), String>,
    /// The warnings dismissed for this file (the page keeps them for the
    /// file in `sessionStorage` and sends them; see `dismissed_warnings`).
    dismissed: HashSet<WarningKey>,
    pub checked: Option<Checked>,
}

/// A report, and the indices of its rows that have errors or warnings not
/// dismissed (for the filters).
pub struct Checked {
    pub report: Report,
    rows_with_errors: Vec<usize>,
    /// The report's warnings that are not dismissed, as indices into it.
    warnings: Vec<usize>,
    rows_with_warnings: Vec<usize>,
}

impl CheckSession {
    /// A file just read, mapped as the rules crate suggests.
    pub fn new(file_name: String, table: Table) -> CheckSession {
        CheckSession {
            mapping: Mapping::suggest(&table.headers),
            file_name,
            table,
            edits: HashMap::new(),
            dismissed: HashSet::new(),
            checked: None,
        }
    }

    /// Replaces the dismissed warnings; the last report is filtered again,
    /// not checked again.
    pub fn set_dismissed(&mut self, dismissed: Vec<WarningKey>) {
        self.dismissed = dismissed.into_iter().collect();
        if let Some(checked) = self.checked.take() {
            self.checked = Some(Checked::new(checked.report, &self.dismissed));
        }
    }

    /// Corrects one cell; [`CheckSession::check`] applies it.
    pub fn edit(&mut self, row: u32, field: Field, value: String) {
        self.edits.insert((row, field), value);
    }

    /// How many cells have been corrected.
    pub fn edited_cells(&self) -> usize {
        self.edits.len()
    }

    /// Maps the table's rows, applies the corrections and checks them all
    /// (a correction can end or start a duplicate in another row).
    pub fn check(&mut self) -> &Checked {
        let mut rows = map_rows(&self.table, &self.mapping);
        if !self.edits.is_empty() {
            let index: HashMap<u32, usize> =
                rows.iter().enumerate().map(|(i, r)| (r.row, i)).collect();
            for ((row, field), value) in &self.edits {
                if let Some(i) = index.get(row) {
                    rows[*i].set(*field, value.clone());
                }
            }
        }
        let checked = check_rows(rows, &RuleOptions::default());
        let report = Report::from_checked(&self.table, &self.mapping, checked);
        self.checked.insert(Checked::new(report, &self.dismissed))
    }

    /// Trims every mapped value that has leading or trailing whitespace;
    /// returns how many cells changed.
    pub fn trim_all(&mut self) -> usize {
        let Some(checked) = &self.checked else {
            return 0;
        };
        let mut changed = 0;
        for row in &checked.report.rows {
            for (field, value) in row.iter() {
                let trimmed = trim(value);
                if trimmed.len() != value.len() {
                    self.edits.insert((row.row, field), trimmed.to_string());
                    changed += 1;
                }
            }
        }
        changed
    }

    /// The file with its corrections (see [`crate::corrected_file`]):
    /// every column of the sheet, the mapped ones with their checked (and
    /// corrected) values.
    pub fn export(&self) -> Result<CorrectedFile, String> {
        let checked = self
            .checked
            .as_ref()
            .ok_or("no file has been checked yet")?;
        let field_of_column: HashMap<usize, Field> = Field::ALL
            .into_iter()
            .filter_map(|f| Some((self.mapping.get(f)?, f)))
            .collect();
        let source = &self.table.source;
        let mut out = Writer::new(source.format, &source.sheet, &self.table.headers)?;
        for (sheet_row, row) in self.table.rows.iter().zip(&checked.report.rows) {
            out.row(
                (0..self.table.headers.len()).map(|col| match field_of_column.get(&col) {
                    Some(field) => Value::Field(row.get(*field)),
                    None => Value::Cell(Table::cell(sheet_row, col)),
                }),
            )?;
        }
        let mime = out.mime();
        Ok(CorrectedFile {
            name: corrected_name(&self.file_name, source.format),
            mime,
            bytes: out.finish()?,
        })
    }
}

impl Checked {
    pub fn new(report: Report, dismissed: &HashSet<WarningKey>) -> Checked {
        let indices_of = |rows: HashSet<u32>| -> Vec<usize> {
            if rows.is_empty() {
                return Vec::new();
            }
            report
                .rows
                .iter()
                .enumerate()
                .filter(|(_, r)| rows.contains(&r.row))
                .map(|(i, _)| i)
                .collect()
        };
        let rows_with_errors = indices_of(report.errors.iter().map(|e| e.row).collect());
        let warnings: Vec<usize> = report
            .warnings
            .iter()
            .enumerate()
            .filter(|(_, w)| !dismissed.contains(&(w.row, w.field, w.code)))
            .map(|(i, _)| i)
            .collect();
        let rows_with_warnings =
            indices_of(warnings.iter().map(|&i| report.warnings[i].row).collect());
        Checked {
            report,
            rows_with_errors,
            warnings,
            rows_with_warnings,
        }
    }

    pub fn outcome(&self, edited_cells: usize) -> CheckOutcome {
        let r = &self.report;
        let warnings: Vec<_> = self
            .warnings
            .iter()
            .map(|&i| r.warnings[i].clone())
            .collect();
        let mut warning_counts = std::collections::BTreeMap::new();
        for w in &warnings {
            *warning_counts.entry(w.code).or_insert(0) += 1;
        }
        let mut summary = r.summary.clone();
        summary.with_warnings = self.rows_with_warnings.len();
        CheckOutcome {
            source: r.source.clone(),
            mapping: r.mapping.clone(),
            unmapped_headers: r.unmapped_headers.clone(),
            summary,
            errors: r.errors.clone(),
            dismissed_warnings: r.warnings.len() - warnings.len(),
            warnings,
            counts: r.counts_by_code().into_iter().collect(),
            warning_counts: warning_counts.into_iter().collect(),
            edited_cells,
        }
    }

    /// The rows asked for; past the end, the last page.
    pub fn page(&self, request: PageRequest) -> RowsPage {
        let rows = &self.report.rows;
        let filtered = if request.only_errors {
            Some(&self.rows_with_errors)
        } else if request.only_warnings {
            Some(&self.rows_with_warnings)
        } else {
            None
        };
        let total = filtered.map_or(rows.len(), Vec::len);
        let last_start = total.saturating_sub(1) / PAGE_SIZE * PAGE_SIZE;
        let request = PageRequest {
            start: request.start.min(last_start),
            ..request
        };
        let end = (request.start + PAGE_SIZE).min(total);
        let rows = (request.start..end)
            .filter_map(|n| {
                let index = match filtered {
                    Some(indices) => *indices.get(n)?,
                    None => n,
                };
                rows.get(index).map(for_display)
            })
            .collect();
        RowsPage {
            request,
            total,
            rows,
        }
    }
}

/// The most characters of one value a page of rows carries to the grid.
/// More than any field allows (255), so a value cut here already has its
/// `too_long` error; the worker keeps it whole for the report, the
/// corrected file and Try Import. Without the cut, a 32,767-character text
/// shared by every row would put 50 × 15 of it into each page.
pub const SHOWN_CHARS: usize = 1_000;

/// `row` as the grid shows it: each value of more than [`SHOWN_CHARS`]
/// characters cut there, with `…`.
fn for_display(row: &MappedRow) -> MappedRow {
    let mut shown = row.clone();
    for (field, value) in row.iter() {
        if value.len() > SHOWN_CHARS
            && let Some((cut, _)) = value.char_indices().nth(SHOWN_CHARS)
        {
            shown.set(field, format!("{}…", &value[..cut]));
        }
    }
    shown
}
