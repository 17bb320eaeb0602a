//! `/imports`: "Import history" (SPEC sections 6 and 10), newest first, a
//! page of 50 at a time, each import linking to its entry
//! (`history_entry.rs`).
//!
//! Which imports are shown: the server lists what was written to the
//! directory, imports `done` and `running` (being committed now); previews
//! waiting for their Import are not history.
//! - `done` imports are listed with their counts;
//! - `running` ones are listed too, with their progress ("Importing… 120
//!   of 4,000 rows"), and the page asks again every two seconds until they
//!   are done, so an administrator sees an import another one has started.

use leptos::prelude::*;
use leptos_router::components::A;

use roster_shared::api::{ImportList, ImportOut, ImportState, Permission};

use crate::api;
use crate::components::ErrorAlert;
use crate::components::format::{self, when};
use crate::remote::{self, Answer, Outcome};
use crate::session::RequirePermission;

use super::paging::{Pager, page_count};

/// The server's page of imports.
const IMPORTS_PER_PAGE: u32 = 50;

#[component]
pub fn ImportHistoryPage() -> impl IntoView {
    view! {
        <RequirePermission permission=Permission::ManageUsers>
            <HistoryList />
        </RequirePermission>
    }
}

/// The state in words: "Imported", or the progress of a running import.
pub(super) fn state_words(import: &ImportOut) -> String {
    match import.state {
        ImportState::Done => match (import.undo_of, import.undone_by) {
            (Some(of), _) => format!("Undo of import {of}"),
            (None, Some(by)) => format!("Imported, undone by import {by}"),
            (None, None) => "Imported".into(),
        },
        ImportState::Running => match &import.progress {
            Some(p) => format!(
                "Importing… {} of {} rows",
                format::thousands(p.done),
                format::thousands(p.total)
            ),
            None => "Importing…".into(),
        },
        ImportState::Preview => "Preview, not imported".into(),
    }
}

/// Page `number` of the history, or the last page if it is past the end
/// (a link kept from before).
async fn history_page(number: u32) -> Answer<ImportList> {
    let found = api::import_history(number).await?;
    if found.imports.is_empty() && number > 1 && found.total > 0 {
        return api::import_history(page_count(found.total, IMPORTS_PER_PAGE)).await;
    }
    Ok(found)
}

#[component]
fn HistoryList() -> impl IntoView {
    let number = RwSignal::new(1u32);
    let list = remote::load(move || history_page(number.get()));
    // While an import runs, the page shown is asked again every two seconds.
    remote::poll_while(list, 2000, |found| {
        found
            .imports
            .iter()
            .any(|i| i.state == ImportState::Running)
    });
    let page = Memo::new(move |_| list.with(|l| l.as_ref().and_then(|l| l.as_ref().ok()).cloned()));
    let announcement = move || {
        page.with(|p| {
            let Some(found) = p else {
                return String::new();
            };
            let shown = found.imports.len();
            match (shown, page_count(found.total, IMPORTS_PER_PAGE)) {
                (0, 1) => "No import yet.".to_string(),
                (_, 1) => format!("{}.", format::count(shown, "import", "imports")),
                (_, pages) => format!(
                    "{} on this page. Page {} of {pages}.",
                    format::count(shown, "import", "imports"),
                    found.page
                ),
            }
        })
    };
    let error = Signal::derive(move || list.failure());

    let current = Signal::derive(move || page.with(|p| p.as_ref().map_or(1, |p| p.page)));
    let pages = Signal::derive(move || {
        page.with(|p| {
            p.as_ref()
                .map_or(1, |p| page_count(p.total, IMPORTS_PER_PAGE))
        })
    });
    let go_to = Callback::new(move |n: u32| number.set(n));
    let rows = move || page.with(|p| p.as_ref().map(|p| p.imports.clone()).unwrap_or_default());

    view! {
        <div class="page-header">
            <h1>"Import history"</h1>
            <p class="lede">
                "Every import, newest first: who ran it, with which file, and what it did. "
                "Open one to see each user it created or changed, with the values before and after."
            </p>
        </div>
        <p id="history-status" class="status-line list-status" role="status" aria-live="polite">
            {announcement}
        </p>
        <ErrorAlert id="history-error" error=error />
        <div class="card table-card">
            <table id="history-table" class="list" aria-describedby="history-status">
                <caption class="visually-hidden">"Imports, newest first"</caption>
                <thead>
                    <tr>
                        <th scope="col">"When"</th>
                        <th scope="col">"By"</th>
                        <th scope="col">"File"</th>
                        <th scope="col">"Role"</th>
                        <th scope="col">"Start hierarchy"</th>
                        <th scope="col" class="num">"Created"</th>
                        <th scope="col" class="num">"Synchronised"</th>
                        <th scope="col" class="num">"Skipped"</th>
                        <th scope="col" class="num">"With errors"</th>
                        <th scope="col">"State"</th>
                    </tr>
                </thead>
                <tbody>
                    <For
                        each=rows
                        key=|i| (i.id, i.state, i.progress.as_ref().map(|p| p.done))
                        let:import
                    >
                        {
                            let href = format!("/imports/{}", import.id);
                            let time = when(import.committed_at.as_deref().unwrap_or(&import.created_at));
                            let errors = import.summary.with_errors;
                            let state = state_words(&import);
                            let link_end = format!(", {}", import.file_name);
                            view! {
                                <tr data-import=import.id.to_string() data-state=import.state.key()>
                                    <td style="white-space: nowrap">
                                        <A href=href>
                                            {time}
                                            <span class="visually-hidden">{link_end}</span>
                                        </A>
                                    </td>
                                    <td>{import.created_by.clone()}</td>
                                    <td style="overflow-wrap: anywhere">{import.file_name.clone()}</td>
                                    <td>{import.role_name.clone()}</td>
                                    <td>{import.hierarchy_path.clone()}</td>
                                    <td class="num" data-count="created">{format::thousands(import.created)}</td>
                                    <td class="num" data-count="synced">{format::thousands(import.synced)}</td>
                                    <td class="num" data-count="skipped">{format::thousands(import.skipped)}</td>
                                    <td class="num" data-count="errors">{format::thousands(errors)}</td>
                                    <td>{state}</td>
                                </tr>
                            }
                        }
                    </For>
                </tbody>
            </table>
            {move || {
                page.with(|p| p.as_ref().is_some_and(|p| p.imports.is_empty()))
                    .then(|| {
                        view! {
                            <p class="empty-note">
                                "No import yet. Imports made on the "
                                <A href="/import">"Import users"</A>
                                " page are listed here."
                            </p>
                        }
                    })
            }}
            <Show when=move || { pages.get() > 1 }>
                <Pager number=current pages=pages go_to=go_to label="Pages of imports" />
            </Show>
        </div>
    }
}
