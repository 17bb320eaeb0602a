use std::sync::Arc;

use leptos::prelude::*;
use roster_shared::error::column_letters;
use roster_shared::{Field, Mapping};

use crate::check_state::OpenFile;

use super::ErrorIcon;

/// Step 2: one labelled drop-down per field, set to the column the rules
/// crate suggested (or the one chosen last time for these headers).
#[component]
pub fn MappingForm(
    file: Arc<OpenFile>,
    mapping: RwSignal<Mapping>,
    on_change: Callback<(Field, Option<usize>)>,
) -> impl IntoView {
    let choices: Arc<Vec<String>> = Arc::new(
        file.headers
            .iter()
            .enumerate()
            .map(|(i, h)| column_choice(i, h))
            .collect(),
    );
    let fields = Field::ALL
        .into_iter()
        .map(|field| field_select(field, choices.clone(), mapping, on_change))
        .collect_view();
    let headers = file.headers.clone();
    let unmapped = move || {
        let unmapped = mapping.with(|m| m.unmapped_headers(&headers));
        (!unmapped.is_empty()).then(|| {
            view! {
                <p class="unmapped">
                    <strong>"Columns not used: "</strong>
                    {unmapped.join(", ")}
                </p>
            }
        })
    };
    let source = &file.source;
    let sheet = if source.sheet.is_empty() {
        String::new()
    } else {
        format!("sheet “{}”, ", source.sheet)
    };
    view! {
        <p class="hint">
            {format!(
                "Read {sheet}headers on row {}. Each field is matched to a column by its header; change any that are wrong. Your choice is remembered for files with the same headers.",
                source.header_row,
            )}
        </p>
        <div class="mapping-grid">{fields}</div>
        {unmapped}
    }
}

fn field_select(
    field: Field,
    choices: Arc<Vec<String>>,
    mapping: RwSignal<Mapping>,
    on_change: Callback<(Field, Option<usize>)>,
) -> impl IntoView {
    let id = format!("map-{}", field.key());
    let error_id = format!("map-{}-error", field.key());
    let missing = move || field.is_required() && mapping.with(|m| m.get(field).is_none());
    let options = choices
        .iter()
        .enumerate()
        .map(|(i, choice)| {
            view! {
                <option
                    value=i.to_string()
                    prop:selected=move || mapping.with(|m| m.get(field) == Some(i))
                >
                    {choice.clone()}
                </option>
            }
        })
        .collect_view();
    let error_text = format!("Choose the column that holds {}.", field.label());
    let described_by = error_id.clone();
    view! {
        <div class="mapping-row" class:missing=missing>
            <label for=id.clone()>
                {field.label()}
                {field.is_required().then(|| view! { <span class="required">" required"</span> })}
            </label>
            <select
                id=id
                aria-invalid=move || missing().then_some("true")
                aria-describedby=move || missing().then(|| described_by.clone())
                on:change=move |ev| {
                    let column = event_target_value(&ev).parse::<usize>().ok();
                    on_change.run((field, column));
                }
            >
                <option value="" prop:selected=move || mapping.with(|m| m.get(field).is_none())>
                    "— not in this file —"
                </option>
                {options}
            </select>
            {move || {
                missing()
                    .then(|| {
                        view! {
                            <p class="field-error" id=error_id.clone()>
                                <ErrorIcon />
                                {error_text.clone()}
                            </p>
                        }
                    })
            }}
        </div>
    }
}

/// How a column appears in the drop-down: its header and its letter.
fn column_choice(index: usize, header: &str) -> String {
    let letters = column_letters(index as u32);
    if header.is_empty() {
        format!("Column {letters} (no header)")
    } else {
        format!("{header} (column {letters})")
    }
}
