use leptos::prelude::*;
use roster_shared::Limits;
use wasm_bindgen::JsCast;
use web_sys::HtmlInputElement;

use super::format;

/// Step 1: a file input styled as a button, inside a zone that also takes a
/// dropped file. The input itself keeps the keyboard focus.
#[component]
pub fn FilePicker(
    /// True until the checker is ready.
    disabled: Signal<bool>,
    on_file: Callback<web_sys::File>,
) -> impl IntoView {
    let dragging = RwSignal::new(false);
    let limit = format::bytes(Limits::default().max_file_bytes as f64);
    view! {
        <div
            class="dropzone"
            class:dragging=move || dragging.get()
            class:disabled=move || disabled.get()
            on:dragover=move |ev| {
                ev.prevent_default();
                dragging.set(true);
            }
            on:dragleave=move |ev| {
                // Moving onto a child of the zone is not leaving it.
                let zone = ev.current_target().and_then(|t| t.dyn_into::<web_sys::Node>().ok());
                let to = ev.related_target().and_then(|t| t.dyn_into::<web_sys::Node>().ok());
                if !zone.is_some_and(|zone| zone.contains(to.as_ref())) {
                    dragging.set(false);
                }
            }
            on:drop=move |ev| {
                ev.prevent_default();
                dragging.set(false);
                if disabled.get_untracked() {
                    return;
                }
                let file = ev.data_transfer().and_then(|d| d.files()).and_then(|l| l.get(0));
                if let Some(file) = file {
                    on_file.run(file);
                }
            }
        >
            <p class="dropzone-text">"Drop a spreadsheet here, or"</p>
            <input
                type="file"
                id="file-input"
                class="visually-hidden"
                accept=".xlsx,.xls,.ods,.csv"
                aria-describedby="file-hint"
                prop:disabled=move || disabled.get()
                on:change=move |ev| {
                    let input: HtmlInputElement = event_target(&ev);
                    if let Some(file) = input.files().and_then(|l| l.get(0)) {
                        on_file.run(file);
                    }
                    // Choosing the same file again must read it again.
                    input.set_value("");
                }
            />
            <label for="file-input" class="button primary">
                "Choose a file"
            </label>
            <p id="file-hint" class="hint">
                {format!(".xlsx, .xls, .ods or .csv, up to {limit}")}
            </p>
        </div>
    }
}
