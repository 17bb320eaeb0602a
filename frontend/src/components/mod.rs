//! Small components of the pages. They show what the worker or the server
//! said; none of them computes a rule.

mod check_summary;
mod confirm_dialog;
mod corrections;
mod done_notice;
mod error_alert;
mod export_users;
mod figures;
mod file_picker;
pub mod format;
mod icons;
mod mapping_form;
mod progress_panel;
mod row_button;
mod row_grid;
mod rule_counts;
mod status_line;

pub use check_summary::CheckSummary;
pub use confirm_dialog::{ConfirmDelete, ConfirmDialog, DeleteQuestion};
pub use corrections::Corrections;
pub use done_notice::DoneNotice;
pub use error_alert::ErrorAlert;
pub use export_users::ExportUsers;
pub use figures::{Figure, Figures};
pub use file_picker::FilePicker;
pub use icons::{ErrorIcon, OkIcon, WarningIcon};
pub use mapping_form::MappingForm;
pub use progress_panel::ProgressPanel;
pub use row_button::RowButton;
pub use row_grid::RowGrid;
pub use rule_counts::{RuleCounts, WarningCounts};
pub use status_line::StatusLine;

/// Focuses the element with this id once the page has been redrawn, or the
/// rows' region if it is gone (a corrected row can leave the filtered list).
pub fn focus_after_redraw(id: &str) {
    use wasm_bindgen::JsCast;
    let id = id.to_string();
    leptos::prelude::request_animation_frame(move || {
        let Some(document) = web_sys::window().and_then(|w| w.document()) else {
            return;
        };
        let target = document
            .get_element_by_id(&id)
            .or_else(|| document.get_element_by_id("rows-region"));
        if let Some(element) = target.and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok()) {
            let _ = element.focus();
        }
    });
}

/// Focuses the element with this id once the page has been redrawn.
pub fn focus_element(id: &str) {
    use wasm_bindgen::JsCast;
    let id = id.to_string();
    leptos::prelude::request_animation_frame(move || {
        if let Some(element) = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.get_element_by_id(&id))
            .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok())
        {
            let _ = element.focus();
        }
    });
}
