//! "Export to Excel" on the Users page: the current search (or everyone)
//! below a chosen start node, downloaded as the import template's .xlsx
//! with the bytes received shown as they arrive.

use leptos::prelude::*;

use super::ErrorAlert;
use roster_shared::api::NodeOut;

use crate::api;
use crate::components::format;
use crate::download;
use crate::session::use_session;

#[component]
pub fn ExportUsers(
    /// The search the list shows now (empty: everyone).
    searched: RwSignal<String>,
) -> impl IntoView {
    let session = use_session();
    let nodes = RwSignal::new(Vec::<NodeOut>::new());
    let node_id = RwSignal::new(None::<i64>);
    let running = RwSignal::new(false);
    // Said once at the start and once at the end; the bytes received,
    // which change many times a second, are shown but not announced.
    let status = RwSignal::new(String::new());
    let received = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);

    leptos::task::spawn_local(async move {
        match api::hierarchy().await {
            Ok(list) => {
                // The root first: the default start node.
                node_id.set(list.iter().find(|n| n.parent_id.is_none()).map(|n| n.id));
                nodes.set(list);
            }
            Err(e) => {
                session.heard(&e);
                error.set(Some(e.describe()));
            }
        }
    });

    let export = move |_| {
        if running.get_untracked() {
            return;
        }
        let q = searched.get_untracked();
        let node = node_id.get_untracked();
        running.set(true);
        error.set(None);
        status.set("Exporting…".to_string());
        received.set(String::new());
        leptos::task::spawn_local(async move {
            let progress = move |bytes: u64| {
                received.set(format!("{} received", format::bytes(bytes as f64)));
            };
            let result = api::export_users(&q, node, progress).await;
            running.set(false);
            received.set(String::new());
            match result {
                Ok((file_name, blob)) => match download::save(&file_name, &blob) {
                    Ok(()) => status.set(format!(
                        "Saved {file_name} ({}).",
                        format::bytes(blob.size())
                    )),
                    Err(e) => {
                        status.set(String::new());
                        error.set(Some(format!("The file could not be saved: {e}")));
                    }
                },
                Err(e) => {
                    session.heard(&e);
                    status.set(String::new());
                    error.set(Some(e.describe()));
                }
            }
        });
    };

    view! {
        <div class="card form export-users">
            <div class="form-row">
                <label for="export-node">"Export below"</label>
                <select
                    id="export-node"
                    disabled=move || running.get()
                    aria-describedby="export-hint"
                    on:change=move |ev| node_id.set(event_target_value(&ev).parse().ok())
                    prop:value=move || node_id.get().map(|id| id.to_string()).unwrap_or_default()
                >
                    {move || {
                        nodes
                            .get()
                            .into_iter()
                            .map(|n| view! { <option value=n.id.to_string()>{n.path}</option> })
                            .collect_view()
                    }}
                </select>
                <p id="export-hint" class="hint">
                    {move || {
                        let q = searched.get();
                        let who = if q.is_empty() {
                            "Every user".to_string()
                        } else {
                            format!("The users found for “{q}”")
                        };
                        format!(
                            "{who} in the import template's columns, sub-levels below this node: edit the file and import it with the same start hierarchy."
                        )
                    }}
                </p>
            </div>
            <div class="form-actions">
                <button
                    id="export-users"
                    type="button"
                    class="button"
                    disabled=move || running.get()
                    on:click=export
                >
                    "Export to Excel"
                </button>
            </div>
            <p id="export-status" class="status-line" role="status" aria-live="polite">
                {move || status.get()}
            </p>
            <p id="export-progress" class="hint">
                {move || received.get()}
            </p>
            <ErrorAlert id="export-error" error=error />
        </div>
    }
}
