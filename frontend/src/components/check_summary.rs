use std::sync::Arc;

use leptos::prelude::*;

use crate::checked_file::CheckedFile;

use super::format;

/// The figures of a check, at the top of step 3.
#[component]
pub fn CheckSummary(file: Arc<CheckedFile>) -> impl IntoView {
    let report = &file.outcome;
    let s = &report.summary;
    let source = &report.source;
    let blank = if source.blank_rows > 0 {
        format!(
            " {} skipped.",
            format::count(source.blank_rows, "empty row", "empty rows")
        )
    } else {
        String::new()
    };
    let figures = [
        ("Rows", s.rows, ""),
        ("Without errors", s.valid, "ok"),
        (
            "With errors",
            s.with_errors,
            if s.with_errors > 0 { "bad" } else { "" },
        ),
        (
            "Errors",
            report.errors.len(),
            if report.errors.is_empty() { "" } else { "bad" },
        ),
        (
            "With warnings",
            s.with_warnings,
            if s.with_warnings > 0 { "warn" } else { "" },
        ),
        (
            "Warnings",
            report.warnings.len(),
            if report.warnings.is_empty() {
                ""
            } else {
                "warn"
            },
        ),
    ];
    let t = file.timings;
    let timing = match t.read_ms {
        Some(read_ms) => format!(
            "Read in {}, checked in {}; {} from choosing the file to this report.",
            format::duration(read_ms),
            format::duration(t.check_ms),
            format::duration(t.total_ms),
        ),
        None => format!("Checked again in {}.", format::duration(t.total_ms)),
    };
    let edited = match report.edited_cells {
        0 => String::new(),
        n => format!(" {} corrected here.", format::count(n, "cell", "cells")),
    };
    view! {
        <div
            id="check-summary"
            class="summary"
            data-total-ms=format!("{:.0}", t.total_ms)
            data-read-ms=format!("{:.0}", t.read_ms.unwrap_or_default())
            data-check-ms=format!("{:.0}", t.check_ms)
        >
            <dl class="figures">
                {figures
                    .into_iter()
                    .map(|(label, n, tone)| {
                        view! {
                            <div
                                class=format!("figure {tone}")
                                id=format!("figure-{}", label.to_lowercase().replace(' ', "-"))
                            >
                                <dt>{label}</dt>
                                <dd>{format::thousands(n)}</dd>
                            </div>
                        }
                    })
                    .collect_view()}
            </dl>
            <p class="hint">
                {format!(
                    "{}: data from row {} on.{blank}{edited} {timing}",
                    file.file_name,
                    source.header_row + 1,
                )}
            </p>
        </div>
    }
}
