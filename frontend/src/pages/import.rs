//! `/import`: "Import users" (SPEC section 10). Steps 1–3 are the check
//! page's own ([`CheckSteps`] with `import`); this file adds step 4 (role,
//! start hierarchy, Try Import and the preview) and step 5 (Import, its
//! progress and its result). Only the worker's checked rows are sent, as
//! JSON; the file never leaves the browser. A preview is of the rows, role
//! and start hierarchy it was made for: changing any of them discards it.

use std::sync::Arc;

use leptos::prelude::*;
use leptos_router::components::A;

use crate::api::{self, ApiError, Commit, CommitResult, Node, Preview, Role};
use crate::components::{ErrorIcon, focus_element, format};
use crate::session::{RequirePermission, use_session};

use super::check::{CheckSteps, ImportRows};

#[component]
pub fn ImportPage() -> impl IntoView {
    view! {
        <RequirePermission permission="manage_users">
            <CheckSteps import=true />
        </RequirePermission>
    }
}

/// Waits `ms` milliseconds.
async fn sleep(ms: i32) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        if let Some(window) = web_sys::window() {
            let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
        }
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}

/// Where the import stands.
#[derive(Clone)]
enum Phase {
    Idle,
    Sending,
    Preview {
        preview: Arc<Preview>,
        /// Set when a commit found the directory changed (409).
        stale: bool,
    },
    Running {
        preview: Arc<Preview>,
        done: usize,
        total: usize,
    },
    Done {
        id: i64,
        result: CommitResult,
        errors: usize,
    },
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
    let session = use_session();
    let roles = RwSignal::new(Vec::<Role>::new());
    let nodes = RwSignal::new(Vec::<Node>::new());
    let role_id = RwSignal::new(None::<i64>);
    let node_id = RwSignal::new(None::<i64>);
    // Set by Try Import without a role or a start hierarchy; cleared by
    // choosing one.
    let role_missing = RwSignal::new(false);
    let node_missing = RwSignal::new(false);
    let phase = RwSignal::new(Phase::Idle);
    let error = RwSignal::new(None::<String>);
    let confirming = RwSignal::new(false);
    // Set when a correction discarded the preview, until Try Import again.
    let discarded = RwSignal::new(false);
    // Bumped when what Try Import sends changes: an answer to an older
    // Try Import is out of date and is cancelled, not shown.
    let generation = StoredValue::new(0u32);

    let fail = move |e: ApiError| {
        session.heard(&e);
        error.set(Some(format!("{}.", e.describe())));
    };

    // Nothing is preselected: the first role is often Administrator, and
    // two clicks would import a whole file as administrators.
    leptos::task::spawn_local(async move {
        match api::roles().await {
            Ok(list) => roles.set(list),
            Err(e) => fail(e),
        }
        match api::hierarchy().await {
            Ok(list) => nodes.set(list),
            Err(e) => fail(e),
        }
    });

    let try_import = move |_| {
        let (role, node) = (role_id.get_untracked(), node_id.get_untracked());
        role_missing.set(role.is_none());
        node_missing.set(node.is_none());
        let (Some(role), Some(node)) = (role, node) else {
            // The first picker still to choose takes the focus; its
            // message is its description.
            focus_element(if role.is_none() {
                "import-role"
            } else {
                "import-node"
            });
            return;
        };
        error.set(None);
        confirming.set(false);
        discarded.set(false);
        phase.set(Phase::Sending);
        let sent_as = generation.get_value();
        ask_rows.run(Callback::new(move |(file_name, rows): ImportRows| {
            leptos::task::spawn_local(async move {
                match api::try_import(&file_name, role, node, &rows).await {
                    Ok(preview) if generation.try_get_value() != Some(sent_as) => {
                        // Corrected while it was on its way: best effort.
                        let _ = api::cancel_import(preview.id).await;
                    }
                    Ok(preview) => phase.set(Phase::Preview {
                        preview: Arc::new(preview),
                        stale: false,
                    }),
                    Err(e) => {
                        phase.set(Phase::Idle);
                        fail(e);
                    }
                }
            });
        }));
    };

    let preview_now = move || match phase.get_untracked() {
        Phase::Preview { preview, .. } => Some(preview),
        _ => None,
    };

    // The rows, role or start hierarchy changed: the preview no longer
    // shows what Import would do, so it goes (the server's copy too, best
    // effort: it expires anyway) and Try Import is needed again.
    let discard = move || {
        generation.update_value(|g| *g = g.wrapping_add(1));
        match phase.get_untracked() {
            Phase::Preview { preview, .. } => {
                confirming.set(false);
                phase.set(Phase::Idle);
                discarded.set(true);
                leptos::task::spawn_local(async move {
                    let _ = api::cancel_import(preview.id).await;
                });
            }
            Phase::Sending => {
                phase.set(Phase::Idle);
                discarded.set(true);
            }
            _ => {}
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
        if let Some(Phase::Preview { preview, .. }) = phase.try_get_untracked() {
            leptos::task::spawn_local(async move {
                let _ = api::cancel_import(preview.id).await;
            });
        }
    });

    let cancel = move |_| {
        let Some(preview) = preview_now() else {
            return;
        };
        confirming.set(false);
        leptos::task::spawn_local(async move {
            match api::cancel_import(preview.id).await {
                Ok(()) => {
                    error.set(None);
                    phase.set(Phase::Idle);
                }
                Err(e) => fail(e),
            }
        });
    };

    let commit = move |skip_errors: bool| {
        let Some(preview) = preview_now() else {
            return;
        };
        confirming.set(false);
        error.set(None);
        let id = preview.id;
        let errors = preview.summary.with_errors;
        let back = preview.clone();
        let total = preview.summary.rows - preview.summary.with_errors;
        phase.set(Phase::Running {
            preview: preview.clone(),
            done: 0,
            total,
        });
        // The progress, polled while the commit runs.
        leptos::task::spawn_local(async move {
            loop {
                sleep(250).await;
                if !matches!(phase.get_untracked(), Phase::Running { .. }) {
                    break;
                }
                if let Ok(state) = api::import_state(id).await
                    && let Some(p) = state.progress
                    && matches!(phase.get_untracked(), Phase::Running { .. })
                {
                    phase.set(Phase::Running {
                        preview: preview.clone(),
                        done: p.done,
                        total: p.total,
                    });
                }
            }
        });
        leptos::task::spawn_local(async move {
            match api::commit_import(id, skip_errors).await {
                Ok(Commit::Done(result)) => phase.set(Phase::Done { id, result, errors }),
                Ok(Commit::Stale(fresh)) => phase.set(Phase::Preview {
                    preview: Arc::new(*fresh),
                    stale: true,
                }),
                Err(e) => {
                    phase.set(Phase::Preview {
                        preview: back,
                        stale: false,
                    });
                    fail(e);
                }
            }
        });
    };
    let on_import = move |_| {
        let errors = preview_now().is_some_and(|p| p.summary.with_errors > 0);
        if errors {
            confirming.set(true);
        } else {
            commit(false);
        }
    };

    let busy = move || matches!(phase.get(), Phase::Sending | Phase::Running { .. });

    view! {
        <section class="card step" aria-labelledby="step-import">
            <h2 id="step-import">
                <span class="step-number" aria-hidden="true">
                    "4"
                </span>
                "Try the import"
            </h2>
            <div class="form import-choices">
                <div class="form-row">
                    <label for="import-role">"Role of every imported user"</label>
                    <select
                        id="import-role"
                        disabled=busy
                        aria-invalid=move || role_missing.get().then_some("true")
                        aria-describedby=move || role_missing.get().then_some("import-role-error")
                        on:change=move |ev| {
                            let chosen = event_target_value(&ev).parse().ok();
                            role_missing.update(|m| *m = *m && chosen.is_none());
                            role_id.set(chosen);
                            discard();
                        }
                        prop:value=move || role_id.get().map(|id| id.to_string()).unwrap_or_default()
                    >
                        <option value="">"Choose a role…"</option>
                        {move || {
                            roles
                                .get()
                                .into_iter()
                                .map(|r| view! { <option value=r.id.to_string()>{r.name}</option> })
                                .collect_view()
                        }}
                    </select>
                    <Show when=move || role_missing.get()>
                        <p id="import-role-error" class="field-error with-icon">
                            <ErrorIcon />
                            <span>"Choose the role every imported user gets."</span>
                        </p>
                    </Show>
                </div>
                <div class="form-row">
                    <label for="import-node">"Start hierarchy"</label>
                    <select
                        id="import-node"
                        disabled=busy
                        aria-invalid=move || node_missing.get().then_some("true")
                        aria-describedby=move || node_missing.get().then_some("import-node-error")
                        on:change=move |ev| {
                            let chosen = event_target_value(&ev).parse().ok();
                            node_missing.update(|m| *m = *m && chosen.is_none());
                            node_id.set(chosen);
                            discard();
                        }
                        prop:value=move || node_id.get().map(|id| id.to_string()).unwrap_or_default()
                    >
                        <option value="">"Choose where…"</option>
                        {move || {
                            nodes
                                .get()
                                .into_iter()
                                .map(|n| view! { <option value=n.id.to_string()>{n.path}</option> })
                                .collect_view()
                        }}
                    </select>
                    <Show when=move || node_missing.get()>
                        <p id="import-node-error" class="field-error with-icon">
                            <ErrorIcon />
                            <span>"Choose the hierarchy node the imported users go under."</span>
                        </p>
                    </Show>
                </div>
                <div class="form-actions">
                    <button
                        id="try-import"
                        type="button"
                        class="button primary"
                        disabled=busy
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
                <Show when=move || discarded.get() && matches!(phase.get(), Phase::Idle)>
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
            {move || {
                error
                    .get()
                    .map(|message| {
                        view! {
                            <p id="import-error" class="field-error" role="alert">
                                {message}
                            </p>
                        }
                    })
            }}
            {move || match phase.get() {
                Phase::Sending => {
                    view! {
                        <p class="hint" role="status">
                            "Sending the checked rows…"
                        </p>
                    }
                        .into_any()
                }
                Phase::Preview { preview, stale } => {
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
                        <PreviewView preview=preview.clone() />
                        <div class="form-actions">
                            <button id="import-commit" type="button" class="button primary" on:click=on_import>
                                "Import"
                            </button>
                            <button id="import-cancel" type="button" class="button" on:click=cancel>
                                "Cancel"
                            </button>
                        </div>
                        <Show when=move || confirming.get()>
                            <div
                                class="card confirm"
                                role="alertdialog"
                                aria-labelledby="skip-title"
                                aria-describedby="skip-text"
                            >
                                <h3 id="skip-title">"Skip the rows with errors?"</h3>
                                <p id="skip-text">
                                    {format!(
                                        "{} cannot be imported. The other rows will be imported; the rows with errors can be downloaded afterwards to correct them.",
                                        format::count(preview.summary.with_errors, "row has errors and", "rows have errors and"),
                                    )}
                                </p>
                                <div class="form-actions">
                                    <button
                                        id="confirm-skip"
                                        type="button"
                                        class="button primary"
                                        on:click=move |_| commit(true)
                                    >
                                        "Skip them and import"
                                    </button>
                                    <button
                                        id="cancel-skip"
                                        type="button"
                                        class="button"
                                        on:click=move |_| confirming.set(false)
                                    >
                                        "Back"
                                    </button>
                                </div>
                            </div>
                        </Show>
                    }
                        .into_any()
                }
                Phase::Running { preview, done, total } => {
                    view! {
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
                        .into_any()
                }
                Phase::Done { id, result, errors } => {
                    view! { <ResultView id=id result=result errors=errors /> }.into_any()
                }
                Phase::Idle => ().into_any(),
            }}
        </section>
    }
}

/// The preview of SPEC section 6.
#[component]
fn PreviewView(preview: Arc<Preview>) -> impl IntoView {
    let s = &preview.summary;
    let figures = [
        ("Rows", s.rows, "", "preview-rows"),
        ("To create", s.to_create, "ok", "preview-create"),
        ("To synchronise", s.to_sync, "", "preview-sync"),
        ("Unchanged", s.unchanged, "", "preview-unchanged"),
        (
            "With errors",
            s.with_errors,
            if s.with_errors > 0 { "bad" } else { "" },
            "preview-errors",
        ),
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
            <dl class="figures">
                {figures
                    .into_iter()
                    .map(|(label, n, tone, id)| {
                        view! {
                            <div class=format!("figure {tone}")>
                                <dt>{label}</dt>
                                <dd id=id>{format::thousands(n)}</dd>
                            </div>
                        }
                    })
                    .collect_view()}
            </dl>
            {errors}
            {sync}
            {nodes}
            {trash}
        </div>
    }
}

/// Step 5's end: what the import did.
#[component]
fn ResultView(id: i64, result: CommitResult, errors: usize) -> impl IntoView {
    let skipped_class = if result.skipped > 0 {
        "figure bad"
    } else {
        "figure"
    };
    view! {
        <div id="import-result" class="summary" role="status">
            <h3>
                <span class="step-number" aria-hidden="true">
                    "5"
                </span>
                "Imported"
            </h3>
            <dl class="figures">
                <div class="figure ok">
                    <dt>"Created"</dt>
                    <dd id="result-created">{format::thousands(result.created)}</dd>
                </div>
                <div class="figure">
                    <dt>"Synchronised"</dt>
                    <dd id="result-synced">{format::thousands(result.synced)}</dd>
                </div>
                <div class=skipped_class>
                    <dt>"Skipped"</dt>
                    <dd id="result-skipped">{format::thousands(result.skipped)}</dd>
                </div>
            </dl>
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
