//! `/import`: "Import users" (SPEC section 10). Steps 1–3 are the check
//! page's own ([`CheckSteps`] with `import`); this file adds step 4 (role,
//! start hierarchy, Try Import and the preview) and step 5 (Import, its
//! progress and its result). Only the worker's checked rows are sent, as
//! JSON; the file never leaves the browser. A preview is of the rows, role
//! and start hierarchy it was made for: changing any of them discards it.

use std::sync::Arc;

use leptos::prelude::*;
use leptos_router::components::A;

use roster_shared::api::{CommitResult, ImportPreview, Permission};

use crate::api::{self, Commit};
use crate::components::{
    ErrorAlert, ErrorIcon, Figure, Figures, WarningIcon, focus_element, format,
};
use crate::remote::{self, Outcome};
use crate::session::RequirePermission;

use super::check::{CheckSteps, ImportRows};

#[component]
pub fn ImportPage() -> impl IntoView {
    view! {
        <RequirePermission permission=Permission::ManageUsers>
            <CheckSteps import=true />
        </RequirePermission>
    }
}

/// What a preview is of: the rows as corrected so far (`corrected` of
/// [`ImportSteps`]), the role and the start hierarchy. A preview made for
/// anything else is not shown.
#[derive(Clone, Copy, PartialEq)]
struct MadeFor {
    rows: u32,
    role: i64,
    node: i64,
}

/// What steps 4 and 5 show below the pickers when nothing is on its way.
#[derive(Clone)]
enum Shown {
    Nothing,
    Preview {
        preview: Arc<ImportPreview>,
        made_for: MadeFor,
        /// Set when a commit found the directory changed (409) and
        /// brought this fresh preview.
        stale: bool,
    },
    Done {
        id: i64,
        result: CommitResult,
        errors: usize,
    },
}

/// What steps 4 and 5 send; one action, so they have one busy flag and
/// their last failure is the action's.
#[derive(Clone)]
enum ImportChange {
    Try {
        file_name: String,
        rows: Arc<Vec<roster_shared::MappedRow>>,
        made_for: MadeFor,
    },
    Commit {
        preview: Arc<ImportPreview>,
        made_for: MadeFor,
        skip_errors: bool,
    },
    Cancel(i64),
}

/// Steps 4 and 5; `ask_rows` gets the worker's checked rows. `corrected`
/// changes at every correction of steps 2–3 (a cell, stray spaces, the
/// mapping): a preview of rows that are no longer the ones on the page is
/// discarded, as is one made for another role or start hierarchy.
#[component]
pub fn ImportSteps(
    ask_rows: Callback<Callback<ImportRows>>,
    #[prop(into)] corrected: Signal<u32>,
) -> impl IntoView {
    // Nothing is preselected: the first role is often Administrator, and
    // two clicks would import a whole file as administrators.
    let roles = remote::load(api::roles);
    let nodes = remote::load(api::hierarchy);
    let role_id = RwSignal::new(None::<i64>);
    let node_id = RwSignal::new(None::<i64>);
    // Set by Try Import without a role or a start hierarchy; cleared by
    // choosing one.
    let role_missing = RwSignal::new(false);
    let node_missing = RwSignal::new(false);
    let shown = RwSignal::new(Shown::Nothing);
    // Set while the worker gathers the rows for Try Import.
    let gathering = RwSignal::new(false);
    let confirming = RwSignal::new(false);
    // Set when a correction discarded the preview, until Try Import again.
    let discarded = RwSignal::new(false);
    let made_for_now = move || {
        Some(MadeFor {
            rows: corrected.get_untracked(),
            role: role_id.get_untracked()?,
            node: node_id.get_untracked()?,
        })
    };

    let change = remote::send(move |change: &ImportChange| {
        let change = change.clone();
        async move {
            match change {
                ImportChange::Try {
                    file_name,
                    rows,
                    made_for,
                } => {
                    let preview =
                        api::try_import(&file_name, made_for.role, made_for.node, &rows).await?;
                    if made_for_now() == Some(made_for) {
                        shown.set(Shown::Preview {
                            preview: Arc::new(preview),
                            made_for,
                            stale: false,
                        });
                    } else {
                        // Corrected while it was on its way: not shown, and
                        // gone from the server too (best effort).
                        let _ = api::cancel_import(preview.id).await;
                    }
                }
                ImportChange::Commit {
                    preview,
                    made_for,
                    skip_errors,
                } => match api::commit_import(preview.id, skip_errors).await? {
                    Commit::Done(result) => shown.set(Shown::Done {
                        id: preview.id,
                        result,
                        errors: preview.summary.with_errors,
                    }),
                    Commit::Stale(fresh) => shown.set(Shown::Preview {
                        preview: Arc::new(*fresh),
                        made_for,
                        stale: true,
                    }),
                },
                ImportChange::Cancel(id) => {
                    api::cancel_import(id).await?;
                    shown.set(Shown::Nothing);
                }
            }
            Ok(())
        }
    });
    let sending = change.pending();
    // The import being committed, while it is.
    let committing = move || {
        change.input().with(|c| match c {
            Some(ImportChange::Commit { preview, .. }) => Some(preview.clone()),
            _ => None,
        })
    };
    // Its progress, asked every quarter of a second while it runs (`None`
    // once it has ended); a question that fails leaves the bar as it was.
    let progress = remote::load(move || {
        let id = committing().map(|p| p.id);
        async move {
            Ok(match id {
                Some(id) => Some(api::import_state(id).await.ok().and_then(|s| s.progress)),
                None => None,
            })
        }
    });
    remote::poll_while(progress, 250, Option::is_some);
    let error = Signal::derive(move || {
        change
            .failure()
            .or_else(|| roles.failure())
            .or_else(|| nodes.failure())
    });

    let try_import = move |_| {
        let (role, node) = (role_id.get_untracked(), node_id.get_untracked());
        role_missing.set(role.is_none());
        node_missing.set(node.is_none());
        let Some(made_for) = made_for_now() else {
            // The first picker still to choose takes the focus; its
            // message is its description.
            focus_element(if role.is_none() {
                "import-role"
            } else {
                "import-node"
            });
            return;
        };
        change.value().set(None);
        confirming.set(false);
        discarded.set(false);
        shown.set(Shown::Nothing);
        gathering.set(true);
        ask_rows.run(Callback::new(move |(file_name, rows): ImportRows| {
            gathering.set(false);
            // Corrected while the worker gathered them: not sent.
            if made_for_now() == Some(made_for) {
                change.dispatch(ImportChange::Try {
                    file_name,
                    rows: Arc::new(rows),
                    made_for,
                });
            }
        }));
    };

    // The rows, role or start hierarchy changed: the preview no longer
    // shows what Import would do, so it goes (the server's copy too, best
    // effort: it expires anyway) and Try Import is needed again. One on
    // its way is not shown when it comes (see `ImportChange::Try`).
    let discard = move || {
        let on_its_way = gathering.get_untracked()
            || change
                .input()
                .with_untracked(|c| matches!(c, Some(ImportChange::Try { .. })));
        if let Shown::Preview { preview, .. } = shown.get_untracked() {
            confirming.set(false);
            shown.set(Shown::Nothing);
            discarded.set(true);
            leptos::task::spawn_local(async move {
                let _ = api::cancel_import(preview.id).await;
            });
        } else if on_its_way {
            gathering.set(false);
            discarded.set(true);
        }
    };
    Effect::new(move |seen: Option<u32>| {
        let now = corrected.get();
        if seen.is_some_and(|seen| seen != now) {
            discard();
        }
        now
    });
    // Leaving the page (or choosing another file) leaves no preview behind.
    on_cleanup(move || {
        if let Some(Shown::Preview { preview, .. }) = shown.try_get_untracked() {
            leptos::task::spawn_local(async move {
                let _ = api::cancel_import(preview.id).await;
            });
        }
    });

    let preview_now = move || match shown.get_untracked() {
        Shown::Preview {
            preview, made_for, ..
        } => Some((preview, made_for)),
        _ => None,
    };
    let cancel = move |_| {
        if let Some((preview, _)) = preview_now() {
            confirming.set(false);
            change.dispatch(ImportChange::Cancel(preview.id));
        }
    };
    let commit = move |skip_errors: bool| {
        if let Some((preview, made_for)) = preview_now() {
            confirming.set(false);
            change.value().set(None);
            change.dispatch(ImportChange::Commit {
                preview,
                made_for,
                skip_errors,
            });
        }
    };
    let on_import = move |_| {
        let errors = preview_now().is_some_and(|(p, _)| p.summary.with_errors > 0);
        if errors {
            confirming.set(true);
        } else {
            commit(false);
        }
    };

    let busy = Signal::derive(move || gathering.get() || sending.get());
    let role_options = Signal::derive(move || {
        roles.with(|r| {
            r.as_ref()
                .and_then(|r| r.as_ref().ok())
                .map(|list| list.iter().map(|r| (r.id, r.name.clone())).collect())
                .unwrap_or_default()
        })
    });
    let node_options = Signal::derive(move || {
        nodes.with(|n| {
            n.as_ref()
                .and_then(|n| n.as_ref().ok())
                .map(|list| list.iter().map(|n| (n.id, n.path.clone())).collect())
                .unwrap_or_default()
        })
    });

    view! {
        <section class="card step" aria-labelledby="step-import">
            <h2 id="step-import">
                <span class="step-number" aria-hidden="true">
                    "4"
                </span>
                "Try the import"
            </h2>
            <div class="form import-choices">
                <Picker
                    id="import-role"
                    label="Role of every imported user"
                    empty="Choose a role…"
                    missing_text="Choose the role every imported user gets."
                    options=role_options
                    chosen=role_id
                    missing=role_missing
                    busy=busy
                    on_change=Callback::new(move |()| discard())
                />
                <Picker
                    id="import-node"
                    label="Start hierarchy"
                    empty="Choose where…"
                    missing_text="Choose the hierarchy node the imported users go under."
                    options=node_options
                    chosen=node_id
                    missing=node_missing
                    busy=busy
                    on_change=Callback::new(move |()| discard())
                />
                <div class="form-actions">
                    <button
                        id="try-import"
                        type="button"
                        class="button primary"
                        disabled=move || busy.get()
                        on:click=try_import
                    >
                        "Try Import"
                    </button>
                </div>
                <p class="hint">
                    "Try Import shows what the import would do and writes nothing. "
                    "Correcting a cell or the columns, or choosing another role or start hierarchy, "
                    "discards the preview: try again after the last change."
                </p>
            </div>
            // Always in the page, so that screen readers announce the notice.
            <div role="status" aria-live="polite">
                <Show when=move || discarded.get() && !busy.get() && matches!(shown.get(), Shown::Nothing)>
                    <p
                        id="preview-discarded"
                        class="status-line"
                        style="background: var(--accent-soft); border-radius: 6px; padding: 0.6rem 0.8rem; margin-top: 0.75rem"
                    >
                        <span>
                            "The preview was discarded because the rows, the role or the start hierarchy changed after it. "
                            "Press Try Import again to see what the import will do."
                        </span>
                    </p>
                </Show>
            </div>
            <ErrorAlert id="import-error" error=error />
            {move || {
                if let Some(preview) = committing() {
                    let (done, total) = progress
                        .with(|p| p.as_ref().and_then(|p| p.as_ref().ok()).cloned().flatten().flatten())
                        .map_or(
                            (0, preview.summary.rows - preview.summary.with_errors),
                            |p| (p.done, p.total),
                        );
                    return view! {
                        <PreviewView preview=preview />
                        <div class="progress-panel" role="status">
                            <progress
                                id="import-progress"
                                max=total.max(1).to_string()
                                value=done.to_string()
                            ></progress>
                            <p class="progress-text">
                                {format!(
                                    "Importing… {} of {} rows written.",
                                    format::thousands(done),
                                    format::thousands(total),
                                )}
                            </p>
                        </div>
                    }
                        .into_any();
                }
                if gathering.get() || change.input().with(|c| matches!(c, Some(ImportChange::Try { .. }))) {
                    return view! {
                        <p class="hint" role="status">
                            "Sending the checked rows…"
                        </p>
                    }
                        .into_any();
                }
                match shown.get() {
                    Shown::Preview { preview, stale, .. } => {
                        let with_errors = preview.summary.with_errors;
                        view! {
                            {stale
                                .then(|| {
                                    view! {
                                        <p id="stale-preview" class="field-error" role="alert">
                                            "The user directory changed since this preview was made, so nothing was imported. "
                                            "Here is a fresh preview: check it and import again."
                                        </p>
                                    }
                                })}
                            <PreviewView preview=preview />
                            <div class="form-actions">
                                <button id="import-commit" type="button" class="button primary" on:click=on_import>
                                    "Import"
                                </button>
                                <button id="import-cancel" type="button" class="button" on:click=cancel>
                                    "Cancel"
                                </button>
                            </div>
                            <Show when=move || confirming.get()>
                                <SkipErrorsQuestion
                                    with_errors=with_errors
                                    on_skip=Callback::new(move |()| commit(true))
                                    on_back=Callback::new(move |()| confirming.set(false))
                                />
                            </Show>
                        }
                            .into_any()
                    }
                    Shown::Done { id, result, errors } => {
                        view! { <ResultView id=id result=result errors=errors /> }.into_any()
                    }
                    Shown::Nothing => ().into_any(),
                }
            }}
        </section>
    }
}

/// A picker of step 4 (the role, the start hierarchy): nothing chosen at
/// first; said missing, next to it, when Try Import needs it.
#[component]
fn Picker(
    id: &'static str,
    label: &'static str,
    /// The option that chooses nothing.
    empty: &'static str,
    missing_text: &'static str,
    /// (id, name) of each choice.
    #[prop(into)]
    options: Signal<Vec<(i64, String)>>,
    chosen: RwSignal<Option<i64>>,
    missing: RwSignal<bool>,
    #[prop(into)] busy: Signal<bool>,
    /// Another choice was made.
    on_change: Callback<()>,
) -> impl IntoView {
    let error_id = format!("{id}-error");
    let described = {
        let error_id = error_id.clone();
        move || missing.get().then(|| error_id.clone())
    };
    view! {
        <div class="form-row">
            <label for=id>{label}</label>
            <select
                id=id
                disabled=move || busy.get()
                aria-invalid=move || missing.get().then_some("true")
                aria-describedby=described
                on:change=move |ev| {
                    let choice = event_target_value(&ev).parse().ok();
                    missing.update(|m| *m = *m && choice.is_none());
                    chosen.set(choice);
                    on_change.run(());
                }
                prop:value=move || chosen.get().map(|id| id.to_string()).unwrap_or_default()
            >
                <option value="">{empty}</option>
                {move || {
                    options
                        .get()
                        .into_iter()
                        .map(|(value, name)| view! { <option value=value.to_string()>{name}</option> })
                        .collect_view()
                }}
            </select>
            <Show when=move || missing.get()>
                <p id=error_id.clone() class="field-error with-icon">
                    <ErrorIcon />
                    <span>{missing_text}</span>
                </p>
            </Show>
        </div>
    }
}

/// Import of a preview with rows with errors asks first.
#[component]
fn SkipErrorsQuestion(
    with_errors: usize,
    on_skip: Callback<()>,
    on_back: Callback<()>,
) -> impl IntoView {
    view! {
        <div class="card confirm" role="alertdialog" aria-labelledby="skip-title" aria-describedby="skip-text">
            <h3 id="skip-title">"Skip the rows with errors?"</h3>
            <p id="skip-text">
                {format!(
                    "{} cannot be imported. The other rows will be imported; the rows with errors can be downloaded afterwards to correct them.",
                    format::count(with_errors, "row has errors and", "rows have errors and"),
                )}
            </p>
            <div class="form-actions">
                <button id="confirm-skip" type="button" class="button primary" on:click=move |_| on_skip.run(())>
                    "Skip them and import"
                </button>
                <button id="cancel-skip" type="button" class="button" on:click=move |_| on_back.run(())>
                    "Back"
                </button>
            </div>
        </div>
    }
}

/// The preview of SPEC section 6.
#[component]
fn PreviewView(preview: Arc<ImportPreview>) -> impl IntoView {
    let s = &preview.summary;
    let figures = vec![
        Figure::count("Rows", s.rows, "", "preview-rows"),
        Figure::count("To create", s.to_create, "ok", "preview-create"),
        Figure::count("To synchronise", s.to_sync, "", "preview-sync"),
        Figure::count("Unchanged", s.unchanged, "", "preview-unchanged"),
        Figure::flagged("With errors", s.with_errors, "bad", "preview-errors"),
        Figure::flagged("With warnings", s.with_warnings, "warn", "preview-warnings"),
    ];
    let errors = (!preview.errors.is_empty()).then(|| {
        view! {
            <h3>"Rows with errors"</h3>
            <ul id="preview-error-list" class="list">
                {preview
                    .errors
                    .iter()
                    .map(|e| {
                        let held = e
                            .held_by
                            .as_ref()
                            .map(|u| format!(" (held by {u})"))
                            .unwrap_or_default();
                        view! { <li>{format!("Row {}: {}{held}", e.row, e.message)}</li> }
                    })
                    .collect_view()}
            </ul>
            {(s.with_errors > preview.errors.len())
                .then(|| view! { <p class="hint">"The first 15 are shown."</p> })}
        }
    });
    // Beside the errors: never a reason not to import, so only listed.
    let warnings = (!preview.warnings.is_empty()).then(|| {
        let mut rows: Vec<u32> = preview.warnings.iter().map(|w| w.row).collect();
        rows.dedup();
        view! {
            <h3>"Rows with warnings"</h3>
            <p class="hint">"Probably wrong, but they are imported as they are."</p>
            <ul id="preview-warning-list" class="list">
                {preview
                    .warnings
                    .iter()
                    .map(|w| {
                        view! {
                            <li class="cell-warning" data-code=w.code.key()>
                                <WarningIcon />
                                <span>
                                    <strong class="note-kind">"Warning: "</strong>
                                    {format!("Row {}: {}", w.row, w.message)}
                                </span>
                            </li>
                        }
                    })
                    .collect_view()}
            </ul>
            {(s.with_warnings > rows.len())
                .then(|| view! { <p class="hint">"The first 15 are shown."</p> })}
        }
    });
    let sync = (!preview.sync.is_empty()).then(|| {
        view! {
            <h3>"Users to synchronise"</h3>
            <ul id="preview-sync-list" class="list">
                {preview
                    .sync
                    .iter()
                    .map(|r| {
                        view! { <li>{format!("Row {}: {} ({})", r.row, r.username, r.user_id)}</li> }
                    })
                    .collect_view()}
            </ul>
        }
    });
    let nodes = (!preview.hierarchy_to_create.is_empty()).then(|| {
        view! {
            <h3>"Hierarchy nodes to create"</h3>
            <ul id="preview-node-list" class="list">
                {preview
                    .hierarchy_to_create
                    .iter()
                    .map(|path| view! { <li>{path.clone()}</li> })
                    .collect_view()}
            </ul>
        }
    });
    let trash = (!preview.in_trash.is_empty()).then(|| {
        view! {
            <h3>"Users in the trash can"</h3>
            <p class="hint">"They are updated and stay in the trash can."</p>
            <ul id="preview-trash-list" class="list">
                {preview
                    .in_trash
                    .iter()
                    .map(|r| view! { <li>{format!("Row {}: {}", r.row, r.username)}</li> })
                    .collect_view()}
            </ul>
        }
    });
    view! {
        // The preview's id: scripts and tests find it here.
        <div id="import-preview" class="summary" data-import-id=preview.id.to_string()>
            <Figures figures=figures />
            {errors}
            {warnings}
            {sync}
            {nodes}
            {trash}
        </div>
    }
}

/// Step 5's end: what the import did.
#[component]
fn ResultView(id: i64, result: CommitResult, errors: usize) -> impl IntoView {
    let figures = vec![
        Figure::count("Created", result.created, "ok", "result-created"),
        Figure::count("Synchronised", result.synced, "", "result-synced"),
        Figure::flagged("Skipped", result.skipped, "bad", "result-skipped"),
    ];
    view! {
        <div id="import-result" class="summary" role="status">
            <h3>
                <span class="step-number" aria-hidden="true">
                    "5"
                </span>
                "Imported"
            </h3>
            <Figures figures=figures />
            <p>
                <A href=format!("/imports/{id}") attr:id="history-link">
                    "View this import in the history"
                </A>
                " — who imported what, and each user's values before and after."
            </p>
            {(errors > 0)
                .then(|| {
                    view! {
                        <p>
                            <a
                                id="errors-download"
                                href=format!("/api/imports/{id}/errors.xlsx")
                                download=""
                            >
                                "Download the rows with errors (.xlsx)"
                            </a>
                            " to correct them and import them again."
                        </p>
                    }
                })}
        </div>
    }
}
