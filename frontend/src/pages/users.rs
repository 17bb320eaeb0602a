//! `/users`: the user directory, a page at a time, searched by the server
//! (names, username, email, user ID; case and accents ignored), with
//! delete to the trash can after a confirmation.

use std::collections::HashMap;

use leptos::prelude::*;
use leptos_router::components::A;

use roster_shared::api::{Permission, UserOut as User, UserPage};

use crate::api::{self, ApiError};
use crate::components::{ConfirmDialog, ErrorAlert, ExportUsers, focus_element};
use crate::session::{RequirePermission, use_session};

use super::paging::{UserPager, fetch_page, page_words, user_count_words};

#[component]
pub fn UsersPage() -> impl IntoView {
    view! {
        <RequirePermission permission=Permission::ManageUsers>
            <UsersList />
        </RequirePermission>
    }
}

#[component]
fn UsersList() -> impl IntoView {
    let session = use_session();
    let typed = RwSignal::new(String::new());
    let searched = RwSignal::new(String::new());
    let page = RwSignal::new(None::<UserPage>);
    let roles = RwSignal::new(HashMap::<i64, String>::new());
    let announcement = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let confirming = RwSignal::new(None::<User>);
    let busy = RwSignal::new(false);

    let fail = move |e: ApiError| {
        session.heard(&e);
        error.set(Some(e.describe()));
    };

    // Loads a page of `q`; `notice` is said before the count.
    let load = move |q: String, number: u32, notice: Option<String>| {
        busy.set(true);
        leptos::task::spawn_local(async move {
            let result = fetch_page(number, |n| api::users(&q, n)).await;
            busy.set(false);
            match result {
                Ok(found) => {
                    let users = user_count_words(&found);
                    let count = if q.is_empty() {
                        format!("{users} in all.{}", page_words(&found))
                    } else {
                        format!("{users} found for “{q}”.{}", page_words(&found))
                    };
                    error.set(None);
                    announcement.set(match notice {
                        Some(n) => format!("{n} {count}"),
                        None => count,
                    });
                    searched.set(q);
                    page.set(Some(found));
                }
                Err(e) => fail(e),
            }
        });
    };

    leptos::task::spawn_local(async move {
        match api::roles().await {
            Ok(list) => roles.set(list.into_iter().map(|r| (r.id, r.name)).collect()),
            Err(e) => fail(e),
        }
    });
    load(String::new(), 1, None);

    let search = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        confirming.set(None);
        load(typed.get_untracked().trim().to_string(), 1, None);
    };
    let go_to = Callback::new(move |number: u32| {
        confirming.set(None);
        load(searched.get_untracked(), number, None);
    });

    let ask = move |user: User| {
        confirming.set(Some(user));
        focus_element("confirm-delete");
    };
    let cancel = move || {
        if let Some(user) = confirming.get_untracked() {
            confirming.set(None);
            focus_element(&format!("delete-{}", user.id));
        }
    };
    let confirm = move || {
        let Some(user) = confirming.get_untracked() else {
            return;
        };
        busy.set(true);
        leptos::task::spawn_local(async move {
            match api::delete_user(user.id).await {
                Ok(()) => {
                    confirming.set(None);
                    let number = page.with_untracked(|p| p.as_ref().map_or(1, |p| p.page));
                    let notice = format!("Moved {} to the trash can.", user.full_name());
                    load(searched.get_untracked(), number, Some(notice));
                    focus_element("search");
                }
                Err(e) => {
                    busy.set(false);
                    confirming.set(None);
                    fail(e);
                }
            }
        });
    };

    let role_name = move |id: i64| roles.with(|r| r.get(&id).cloned().unwrap_or_default());
    let rows = move || page.with(|p| p.as_ref().map(|p| p.users.clone()).unwrap_or_default());

    view! {
        <div class="page-header">
            <h1>"Users"</h1>
            <p class="lede">"Find a user by name, username, email or user ID."</p>
            <p>
                <A href="/users/duplicates" attr:id="duplicates-link">"Possible duplicates"</A>
            </p>
        </div>
        <form class="card search-form" role="search" on:submit=search>
            <label for="search">"Search users"</label>
            <div class="search-row">
                <input
                    id="search"
                    type="search"
                    autocomplete="off"
                    aria-describedby="search-hint"
                    prop:value=move || typed.get()
                    on:input=move |ev| typed.set(event_target_value(&ev))
                />
                <button id="search-button" type="submit" class="button primary">
                    "Search"
                </button>
            </div>
            <p id="search-hint" class="hint">
                "Each word must begin a name, username, email or user ID. Capitals and accents do not matter: “muller” finds “Müller”."
            </p>
        </form>
        <ExportUsers searched=searched />
        <p id="users-status" class="status-line list-status" role="status" aria-live="polite">
            {move || announcement.get()}
        </p>
        <ErrorAlert id="users-error" error=error />
        {move || {
            confirming
                .get()
                .map(|user| {
                    let name = user.full_name();
                    view! {
                        <ConfirmDialog
                            title=format!("Delete {name}?")
                            text=format!("{name} ({}) goes to the trash can and can no longer sign in. Someone allowed to restore users can bring them back within 30 days.", user.username)
                            confirm_label="Move to the trash can"
                            busy=busy
                            on_confirm=Callback::new(move |_| confirm())
                            on_cancel=Callback::new(move |_| cancel())
                        />
                    }
                })
        }}
        <div class="card table-card">
            <table id="users-table" class="list" aria-describedby="users-status">
                <caption class="visually-hidden">"Users"</caption>
                <thead>
                    <tr>
                        <th scope="col">"Name"</th>
                        <th scope="col">"Username"</th>
                        <th scope="col">"Email"</th>
                        <th scope="col">"User ID"</th>
                        <th scope="col">"Role"</th>
                        <th scope="col">
                            <span class="visually-hidden">"Actions"</span>
                        </th>
                    </tr>
                </thead>
                <tbody>
                    <For each=rows key=|u| u.id let:user>
                        {
                            let me = session.me.with(|m| m.as_ref().map(|m| m.user.id));
                            let is_me = me == Some(user.id);
                            let for_ask = user.clone();
                            let href = format!("/users/{}", user.id);
                            let name = user.full_name();
                            view! {
                                <tr data-username=user.username.clone()>
                                    <td>
                                        <A href=href>{name.clone()}</A>
                                    </td>
                                    <td>{user.username.clone()}</td>
                                    <td>{user.email.clone()}</td>
                                    <td>{user.user_id.clone()}</td>
                                    <td>{move || role_name(user.role_id)}</td>
                                    <td class="actions">
                                        {(!is_me)
                                            .then(|| {
                                                view! {
                                                    <button
                                                        id=format!("delete-{}", user.id)
                                                        type="button"
                                                        class="button small"
                                                        on:click=move |_| ask(for_ask.clone())
                                                    >
                                                        "Delete"
                                                        <span class="visually-hidden">
                                                            {format!(" {}", user.full_name())}
                                                        </span>
                                                    </button>
                                                }
                                            })}
                                    </td>
                                </tr>
                            }
                        }
                    </For>
                </tbody>
            </table>
            {move || {
                page.with(|p| p.as_ref().is_some_and(|p| p.users.is_empty()))
                    .then(|| view! { <p class="empty-note">"No users match."</p> })
            }}
            <UserPager page=page go_to=go_to label="Pages of users" />
        </div>
    }
}
