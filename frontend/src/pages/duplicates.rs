//! `/users/duplicates`: groups of active users who share first name, last
//! name and email (folded as the search folds them: SPEC 4b's possible
//! duplicates), 20 groups a page, each user linked to their page.

use leptos::prelude::*;
use leptos_router::components::A;
use roster_shared::api::Permission;
use roster_shared::api::duplicates::{DuplicateGroup, DuplicatePage};

use crate::api;
use crate::components::{ErrorAlert, format};
use crate::remote::{self, Outcome};
use crate::session::RequirePermission;

use super::paging::{Pager, page_count};

#[component]
pub fn DuplicatesPage() -> impl IntoView {
    view! {
        <RequirePermission permission=Permission::ManageUsers>
            <DuplicatesList />
        </RequirePermission>
    }
}

/// "3 groups of possible duplicates." and the page, if more than one.
fn announcement(found: &DuplicatePage) -> String {
    if found.groups_total == 0 {
        return "No possible duplicates: no two active users share a name and an email.".into();
    }
    let groups = format::count(found.groups_total, "group", "groups");
    let pages = pages_of(found);
    let page = if pages > 1 {
        format!(" Page {} of {pages}.", found.page)
    } else {
        String::new()
    };
    format!("{groups} of possible duplicates.{page}")
}

fn pages_of(found: &DuplicatePage) -> u32 {
    page_count(
        i64::try_from(found.groups_total).unwrap_or(i64::MAX),
        found.per_page,
    )
}

#[component]
fn DuplicatesList() -> impl IntoView {
    let number = RwSignal::new(1u32);
    let list = remote::load(move || {
        let number = number.get();
        async move { api::duplicates(number).await }
    });
    let page = Memo::new(move |_| list.with(|l| l.as_ref().and_then(|l| l.as_ref().ok()).cloned()));
    let status = move || page.with(|p| p.as_ref().map(announcement).unwrap_or_default());
    let error = Signal::derive(move || list.failure());
    let go_to = Callback::new(move |n: u32| number.set(n));
    let shown = Signal::derive(move || page.with(|p| p.as_ref().map_or(1, |p| p.page)));
    let pages = Signal::derive(move || page.with(|p| p.as_ref().map_or(1, pages_of)));
    let several = move || pages.get() > 1;
    let groups = move || {
        page.with(|p| {
            p.as_ref()
                .map(|p| {
                    let first = (p.page.max(1) - 1) as usize * p.per_page as usize;
                    p.groups
                        .iter()
                        .cloned()
                        .enumerate()
                        .map(|(i, g)| (first + i + 1, g))
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default()
        })
    };
    view! {
        <div class="page-header">
            <h1 id="main-heading" tabindex="-1">"Possible duplicates"</h1>
            <p class="lede">
                "Active users with the same first name, last name and email (capitals, accents and surrounding spaces ignored) but another username: perhaps one person with two accounts."
            </p>
            <p>
                <A href="/users">"Back to the users"</A>
            </p>
        </div>
        <p id="duplicates-status" class="status-line list-status" role="status" aria-live="polite">
            {status}
        </p>
        <ErrorAlert id="duplicates-error" error=error />
        <For each=groups key=|(n, g)| (*n, g.users.first().map(|u| u.id)) let:item>
            <Group number=item.0 group=item.1 />
        </For>
        <Show when=several>
            <Pager number=shown pages=pages go_to=go_to label="Pages of possible duplicates" />
        </Show>
    }
}

#[component]
fn Group(number: usize, group: DuplicateGroup) -> impl IntoView {
    let title_id = format!("duplicate-group-{number}");
    let (section_label, table_label) = (title_id.clone(), title_id.clone());
    let title = group
        .users
        .first()
        .map(|u| format!("{} {} <{}>", u.first_name, u.last_name, u.email))
        .unwrap_or_default();
    let listed = group.users.len() as u64;
    let more = (group.count > listed).then(|| {
        view! {
            <p class="hint">
                {format!("The first {listed} of {} are shown.", format::thousands(group.count))}
            </p>
        }
    });
    view! {
        <section class="card table-card duplicate-group" aria-labelledby=section_label>
            <h2 id=title_id>
                {title}
                <span class="hint">{format!(" ({})", format::count(group.count, "user", "users"))}</span>
            </h2>
            <table class="list" aria-labelledby=table_label>
                <thead>
                    <tr>
                        <th scope="col">"Username"</th>
                        <th scope="col">"User ID"</th>
                        <th scope="col">"Role"</th>
                        <th scope="col">"Hierarchy"</th>
                        <th scope="col">"Last change"</th>
                    </tr>
                </thead>
                <tbody>
                    {group
                        .users
                        .into_iter()
                        .map(|u| {
                            let username = u.username.clone();
                            let href = format!("/users/{}", u.id);
                            view! {
                                <tr data-username=u.username>
                                    <td>
                                        <A href=href>{username}</A>
                                    </td>
                                    <td>{u.user_id}</td>
                                    <td>{u.role_name}</td>
                                    <td>{u.hierarchy_paths.join(", ")}</td>
                                    <td>{format::when(&u.updated_at)}</td>
                                </tr>
                            }
                        })
                        .collect_view()}
                </tbody>
            </table>
            {more}
        </section>
    }
}
