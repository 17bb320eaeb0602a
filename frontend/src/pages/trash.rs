//! `/trash`: deleted users, newest deletion first, with the days left
//! before they are purged for good, and Restore.

use leptos::prelude::*;

use roster_shared::api::{Permission, UserOut};

use crate::api;
use crate::components::{ErrorAlert, RowButton, focus_element};
use crate::remote::{self, Outcome};
use crate::session::RequirePermission;

use super::paging::{UserPager, fetch_page, page_words, user_count_words};

const DAY_MS: f64 = 86_400_000.0;

/// "30 days", "1 day", "Today" until `purge_at` (RFC 3339).
pub fn days_left(purge_at: &str, now_ms: f64) -> String {
    let purge = js_sys::Date::parse(purge_at);
    if purge.is_nan() {
        return String::new();
    }
    let days = ((purge - now_ms) / DAY_MS).ceil().max(0.0) as i64;
    match days {
        0 => "Today".into(),
        1 => "1 day".into(),
        n => format!("{n} days"),
    }
}

#[component]
pub fn TrashPage() -> impl IntoView {
    view! {
        <RequirePermission permission=Permission::RestoreUsers>
            <TrashList />
        </RequirePermission>
    }
}

#[component]
fn TrashList() -> impl IntoView {
    // The page asked for; the server's answer says which one it shows.
    let number = RwSignal::new(1u32);
    let restore = remote::send(|user: &UserOut| {
        let user = user.clone();
        async move {
            api::restore_user(user.id).await?;
            focus_element("main-heading");
            Ok(format!("Restored {}.", user.full_name()))
        }
    });
    // Asked again after a restore, whose notice is said with the new count.
    let list = remote::load(move || {
        let notice = restore.value().get().and_then(Result::ok);
        let number = number.get();
        async move {
            let found = fetch_page(number, api::trash).await?;
            Ok((found, notice))
        }
    });
    let page = Memo::new(move |_| {
        list.with(|l| {
            l.as_ref()
                .and_then(|l| l.as_ref().ok())
                .map(|(p, _)| p.clone())
        })
    });
    let announcement = move || {
        list.with(|l| {
            let Some(Ok((found, notice))) = l else {
                return String::new();
            };
            let count = match found.total {
                0 => "The trash can is empty.".to_string(),
                _ => format!(
                    "{} in the trash can.{}",
                    user_count_words(found),
                    page_words(found)
                ),
            };
            match notice {
                Some(n) => format!("{n} {count}"),
                None => count,
            }
        })
    };
    let error = Signal::derive(move || restore.failure().or_else(|| list.failure()));
    let busy = restore.pending();
    let go_to = Callback::new(move |n: u32| {
        // Another page: the last restore is no longer news.
        restore.value().set(None);
        number.set(n);
    });

    let rows = move || page.with(|p| p.as_ref().map(|p| p.users.clone()).unwrap_or_default());
    view! {
        <div class="page-header">
            <h1 id="main-heading" tabindex="-1">"Trash can"</h1>
            <p class="lede">
                "Deleted users stay here for 30 days, then they are removed for good. Until then they can be restored."
            </p>
        </div>
        <p id="trash-status" class="status-line list-status" role="status" aria-live="polite">
            {announcement}
        </p>
        <ErrorAlert id="trash-error" error=error />
        <div class="card table-card">
            <table id="trash-table" class="list" aria-describedby="trash-status">
                <caption class="visually-hidden">"Users in the trash can"</caption>
                <thead>
                    <tr>
                        <th scope="col">"Name"</th>
                        <th scope="col">"Username"</th>
                        <th scope="col">"Email"</th>
                        <th scope="col">"Deleted on"</th>
                        <th scope="col">"Days left"</th>
                        <th scope="col">
                            <span class="visually-hidden">"Actions"</span>
                        </th>
                    </tr>
                </thead>
                <tbody>
                    <For each=rows key=|u| u.id let:user>
                        {
                            let deleted = user
                                .deleted_at
                                .as_deref()
                                .map(|d| d.chars().take(10).collect::<String>())
                                .unwrap_or_default();
                            let left = user
                                .purge_at
                                .as_deref()
                                .map(|p| days_left(p, js_sys::Date::now()))
                                .unwrap_or_default();
                            let for_restore = user.clone();
                            view! {
                                <tr data-username=user.username.clone()>
                                    <td>{user.full_name()}</td>
                                    <td>{user.username.clone()}</td>
                                    <td>{user.email.clone()}</td>
                                    <td>{deleted}</td>
                                    <td class="days-left">{left}</td>
                                    <td class="actions">
                                        <RowButton
                                            id=format!("restore-{}", user.id)
                                            label="Restore"
                                            about=user.full_name()
                                            disabled=busy
                                            on_click=Callback::new(move |()| {
                                                restore.dispatch(for_restore.clone());
                                            })
                                        />
                                    </td>
                                </tr>
                            }
                        }
                    </For>
                </tbody>
            </table>
            {move || {
                page.with(|p| p.as_ref().is_some_and(|p| p.users.is_empty()))
                    .then(|| view! { <p class="empty-note">"Nobody is in the trash can."</p> })
            }}
            <UserPager page=page go_to=go_to label="Pages of the trash can" />
        </div>
    }
}
