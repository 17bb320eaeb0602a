use std::sync::Arc;

use leptos::prelude::*;

use crate::check_state::{ChosenFile, Status};
use crate::checked_file::CheckedFile;

use super::format;

/// One sentence saying where things are, in a live region so that screen
/// readers announce progress and the final summary.
#[component]
pub fn StatusLine(
    status: RwSignal<Status>,
    chosen: RwSignal<Option<ChosenFile>>,
    checked: RwSignal<Option<Arc<CheckedFile>>>,
    /// What the last correction did, said before the summary.
    notice: RwSignal<Option<String>>,
) -> impl IntoView {
    let text = move || {
        let name = chosen.with(|c| c.as_ref().map(|c| c.name.clone()).unwrap_or_default());
        match status.get() {
            Status::Starting => "Getting ready…".to_string(),
            Status::Ready => "No file chosen yet.".to_string(),
            Status::Working { stage } => format!("{name}: {}…", stage.describe()),
            Status::NeedsMapping { missing } => {
                let labels: Vec<&str> = missing.iter().map(|f| f.label()).collect();
                format!(
                    "{name}: choose the column for {} in step 2.",
                    labels.join(", ")
                )
            }
            Status::Done => {
                let summary =
                    checked.with(|c| c.as_deref().map(summary_sentence).unwrap_or_default());
                match notice.get() {
                    Some(notice) => format!("{notice} {summary}"),
                    None => summary,
                }
            }
            Status::Failed { message } if name.is_empty() => format!("Sorry: {message}."),
            Status::Failed { message } => format!("Could not check {name}: {message}."),
        }
    };
    let failed = move || matches!(status.get(), Status::Failed { .. });
    view! {
        <p id="status" class="status-line" class:failed=failed role="status" aria-live="polite">
            {text}
        </p>
    }
}

/// "people.xlsx: 6 rows checked, 3 with errors (4 errors)." and, when
/// there are any, " 2 warnings."
pub fn summary_sentence(file: &CheckedFile) -> String {
    let s = &file.outcome.summary;
    let rows = format::count(s.rows, "row", "rows");
    let errors = if s.with_errors == 0 {
        format!("{}: {rows} checked, no errors.", file.file_name)
    } else {
        format!(
            "{}: {rows} checked, {} with errors ({}).",
            file.file_name,
            format::thousands(s.with_errors),
            format::count(file.outcome.errors.len(), "error", "errors"),
        )
    };
    match file.outcome.warnings.len() {
        0 => errors,
        n => format!("{errors} {}.", format::count(n, "warning", "warnings")),
    }
}
