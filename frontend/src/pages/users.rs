//! `/users`: the user directory, a page at a time, searched by the server
//! (names, username, email, user ID; case and accents ignored), with
//! delete to the trash can after a confirmation.

use std::collections::HashMap;

use leptos::prelude::*;
use leptos_router::components::A;

use roster_shared::api::{Permission, UserOut as User};

use crate::api;
use crate::components::{
    ConfirmDelete, DeleteQuestion, ErrorAlert, ExportUsers, RowButton, focus_element,
};
use crate::remote::{self, Outcome};
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
    // The search and the page asked for; the server's answer says which
    // page it shows.
    let searched = RwSignal::new(String::new());
    let number = RwSignal::new(1u32);
    let question = DeleteQuestion::<User>::new();

    let delete = remote::send(|user: &User| {
        let user = user.clone();
        async move {
            api::delete_user(user.id).await?;
            focus_element("search");
            Ok(format!("Moved {} to the trash can.", user.full_name()))
        }
    });
    // Asked again after a deletion, whose notice is said with the new count.
    let list = remote::load(move || {
        let notice = delete.value().get().and_then(Result::ok);
        let q = searched.get();
        let number = number.get();
        async move {
            let found = fetch_page(number, |n| api::users(&q, n)).await?;
            Ok((found, q, notice))
        }
    });
    let roles = remote::load(|| async {
        let list = api::roles().await?;
        Ok(list
            .into_iter()
            .map(|r| (r.id, r.name))
            .collect::<HashMap<_, _>>())
    });
    let page = Memo::new(move |_| {
        list.with(|l| {
            l.as_ref()
                .and_then(|l| l.as_ref().ok())
                .map(|(p, _, _)| p.clone())
        })
    });
    let announcement = move || {
        list.with(|l| {
            let Some(Ok((found, q, notice))) = l else {
                return String::new();
            };
            let users = user_count_words(found);
            let count = if q.is_empty() {
                format!("{users} in all.{}", page_words(found))
            } else {
                format!("{users} found for “{q}”.{}", page_words(found))
            };
            match notice {
                Some(n) => format!("{n} {count}"),
                None => count,
            }
        })
    };
    let error = Signal::derive(move || {
        delete
            .failure()
            .or_else(|| list.failure())
            .or_else(|| roles.failure())
    });

    // Another search or page: the question closes and the last deletion
    // is no longer news.
    let ask_for = move |q: String, n: u32| {
        question.close();
        delete.value().set(None);
        searched.set(q);
        number.set(n);
    };
    let search = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        ask_for(typed.get_untracked().trim().to_string(), 1);
    };
    let go_to = Callback::new(move |n: u32| ask_for(searched.get_untracked(), n));

    let role_name = move |id: i64| {
        roles.with(|r| {
            r.as_ref()
                .and_then(|r| r.as_ref().ok())
                .and_then(|r| r.get(&id).cloned())
                .unwrap_or_default()
        })
    };
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
            {announcement}
        </p>
        <ErrorAlert id="users-error" error=error />
        <ConfirmDelete
            question=question
            title=|user: &User| format!("Delete {}?", user.full_name())
            text=|user: &User| {
                format!(
                    "{} ({}) goes to the trash can and can no longer sign in. Someone allowed to restore users can bring them back within 30 days.",
                    user.full_name(),
                    user.username,
                )
            }
            confirm_label="Move to the trash can"
            asked_by=|user: &User| format!("delete-{}", user.id)
            on_confirm=Callback::new(move |user| {
                delete.dispatch(user);
            })
            action=delete
        />
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
                                                    <RowButton
                                                        id=format!("delete-{}", user.id)
                                                        label="Delete"
                                                        about=user.full_name()
                                                        on_click=Callback::new(move |()| question.ask(for_ask.clone()))
                                                    />
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
