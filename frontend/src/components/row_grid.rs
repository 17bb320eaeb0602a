use std::sync::Arc;

use leptos::prelude::*;
use roster_shared::{Field, MappedRow, RowError, WarningCode};

use crate::checked_file::CheckedFile;
use crate::protocol::{PAGE_SIZE, PageRequest, RowsPage};

use super::{ErrorIcon, WarningIcon, focus_after_redraw, format};

/// The cell being corrected: (row number, field).
type Editing = RwSignal<Option<(u32, Field)>>;

/// What a password cell shows until "Show passwords": always the same
/// length, so that not even the password's length shows.
const PASSWORD_MASK: &str = "••••••••";

/// A dismissed warning: (row number, field, code).
pub type Dismissal = (u32, Field, WarningCode);

/// The rows, a page at a time (the worker holds them all); a wrong cell
/// shows its message and an icon, and can be corrected; a cell with a
/// warning shows it with another icon, the word "Warning" and a button that
/// dismisses it. Filters keep only the rows with errors, or with warnings. Passwords are masked unless "Show passwords" is
/// ticked (the corrected file still holds them: the worker writes it).
#[component]
pub fn RowGrid(
    file: Arc<CheckedFile>,
    /// The page the worker sent last.
    page: RwSignal<Option<Arc<RowsPage>>>,
    /// The page asked for last.
    #[prop(into)]
    wanted: Signal<PageRequest>,
    on_request: Callback<PageRequest>,
    /// A corrected cell: (row number, field, new value).
    on_edit: Callback<(u32, Field, String)>,
    /// A warning dismissed for the file.
    on_dismiss: Callback<Dismissal>,
) -> impl IntoView {
    let editing: Editing = RwSignal::new(None);
    let reveal = RwSignal::new(false);
    let has_passwords = file.columns.contains(&Field::Password);
    let counted = file.clone();
    let total = Memo::new(move |_| counted.row_count(wanted.get()));
    let range_text = move || {
        let total = total.get();
        let PageRequest {
            only_errors,
            only_warnings,
            start,
        } = wanted.get();
        let end = (start + PAGE_SIZE).min(total);
        let what = if only_errors {
            "rows with errors"
        } else if only_warnings {
            "rows with warnings"
        } else {
            "rows"
        };
        if total == 0 {
            format!("No {what}")
        } else {
            format!(
                "{}–{} of {} {what}",
                format::thousands(start + 1),
                format::thousands(end),
                format::thousands(total)
            )
        }
    };

    let header_cells = file
        .columns
        .iter()
        .map(|f| view! { <th scope="col">{f.label()}</th> })
        .collect_view();
    let shown = file.clone();
    let body = move || {
        let Some(page) = page.get() else {
            return ().into_any();
        };
        if page.rows.is_empty() {
            let colspan = (shown.columns.len() + 1).to_string();
            let none = if page.request.only_warnings {
                "No row has a warning."
            } else {
                "No row has an error."
            };
            return view! {
                <tr>
                    <td colspan=colspan class="empty">
                        {none}
                    </td>
                </tr>
            }
            .into_any();
        }
        page.rows
            .iter()
            .map(|row| grid_row(&shown, row, editing, reveal, on_edit, on_dismiss))
            .collect_view()
            .into_any()
    };
    let loading = move || page.with(|p| p.as_ref().map(|p| p.request)) != Some(wanted.get());

    view! {
        <div class="grid-tools">
            <div class="grid-options">
                <label class="checkbox">
                    <input
                        type="checkbox"
                        id="only-errors"
                        prop:checked=move || wanted.get().only_errors
                        on:change=move |ev| {
                            on_request
                                .run(PageRequest {
                                    only_errors: event_target_checked(&ev),
                                    only_warnings: false,
                                    start: 0,
                                })
                        }
                    />
                    "Only rows with errors"
                </label>
                <label class="checkbox">
                    <input
                        type="checkbox"
                        id="only-warnings"
                        prop:checked=move || wanted.get().only_warnings
                        on:change=move |ev| {
                            on_request
                                .run(PageRequest {
                                    only_errors: false,
                                    only_warnings: event_target_checked(&ev),
                                    start: 0,
                                })
                        }
                    />
                    "Only rows with warnings"
                </label>
                {has_passwords
                    .then(|| {
                        view! {
                            <label class="checkbox">
                                <input
                                    type="checkbox"
                                    id="show-passwords"
                                    prop:checked=move || reveal.get()
                                    on:change=move |ev| reveal.set(event_target_checked(&ev))
                                />
                                "Show passwords"
                            </label>
                        }
                    })}
            </div>
            <nav class="pager" aria-label="Pages of rows">
                <button
                    type="button"
                    class="button"
                    id="pager-previous"
                    prop:disabled=move || wanted.get().start == 0
                    on:click=move |_| {
                        let w = wanted.get_untracked();
                        on_request
                            .run(PageRequest {
                                start: w.start.saturating_sub(PAGE_SIZE),
                                ..w
                            })
                    }
                >
                    "Previous"
                </button>
                <span class="pager-text" aria-live="polite" id="pager-text">
                    {range_text}
                </span>
                <button
                    type="button"
                    class="button"
                    id="pager-next"
                    prop:disabled=move || { wanted.get().start + PAGE_SIZE >= total.get() }
                    on:click=move |_| {
                        let w = wanted.get_untracked();
                        on_request
                            .run(PageRequest {
                                start: w.start + PAGE_SIZE,
                                ..w
                            })
                    }
                >
                    "Next"
                </button>
            </nav>
        </div>
        <div
            class="grid-scroll"
            class:loading=loading
            id="rows-region"
            role="region"
            aria-label="Rows of the file"
            aria-busy=move || loading().then_some("true")
            tabindex="0"
        >
            <table class="grid" id="row-grid">
                <thead>
                    <tr>
                        <th scope="col" class="row-number">
                            "Row"
                        </th>
                        {header_cells}
                    </tr>
                </thead>
                <tbody>{body}</tbody>
            </table>
        </div>
    }
}

fn grid_row(
    file: &CheckedFile,
    row: &MappedRow,
    editing: Editing,
    reveal: RwSignal<bool>,
    on_edit: Callback<(u32, Field, String)>,
    on_dismiss: Callback<Dismissal>,
) -> impl IntoView + use<> {
    let has_errors = file
        .columns
        .iter()
        .any(|f| file.error(row.row, *f).is_some());
    let has_warnings = file
        .columns
        .iter()
        .any(|f| file.warnings(row.row, *f).next().is_some());
    let cells = file
        .columns
        .iter()
        .map(|field| {
            let value = row.get(*field).to_string();
            let warnings = warning_notes(file, row.row, *field, on_dismiss);
            match (file.error(row.row, *field), warnings) {
                (Some(error), warnings) => invalid_cell(
                    row.row, *field, value, error, warnings, editing, reveal, on_edit,
                )
                .into_any(),
                (None, Some((code, warnings))) => view! {
                    <td class="warned" data-warning=code.key()>
                        <span class="cell-value">{cell_text(*field, value, reveal)}</span>
                        {warnings}
                    </td>
                }
                .into_any(),
                (None, None) => view! { <td>{cell_text(*field, value, reveal)}</td> }.into_any(),
            }
        })
        .collect_view();
    view! {
        <tr
            class:row-invalid=has_errors
            class:row-warned=has_warnings && !has_errors
            data-row=row.row.to_string()
        >
            <th scope="row" class="row-number">
                {row.row.to_string()}
            </th>
            {cells}
        </tr>
    }
}

/// A cell's value as shown: a password masked unless revealed (an empty
/// one stays empty: that it is missing is no secret).
fn cell_text(field: Field, value: String, reveal: RwSignal<bool>) -> AnyView {
    if field != Field::Password || value.is_empty() {
        return value.into_any();
    }
    (move || {
        if reveal.get() {
            value.clone().into_any()
        } else {
            view! {
                <span aria-hidden="true">{PASSWORD_MASK}</span>
                <span class="visually-hidden">"hidden password"</span>
            }
            .into_any()
        }
    })
    .into_any()
}

/// A cell's warnings (not dismissed), each with its icon, the word
/// "Warning" (not colour alone) and a button that dismisses it; `None`
/// when it has none. The first warning's code comes with them.
fn warning_notes(
    file: &CheckedFile,
    row: u32,
    field: Field,
    on_dismiss: Callback<Dismissal>,
) -> Option<(WarningCode, AnyView)> {
    let warnings: Vec<_> = file.warnings(row, field).collect();
    let first = warnings.first()?.code;
    let notes = warnings
        .into_iter()
        .map(|w| {
            let code = w.code;
            let id = format!("warning-{row}-{}-{}", field.key(), code.key());
            view! {
                <span class="cell-warning" id=id.clone() data-code=code.key()>
                    <WarningIcon />
                    <span>
                        <strong class="note-kind">"Warning: "</strong>
                        {w.message.clone()}
                    </span>
                    <button
                        type="button"
                        class="link-button"
                        id=format!("dismiss-{row}-{}-{}", field.key(), code.key())
                        aria-label=format!("Dismiss the warning on {} in row {row}", field.label())
                        aria-describedby=id.clone()
                        on:click=move |_| on_dismiss.run((row, field, code))
                    >
                        "Dismiss"
                    </button>
                </span>
            }
        })
        .collect_view()
        .into_any();
    Some((first, notes))
}

/// A wrong cell: its value, its message with an icon, any warnings, and a
/// button that turns the value into a text box.
#[allow(clippy::too_many_arguments)]
fn invalid_cell(
    row: u32,
    field: Field,
    value: String,
    error: &RowError,
    warnings: Option<(WarningCode, AnyView)>,
    editing: Editing,
    reveal: RwSignal<bool>,
    on_edit: Callback<(u32, Field, String)>,
) -> impl IntoView + use<> {
    let edit_id = format!("edit-{row}-{}", field.key());
    let is_editing = move || editing.get() == Some((row, field));
    let shown_value = value.clone();
    view! {
        <td class="invalid" data-code=error.code.key()>
            {move || {
                if is_editing() {
                    cell_editor(row, field, value.clone(), editing, reveal, on_edit).into_any()
                } else {
                    view! {
                        <span class="cell-value">{cell_text(field, shown_value.clone(), reveal)}</span>
                    }
                        .into_any()
                }
            }}
            <span class="cell-problem" id=format!("problem-{row}-{}", field.key())>
                <ErrorIcon />
                <span>{error.message.clone()}</span>
            </span>
            {warnings.map(|(_, notes)| notes)}
            <button
                type="button"
                class="link-button"
                id=edit_id
                aria-label=format!("Correct {} in row {row}", field.label())
                hidden=is_editing
                on:click=move |_| editing.set(Some((row, field)))
            >
                "Correct"
            </button>
        </td>
    }
}

fn cell_editor(
    row: u32,
    field: Field,
    value: String,
    editing: Editing,
    reveal: RwSignal<bool>,
    on_edit: Callback<(u32, Field, String)>,
) -> impl IntoView {
    // A password is typed into a password box unless passwords are shown.
    let masked = move || field == Field::Password && !reveal.get();
    let input = NodeRef::<leptos::html::Input>::new();
    Effect::new(move |_| {
        if let Some(input) = input.get() {
            let _ = input.focus();
            input.select();
        }
    });
    let input_id = format!("input-{row}-{}", field.key());
    let edit_id = format!("edit-{row}-{}", field.key());
    let cancel = move || {
        editing.set(None);
        focus_after_redraw(&edit_id);
    };
    let cancel_on_escape = cancel.clone();
    view! {
        <form
            class="cell-editor"
            on:submit=move |ev| {
                ev.prevent_default();
                if let Some(input) = input.get_untracked() {
                    editing.set(None);
                    on_edit.run((row, field, input.value()));
                }
            }
        >
            <label class="visually-hidden" for=input_id.clone()>
                {format!("{} in row {row}", field.label())}
            </label>
            <input
                type=move || if masked() { "password" } else { "text" }
                id=input_id
                node_ref=input
                prop:value=value
                autocomplete=move || if masked() { "new-password" } else { "off" }
                spellcheck="false"
                aria-invalid="true"
                aria-describedby=format!("problem-{row}-{}", field.key())
                on:keydown=move |ev| {
                    if ev.key() == "Escape" {
                        ev.prevent_default();
                        cancel_on_escape();
                    }
                }
            />
            <span class="cell-editor-buttons">
                <button type="submit" class="button small primary">
                    "Save"
                </button>
                <button type="button" class="button small" on:click=move |_| cancel()>
                    "Cancel"
                </button>
            </span>
        </form>
    }
}
