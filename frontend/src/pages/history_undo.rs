//! "Undo this import" on a history entry (SPEC section 6b): the server's
//! undo preview first (users to the trash can, users who get their earlier
//! values back and which, hierarchy nodes removed, users left alone and
//! why), then Undo or Cancel. A directory changed since the preview brings
//! a fresh one (409 `stale_undo`); a done undo says what it did and links
//! to its own history entry. Who may undo is the server's to say: a 403
//! is shown as it says it.

use std::sync::Arc;

use leptos::prelude::*;
use leptos_router::components::A;
use roster_shared::api::undo::{UndoPreview, UndoResult, UndoUntouched, UntouchedReason};

use crate::api::{self, UndoOutcome};
use crate::components::{ErrorAlert, Figure, Figures, OkIcon, WarningIcon, focus_element, format};
use crate::remote::{self, Outcome};

use super::history_entry::label;

/// The button that opens the preview; the focus comes back to it.
const START_ID: &str = "undo-start";

/// What the undo sends; one action, so it has one busy flag and its last
/// failure is the action's.
#[derive(Clone)]
enum UndoStep {
    Preview,
    /// Undo as the preview with this fingerprint said.
    Commit(String),
}

/// What is shown below the button when nothing is on its way.
#[derive(Clone)]
enum Shown {
    Nothing,
    Preview {
        preview: Arc<UndoPreview>,
        /// Set when Undo found the directory changed (409) and brought
        /// this fresh preview.
        stale: bool,
    },
    Done(UndoResult),
}

/// The undo of import `id`. `offered`: the import is done, not undone and
/// not an undo itself. `on_undone` asks the entry again (its "Undone by"
/// link), after an undo or a refusal that says it was undone already.
#[component]
pub(super) fn UndoImport(
    id: i64,
    #[prop(into)] offered: Signal<bool>,
    on_undone: Callback<()>,
) -> impl IntoView {
    let shown = RwSignal::new(Shown::Nothing);
    let step = remote::send(move |step: &UndoStep| {
        let step = step.clone();
        async move {
            match step {
                UndoStep::Preview => {
                    let preview = api::undo_preview(id).await?;
                    shown.try_set(Shown::Preview {
                        preview: Arc::new(preview),
                        stale: false,
                    });
                    focus_element("undo-preview-title");
                }
                UndoStep::Commit(fingerprint) => match api::undo_commit(id, &fingerprint).await {
                    Ok(UndoOutcome::Done(result)) => {
                        shown.try_set(Shown::Done(result));
                        on_undone.run(());
                        focus_element("undo-entry-link");
                    }
                    Ok(UndoOutcome::Stale(fresh)) => {
                        shown.try_set(Shown::Preview {
                            preview: Arc::from(fresh),
                            stale: true,
                        });
                        focus_element("undo-preview-title");
                    }
                    // Undone already (another tab, another administrator):
                    // the preview goes and the entry shows by which import.
                    Err(e) if e.status == 409 => {
                        shown.try_set(Shown::Nothing);
                        on_undone.run(());
                        return Err(e);
                    }
                    Err(e) => return Err(e),
                },
            }
            Ok(())
        }
    });
    let busy = step.pending();
    let error = Signal::derive(move || step.failure());
    let cancel = move || {
        shown.set(Shown::Nothing);
        remote::forget_failure(step);
        focus_element(START_ID);
    };
    let previewing = move || matches!(shown.get(), Shown::Preview { .. });

    view! {
        <section id="undo" aria-label="Undo this import">
            <Show when=move || offered.get() && !previewing()>
                <p>
                    <button
                        id=START_ID
                        type="button"
                        class="button"
                        disabled=move || busy.get()
                        on:click=move |_| {
                            step.dispatch(UndoStep::Preview);
                        }
                    >
                        {move || {
                            if busy.get() { "Preparing the undo preview…" } else { "Undo this import" }
                        }}
                    </button>
                </p>
            </Show>
            <ErrorAlert id="undo-error" error=error />
            // Always in the page, so what the undo did is announced.
            <div id="undo-status" role="status" aria-live="polite">
                {move || match shown.get() {
                    Shown::Done(result) => Some(view! { <UndoDone result=result /> }),
                    _ => None,
                }}
            </div>
            {move || match shown.get() {
                Shown::Preview { preview, stale } => {
                    let fingerprint = preview.fingerprint.clone();
                    Some(
                        view! {
                            <div
                                id="undo-preview"
                                class="card"
                                on:keydown=move |ev| {
                                    if ev.key() == "Escape" {
                                        cancel();
                                    }
                                }
                            >
                                <h2 id="undo-preview-title" tabindex="-1">
                                    "Undo this import?"
                                </h2>
                                {stale
                                    .then(|| {
                                        view! {
                                            <p id="undo-stale" class="field-error" role="alert">
                                                "The user directory changed since the undo preview was made, so nothing was undone. "
                                                "Here is a fresh preview: check it and press Undo again."
                                            </p>
                                        }
                                    })}
                                <PreviewView preview=preview />
                                <div class="form-actions">
                                    <button
                                        id="undo-commit"
                                        type="button"
                                        class="button danger"
                                        disabled=move || busy.get()
                                        on:click=move |_| {
                                            step.dispatch(UndoStep::Commit(fingerprint.clone()));
                                        }
                                    >
                                        {move || if busy.get() { "Undoing…" } else { "Undo" }}
                                    </button>
                                    <button id="undo-cancel" type="button" class="button" on:click=move |_| cancel()>
                                        "Cancel"
                                    </button>
                                </div>
                            </div>
                        },
                    )
                }
                _ => None,
            }}
        </section>
    }
}

/// What the undo did, and a link to its own history entry.
#[component]
fn UndoDone(result: UndoResult) -> impl IntoView {
    let mut did = vec![format!(
        "{} moved to the trash can",
        format::count(result.trashed, "user", "users")
    )];
    did.push(format!(
        "{} given their earlier values back",
        format::count(result.restored, "user", "users")
    ));
    if result.nodes_removed > 0 {
        did.push(format!(
            "{} removed",
            format::count(result.nodes_removed, "hierarchy node", "hierarchy nodes")
        ));
    }
    if result.untouched > 0 {
        did.push(format!(
            "{} left alone",
            format::count(result.untouched, "user", "users")
        ));
    }
    let undo = result.undo_import_id;
    view! {
        <p id="undo-result" class="status-line with-icon">
            <OkIcon />
            <span>
                {format!("Import undone: {}. ", did.join(", "))}
                <A href=format!("/imports/{undo}") attr:id="undo-entry-link">
                    {format!("View the undo in the history (import {undo})")}
                </A>
            </span>
        </p>
    }
}

/// The undo preview: its counts and the users, nodes and reasons behind
/// them (the server sends the first 100 of each).
#[component]
fn PreviewView(preview: Arc<UndoPreview>) -> impl IntoView {
    let s = &preview.summary;
    let figures = vec![
        Figure::count("To the trash can", s.to_trash, "", "undo-count-trash"),
        Figure::count(
            "Earlier values back",
            s.to_restore,
            "",
            "undo-count-restore",
        ),
        Figure::count(
            "Hierarchy nodes removed",
            s.nodes_to_remove,
            "",
            "undo-count-nodes",
        ),
        Figure::flagged("Left alone", s.untouched, "warn", "undo-count-untouched"),
    ];
    let nothing = s.to_trash == 0 && s.to_restore == 0 && s.nodes_to_remove == 0;
    let to_trash = preview
        .to_trash
        .iter()
        .map(|u| {
            let id_text = (!u.user_id.is_empty()).then(|| format!(" (user ID {})", u.user_id));
            let name = u.username.clone();
            view! {
                <li data-user=u.id.to_string()>
                    <A href=format!("/users/{}", u.id)>{name}</A>
                    {id_text}
                </li>
            }
        })
        .collect_view();
    let to_restore = preview
        .to_restore
        .iter()
        .map(|u| {
            let name = u.username.clone();
            let fields = format!(": {}", labels(&u.fields));
            view! {
                <li data-user=u.id.to_string()>
                    <A href=format!("/users/{}", u.id)>{name}</A>
                    {fields}
                </li>
            }
        })
        .collect_view();
    let nodes = preview
        .nodes_to_remove
        .iter()
        .map(|path| view! { <li>{path.clone()}</li> })
        .collect_view();
    let untouched = preview
        .untouched
        .iter()
        .map(|u| view! { <UntouchedLine user=u.clone() /> })
        .collect_view();
    view! {
        <p class="hint">
            "Nothing has changed yet. Undo does all of this in one step, or nothing if the directory changes meanwhile. "
            "Users moved to the trash can can be restored from it within 30 days."
        </p>
        <Figures figures=figures />
        {nothing
            .then(|| {
                view! {
                    <p id="undo-nothing" class="empty-note">
                        "Undoing this import changes nothing in the directory; it is only recorded."
                    </p>
                }
            })}
        <PreviewList
            id="undo-trash"
            title="Users to the trash can"
            shown=preview.to_trash.len()
            total=s.to_trash
        >
            {to_trash}
        </PreviewList>
        <PreviewList
            id="undo-restore"
            title="Users who get their earlier values back"
            shown=preview.to_restore.len()
            total=s.to_restore
        >
            {to_restore}
        </PreviewList>
        <PreviewList
            id="undo-nodes"
            title="Hierarchy nodes removed (the import created them and they will be empty)"
            shown=preview.nodes_to_remove.len()
            total=s.nodes_to_remove
        >
            {nodes}
        </PreviewList>
        <PreviewList
            id="undo-untouched"
            title="Users left alone"
            shown=preview.untouched.len()
            total=s.untouched
        >
            {untouched}
        </PreviewList>
    }
}

/// One list of the preview, under its heading; nothing when empty. Says
/// how many more there are than the server listed.
#[component]
fn PreviewList(
    id: &'static str,
    title: &'static str,
    shown: usize,
    total: u64,
    children: Children,
) -> impl IntoView {
    let title_id = format!("{id}-title");
    let labelled_by = title_id.clone();
    let list_id = format!("{id}-list");
    let more = total.saturating_sub(shown as u64);
    (total > 0).then(|| {
        view! {
            <section aria-labelledby=labelled_by>
                <h3 id=title_id style="margin: 0.75rem 0 0.25rem; font-size: 1rem">
                    {title}
                </h3>
                <ul id=list_id style="margin: 0; padding-left: 1.25rem">
                    {children()}
                </ul>
                {(more > 0)
                    .then(|| {
                        view! {
                            <p class="hint">{format!("… and {} more.", format::thousands(more))}</p>
                        }
                    })}
            </section>
        }
    })
}

/// A user the undo leaves alone: why, and what changed since the import.
#[component]
fn UntouchedLine(user: UndoUntouched) -> impl IntoView {
    // A purged user has no page any more.
    let username = user.username.clone();
    let name = if user.reason == UntouchedReason::Gone {
        view! { <span>{username}</span> }.into_any()
    } else {
        view! { <A href=format!("/users/{}", user.id)>{username}</A> }.into_any()
    };
    // What changed, in the page's names for the fields; any other reason
    // in the server's own sentence.
    let why = if user.reason == UntouchedReason::ChangedSince && !user.fields.is_empty() {
        format!(": changed since the import ({}).", labels(&user.fields))
    } else {
        format!(": {}.", user.message.trim_end_matches('.'))
    };
    view! {
        <li data-user=user.id.to_string() data-reason=user.reason.key()>
            <span class="with-icon">
                <WarningIcon />
                <span>{name} {why}</span>
            </span>
        </li>
    }
}

/// "First Name, Email, Role": the fields' names on the page.
fn labels(keys: &[String]) -> String {
    keys.iter().map(|k| label(k)).collect::<Vec<_>>().join(", ")
}
