//! `/imports/{id}`: one import of the history: its facts (who, when, file
//! and SHA-256, role, start hierarchy, counts) and every user it created or
//! changed, 200 a page. A created user shows all its values; a
//! synchronised one only the values that changed, as "before → after"
//! (struck out and underlined too, so the change is told by text and not by
//! colour alone). The server never sends a password, only whether one is
//! set.

use std::collections::HashMap;

use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_params_map;
use roster_shared::Field;
use roster_shared::api::{
    ChangeAction, ChangeOut as ImportChange, ImportDetail, ImportState, Permission,
};
use serde_json::Value;

use crate::api;
use crate::components::format::{self, when};
use crate::components::{ErrorAlert, Figure, Figures};
use crate::remote::{self, Answer};
use crate::session::RequirePermission;

use super::history::state_words;
use super::history_undo::UndoImport;
use super::paging::{Pager, page_count};

/// The server's page of changes.
const CHANGES_PER_PAGE: u32 = 200;

/// The values of a change, in the order shown: the keys the server writes.
const VALUE_KEYS: [&str; 12] = [
    "first_name",
    "last_name",
    "username",
    "email",
    "user_id",
    "role_id",
    "hierarchy_id",
    "special_needs",
    "sync_key",
    "time_zone",
    "has_password",
    "in_trash",
];

#[component]
pub fn ImportEntryPage() -> impl IntoView {
    let params = use_params_map();
    // A new view for another id: the page starts over.
    let id = move || {
        params
            .with(|p| p.get("id"))
            .and_then(|id| id.parse::<i64>().ok())
    };
    view! {
        <RequirePermission permission=Permission::ManageUsers>
            {move || view! { <ImportEntry id=id() /> }}
        </RequirePermission>
    }
}

/// A field's name on the page: the keys of a change's values, and those an
/// undo names ("role", "hierarchy", "password"); an unknown key as it is.
pub(super) fn label(key: &str) -> &str {
    match key {
        "role_id" | "role" => "Role",
        "hierarchy_id" => "Placed in",
        "hierarchy" => "Hierarchy",
        "has_password" | "password" => "Password",
        "in_trash" => "In the trash can",
        // The rules crate's own labels for the import fields.
        other => Field::from_key(other).map_or(other, |f| f.label()),
    }
}

/// Names for the ids in a change's values.
#[derive(Clone, Default)]
struct Names {
    roles: HashMap<i64, String>,
    nodes: HashMap<i64, String>,
}

/// One value as an administrator reads it ("—" when empty).
fn show(key: &str, value: &Value, names: &Names) -> String {
    let id_name = |map: &HashMap<i64, String>, what: &str| {
        value.as_i64().map_or_else(
            || "—".to_string(),
            |id| {
                map.get(&id)
                    .cloned()
                    .unwrap_or_else(|| format!("{what} #{id}"))
            },
        )
    };
    match (key, value) {
        ("role_id", _) => id_name(&names.roles, "role"),
        ("hierarchy_id", _) => id_name(&names.nodes, "node"),
        ("has_password", Value::Bool(true)) => "set".into(),
        ("has_password", Value::Bool(false)) => "not set".into(),
        (_, Value::Bool(true)) => "Yes".into(),
        (_, Value::Bool(false)) => "No".into(),
        (_, Value::String(s)) if s.trim().is_empty() => "—".into(),
        (_, Value::String(s)) => s.clone(),
        (_, Value::Null) => "—".into(),
        (_, other) => other.to_string(),
    }
}

/// The lines of one change: (key, before if it changed, after). A create
/// shows every value but "in the trash can" (always no); a sync only what
/// differs between before and after.
fn lines(change: &ImportChange) -> Vec<(&'static str, Option<Value>, Value)> {
    let after = |k: &str| change.after.get(k).cloned().unwrap_or(Value::Null);
    match &change.before {
        None => VALUE_KEYS
            .iter()
            .filter(|k| **k != "in_trash")
            .map(|k| (*k, None, after(k)))
            .collect(),
        Some(before) => VALUE_KEYS
            .iter()
            .filter_map(|k| {
                // Only values recorded on both sides can have changed (the
                // node a sync adds is recorded after only).
                let old = before.get(*k)?;
                let new = change.after.get(*k)?;
                (old != new).then(|| (*k, Some(old.clone()), new.clone()))
            })
            .collect(),
    }
}

/// "Mary Shelley (mshelley)" from the values after.
fn who(change: &ImportChange) -> String {
    let text = |k: &str| change.after.get(k).and_then(Value::as_str).unwrap_or("");
    let name = format!("{} {}", text("first_name"), text("last_name"))
        .trim()
        .to_string();
    match (name.is_empty(), text("username")) {
        (true, username) => username.to_string(),
        (false, username) => format!("{name} ({username})"),
    }
}

/// Page `number` of the changes of import `id`; `None` when the history
/// has no such import (a waiting preview is not history, see `history.rs`).
async fn entry_page(id: Option<i64>, number: u32) -> Answer<Option<ImportDetail>> {
    let Some(id) = id else {
        return Ok(None);
    };
    match api::import_detail(id, number).await {
        Ok(found) if found.import.state == ImportState::Preview => Ok(None),
        Ok(found) => Ok(Some(found)),
        Err(e) if e.status == 404 => Ok(None),
        Err(e) => Err(e),
    }
}

#[component]
fn ImportEntry(id: Option<i64>) -> impl IntoView {
    let page = RwSignal::new(1u32);
    let loaded = remote::load(move || entry_page(id, page.get()));
    // While the import runs, asked again until it is done (its changes
    // are written at the end, in one transaction).
    remote::poll_while(loaded, 2000, |found| {
        found
            .as_ref()
            .is_some_and(|d| d.import.state == ImportState::Running)
    });
    let detail = Memo::new(move |_| {
        loaded.with(|l| l.as_ref().and_then(|l| l.as_ref().ok()).cloned().flatten())
    });
    let error = Signal::derive(move || {
        loaded.with(|l| match l {
            Some(Ok(None)) => Some("There is no such import in the history".to_string()),
            other => remote::failure(other.as_ref()),
        })
    });
    let announcement = move || {
        detail.with(|d| {
            let Some(found) = d else {
                return String::new();
            };
            let pages = page_count(found.changes_total, CHANGES_PER_PAGE);
            let users = format::count(found.changes_total, "user", "users");
            if found.import.state == ImportState::Running {
                format!("{}.", state_words(&found.import))
            } else if pages > 1 {
                format!(
                    "{users} created or changed. Page {} of {pages}.",
                    found.page
                )
            } else {
                format!("{users} created or changed.")
            }
        })
    };
    // Ids become names; if these fail the ids are shown ("role #3").
    let names = remote::load(|| async {
        let roles = api::roles().await.unwrap_or_default();
        let nodes = api::hierarchy().await.unwrap_or_default();
        Ok(Names {
            roles: roles.into_iter().map(|r| (r.id, r.name)).collect(),
            nodes: nodes.into_iter().map(|n| (n.id, n.path)).collect(),
        })
    });

    let number = Signal::derive(move || detail.with(|d| d.as_ref().map_or(1, |d| d.page)));
    let pages = Signal::derive(move || {
        detail.with(|d| {
            d.as_ref()
                .map_or(1, |d| page_count(d.changes_total, CHANGES_PER_PAGE))
        })
    });
    let go_to = Callback::new(move |n: u32| page.set(n));
    // Undo is offered for a done import that is not undone and not an
    // undo itself; whether this administrator may is the server's to say.
    let undo_offered = Signal::derive(move || {
        detail.with(|d| {
            d.as_ref().is_some_and(|d| {
                d.import.state == ImportState::Done
                    && d.import.undone_by.is_none()
                    && d.import.undo_of.is_none()
            })
        })
    });
    let undone = Callback::new(move |()| loaded.refetch());

    view! {
        <div class="page-header">
            <p style="margin: 0 0 0.25rem">
                <A href="/imports">"← Import history"</A>
            </p>
            <h1 id="entry-title">
                {move || {
                    detail
                        .with(|d| {
                            d.as_ref()
                                .map_or_else(
                                    || "Import".to_string(),
                                    |d| match d.import.undo_of {
                                        Some(of) => format!("Undo of import {of}"),
                                        None => format!("Import of {}", d.import.file_name),
                                    },
                                )
                        })
                }}
            </h1>
            <p class="lede">
                {move || {
                    detail
                        .with(|d| {
                            d.as_ref()
                                .map(|d| {
                                    format!(
                                        "{} by {}.",
                                        when(d.import.committed_at.as_deref().unwrap_or(&d.import.created_at)),
                                        d.import.created_by,
                                    )
                                })
                        })
                }}
            </p>
        </div>
        <ErrorAlert id="entry-error" error=error />
        {move || detail.get().map(|d| view! { <Facts detail=d /> })}
        {id.map(|id| view! { <UndoImport id=id offered=undo_offered on_undone=undone /> })}
        <Show when=move || detail.with(Option::is_some)>
            <section class="card table-card" aria-labelledby="changes-title" style="margin-top: 1rem">
                <h2 id="changes-title" style="margin: 0.5rem 0">
                    "Users created or changed"
                </h2>
                <p id="entry-status" class="status-line list-status" role="status" aria-live="polite">
                    {announcement}
                </p>
                <p class="hint">
                    "A created user shows every value; a synchronised one only what changed, as before → after. "
                    "Users the import matched without changing anything are not listed. Passwords are never shown."
                </p>
                <table id="changes-table" class="list" aria-labelledby="changes-title">
                    <thead>
                        <tr>
                            <th scope="col" class="num">"Row"</th>
                            <th scope="col">"Action"</th>
                            <th scope="col">"User"</th>
                            <th scope="col" style="width: 60%">
                                "Values"
                            </th>
                        </tr>
                    </thead>
                    <tbody>
                        {move || {
                            let names = names
                                .with(|n| n.as_ref().and_then(|n| n.as_ref().ok()).cloned())
                                .unwrap_or_default();
                            detail
                                .with(|d| d.as_ref().map(|d| d.changes.clone()).unwrap_or_default())
                                .into_iter()
                                .map(|change| view! { <ChangeRow change=change names=names.clone() /> })
                                .collect_view()
                        }}
                    </tbody>
                </table>
                {move || {
                    detail
                        .with(|d| d.as_ref().is_some_and(|d| d.changes.is_empty() && d.import.state == ImportState::Done))
                        .then(|| {
                            view! { <p class="empty-note">"This import created or changed no user."</p> }
                        })
                }}
                <Show when=move || { pages.get() > 1 }>
                    <Pager number=number pages=pages go_to=go_to label="Pages of changed users" />
                </Show>
            </section>
        </Show>
    }
}

/// What the import was and what it did, in figures.
#[component]
fn Facts(detail: ImportDetail) -> impl IntoView {
    let i = &detail.import;
    let id = i.id;
    let facts = [
        ("File", i.file_name.clone(), "fact-file"),
        ("SHA-256", i.sha256.clone(), "fact-sha256"),
        ("Imported by", i.created_by.clone(), "fact-by"),
        ("Previewed", when(&i.created_at), "fact-previewed"),
        (
            "Imported",
            i.committed_at
                .as_deref()
                .map(when)
                .unwrap_or_else(|| "—".into()),
            "fact-imported",
        ),
        ("Role", i.role_name.clone(), "fact-role"),
        (
            "Start hierarchy",
            i.hierarchy_path.clone(),
            "fact-hierarchy",
        ),
        ("State", state_words(i), "fact-state"),
    ];
    let s = &i.summary;
    let errors = s.with_errors;
    let figures = vec![
        Figure::count("Rows in the file", s.rows, "", "entry-rows"),
        Figure::count("Created", i.created, "ok", "entry-created"),
        Figure::count("Synchronised", i.synced, "", "entry-synced"),
        Figure::count("Of those unchanged", s.unchanged, "", "entry-unchanged"),
        Figure::flagged("Skipped (with errors)", i.skipped, "bad", "entry-skipped"),
    ];
    let undo_links = [
        (i.undone_by, "entry-undone-by", "Undone by import"),
        (i.undo_of, "entry-undo-of", "Undo of import"),
    ]
    .into_iter()
    .filter_map(|(other, id, words)| {
        other.map(|other| {
            view! {
                <p id=id>
                    <A href=format!("/imports/{other}")>{format!("{words} {other}")}</A>
                </p>
            }
        })
    })
    .collect_view();
    view! {
        <section id="entry-facts" class="card" aria-label="About this import">
            {undo_links}
            <Figures figures=figures />
            <table class="counts" style="margin-bottom: 0.5rem">
                <caption class="visually-hidden">"About this import"</caption>
                <tbody>
                    {facts
                        .into_iter()
                        .map(|(label, value, id)| {
                            let style = if label == "SHA-256" {
                                "font-family: ui-monospace, monospace; font-size: 0.85rem; overflow-wrap: anywhere"
                            } else {
                                ""
                            };
                            view! {
                                <tr>
                                    <th scope="row" style="width: 10rem">{label}</th>
                                    <td id=id style=style>{value}</td>
                                </tr>
                            }
                        })
                        .collect_view()}
                </tbody>
            </table>
            {(errors > 0 && i.state == ImportState::Done)
                .then(|| {
                    view! {
                        <p>
                            <a id="entry-errors-download" href=format!("/api/imports/{id}/errors.xlsx") download="">
                                {format!(
                                    "Download the {} with errors (.xlsx)",
                                    format::count(errors, "row", "rows"),
                                )}
                            </a>
                            " to correct them and import them again."
                        </p>
                    }
                })}
        </section>
    }
}

/// One created or synchronised user.
#[component]
fn ChangeRow(change: ImportChange, names: Names) -> impl IntoView {
    // An undo's own entry lists what it did: trash and restore.
    let action = match change.action {
        ChangeAction::Trash => "Moved to the trash can",
        ChangeAction::Restore => "Earlier values back",
        ChangeAction::Create => "Created",
        ChangeAction::Sync => "Synchronised",
    };
    let in_trash = change.after.get("in_trash") == Some(&Value::Bool(true));
    let values = lines(&change)
        .into_iter()
        .map(|(key, before, after)| {
            let after_text = show(key, &after, &names);
            let value = match before {
                Some(before) => {
                    let before_text = show(key, &before, &names);
                    view! {
                        <del>{before_text}</del>
                        <span aria-hidden="true">" → "</span>
                        <span class="visually-hidden">" changed to "</span>
                        <ins style="font-weight: 600">{after_text}</ins>
                    }
                    .into_any()
                }
                None => view! { <span>{after_text}</span> }.into_any(),
            };
            view! {
                <li data-field=key style="margin: 0.1rem 0">
                    <span style="color: var(--muted)">{format!("{}: ", label(key))}</span>
                    {value}
                </li>
            }
        })
        .collect_view();
    let user = who(&change);
    view! {
        <tr data-row=change.row.to_string() data-action=change.action.key() style="vertical-align: top">
            <td class="num" style="vertical-align: top">{change.row}</td>
            <td style="vertical-align: top">{action}</td>
            <td style="vertical-align: top">
                <A href=format!("/users/{}", change.user)>{user}</A>
                {in_trash.then(|| view! { <div class="hint">"In the trash can"</div> })}
            </td>
            <td style="vertical-align: top">
                <ul
                    class="change-values"
                    style="list-style: none; margin: 0; padding: 0; display: grid; grid-template-columns: repeat(auto-fill, minmax(15rem, 1fr)); gap: 0 1.25rem"
                >
                    {values}
                </ul>
            </td>
        </tr>
    }
}
