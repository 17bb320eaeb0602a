//! The report of SPEC section 8: what `roster check --json` prints, what the
//! browser shows and what the server re-checks against.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::fields::Field;
use crate::mapping::Mapping;
use crate::rows::{MappedRow, map_rows};
use crate::rules::{CheckedRows, ErrorCode, RowError, RuleOptions, check_rows};
use crate::table::{SourceInfo, Table};
use crate::warnings::{RowWarning, WarningCode};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub rows: usize,
    pub valid: usize,
    pub with_errors: usize,
    /// Rows with at least one warning (SPEC section 4b), errors or not.
    #[serde(default)]
    pub with_warnings: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub source: SourceInfo,
    /// Field → the header of the column that fills it.
    pub mapping: BTreeMap<Field, String>,
    pub unmapped_headers: Vec<String>,
    pub summary: Summary,
    pub errors: Vec<RowError>,
    /// Never an error: a row with warnings only is valid.
    #[serde(default)]
    pub warnings: Vec<RowWarning>,
    pub rows: Vec<MappedRow>,
}

impl Report {
    /// Maps and checks a table's rows.
    pub fn build(table: &Table, mapping: &Mapping, options: &RuleOptions) -> Report {
        let checked = check_rows(map_rows(table, mapping), options);
        Report::from_checked(table, mapping, checked)
    }

    pub fn from_checked(table: &Table, mapping: &Mapping, checked: CheckedRows) -> Report {
        let with_errors = checked.rows_with_errors();
        let with_warnings = checked.rows_with_warnings();
        Report {
            source: table.source.clone(),
            mapping: mapping.describe(&table.headers),
            unmapped_headers: mapping.unmapped_headers(&table.headers),
            summary: Summary {
                rows: checked.rows.len(),
                valid: checked.rows.len() - with_errors,
                with_errors,
                with_warnings,
            },
            errors: checked.errors,
            warnings: checked.warnings,
            rows: checked.rows,
        }
    }

    /// How many errors each rule found, for the "counts per rule" view.
    pub fn counts_by_code(&self) -> BTreeMap<ErrorCode, usize> {
        let mut counts = BTreeMap::new();
        for e in &self.errors {
            *counts.entry(e.code).or_default() += 1;
        }
        counts
    }

    /// How many warnings of each code, for the counts view.
    pub fn warning_counts(&self) -> BTreeMap<WarningCode, usize> {
        let mut counts = BTreeMap::new();
        for w in &self.warnings {
            *counts.entry(w.code).or_default() += 1;
        }
        counts
    }
}
