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

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use leptos::prelude::*;
use leptos_router::components::A;

use crate::api::{self, ApiError, ImportEntry, ImportHistory};
use crate::components::{ErrorAlert, format};
use crate::session::{RequirePermission, use_session};

use super::paging::{Pager, count_words, page_count};

/// The server's page of imports.
const IMPORTS_PER_PAGE: u32 = 50;

#[component]
pub fn ImportHistoryPage() -> impl IntoView {
    view! {
        <RequirePermission permission="manage_users">
            <HistoryList />
        </RequirePermission>
    }
}

/// An RFC 3339 UTC time as "2026-11-26 02:21 UTC".
pub(super) fn when(time: &str) -> String {
    match (time.get(..10), time.get(11..16)) {
        (Some(day), Some(minute)) if time.ends_with('Z') => format!("{day} {minute} UTC"),
        _ => time.to_string(),
    }
}

/// A count from the server (never negative) with thousands separators.
pub(super) fn number(n: i64) -> String {
    format::thousands(usize::try_from(n).unwrap_or(0))
}

/// The state in words: "Imported", or the progress of a running import.
pub(super) fn state_words(import: &ImportEntry) -> String {
    match import.state.as_str() {
        "done" => "Imported".into(),
        "running" => match &import.progress {
            Some(p) => format!(
                "Importing… {} of {} rows",
                format::thousands(p.done),
                format::thousands(p.total)
            ),
            None => "Importing…".into(),
        },
        "preview" => "Preview, not imported".into(),
        other => other.to_string(),
    }
}

/// Waits `ms` milliseconds.
pub(super) async fn sleep(ms: i32) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        if let Some(window) = web_sys::window() {
            let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
        }
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}

#[component]
fn HistoryList() -> impl IntoView {
    let session = use_session();
    let page = RwSignal::new(None::<ImportHistory>);
    let announcement = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    // Polling stops once the page is left.
    let alive = Arc::new(AtomicBool::new(true));
    {
        let alive = alive.clone();
        on_cleanup(move || alive.store(false, Ordering::Relaxed));
    }

    let fail = move |e: ApiError| {
        session.heard(&e);
        error.set(Some(e.describe()));
    };

    // Loads page `number`; again every two seconds while an import runs.
    let load = Arc::new(move |number: u32| {
        let alive = alive.clone();
        leptos::task::spawn_local(async move {
            let mut number = number;
            loop {
                let mut result = api::import_history(number).await;
                // A page past the end (a link kept from before): the last one.
                if let Ok(found) = &result
                    && found.imports.is_empty()
                    && number > 1
                    && found.total > 0
                {
                    number = page_count(found.total, IMPORTS_PER_PAGE);
                    result = api::import_history(number).await;
                }
                if !alive.load(Ordering::Relaxed) {
                    return;
                }
                let running = match result {
                    Ok(found) => {
                        let shown = i64::try_from(found.imports.len()).unwrap_or(0);
                        let pages = page_count(found.total, IMPORTS_PER_PAGE);
                        announcement.set(match (shown, pages) {
                            (0, 1) => "No import yet.".to_string(),
                            (_, 1) => format!("{}.", count_words(shown, "import", "imports")),
                            _ => format!(
                                "{} on this page. Page {} of {pages}.",
                                count_words(shown, "import", "imports"),
                                found.page
                            ),
                        });
                        error.set(None);
                        let running = found.imports.iter().any(|i| i.state == "running");
                        page.set(Some(found));
                        running
                    }
                    Err(e) => {
                        fail(e);
                        false
                    }
                };
                // Only the page still shown is asked again.
                if !running || page.with_untracked(|p| p.as_ref().map(|p| p.page)) != Some(number) {
                    return;
                }
                sleep(2000).await;
                if !alive.load(Ordering::Relaxed) {
                    return;
                }
            }
        });
    });
    load(1);

    let current = Signal::derive(move || page.with(|p| p.as_ref().map_or(1, |p| p.page)));
    let pages = Signal::derive(move || {
        page.with(|p| {
            p.as_ref()
                .map_or(1, |p| page_count(p.total, IMPORTS_PER_PAGE))
        })
    });
    let go_to = Callback::new(move |n: u32| load(n));
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
            {move || announcement.get()}
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
                        key=|i| (i.id, i.state.clone(), i.progress.as_ref().map(|p| p.done))
                        let:import
                    >
                        {
                            let href = format!("/imports/{}", import.id);
                            let time = when(import.committed_at.as_deref().unwrap_or(&import.created_at));
                            let errors = import.summary.with_errors;
                            let state = state_words(&import);
                            let link_end = format!(", {}", import.file_name);
                            view! {
                                <tr data-import=import.id.to_string() data-state=import.state.clone()>
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
                                    <td class="num" data-count="created">{number(import.created)}</td>
                                    <td class="num" data-count="synced">{number(import.synced)}</td>
                                    <td class="num" data-count="skipped">{number(import.skipped)}</td>
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
