//! What the paged lists share: the page count and a pager.

use leptos::prelude::*;

use crate::api::{ApiError, UserPage};

/// "1 user", "12 users", "1,234 users" (the users page's name for it).
pub use crate::components::format::count as count_words;

/// How many pages `total` items make (at least one).
pub fn page_count(total: i64, per_page: u32) -> u32 {
    let per = i64::from(per_page.max(1));
    u32::try_from((total + per - 1) / per)
        .unwrap_or(u32::MAX)
        .max(1)
}

/// " Page 2 of 3." when there is more than one page, else "".
pub fn page_words(found: &UserPage) -> String {
    let pages = page_count(found.total, found.per_page);
    if pages > 1 {
        format!(" Page {} of {pages}.", found.page)
    } else {
        String::new()
    }
}

/// Asks for page `number`; if it has become empty (its last user deleted
/// or restored), asks for the last page there is instead.
pub async fn fetch_page<F, Fut>(number: u32, fetch: F) -> Result<UserPage, ApiError>
where
    F: Fn(u32) -> Fut,
    Fut: Future<Output = Result<UserPage, ApiError>>,
{
    let found = fetch(number).await?;
    if found.users.is_empty() && number > 1 && found.total > 0 {
        return fetch(page_count(found.total, found.per_page)).await;
    }
    Ok(found)
}

/// Previous / next, and where we are, for any paged list. At either end a
/// button says it is disabled (`aria-disabled`) but keeps the keyboard
/// focus.
#[component]
pub fn Pager(
    #[prop(into)] number: Signal<u32>,
    #[prop(into)] pages: Signal<u32>,
    go_to: Callback<u32>,
    label: &'static str,
) -> impl IntoView {
    let at_first = move || number.get() <= 1;
    let at_last = move || number.get() >= pages.get();
    view! {
        <nav class="pager" aria-label=label>
            <button
                type="button"
                class="button small"
                aria-disabled=move || at_first().then_some("true")
                on:click=move |_| {
                    if !at_first() {
                        go_to.run(number.get_untracked() - 1);
                    }
                }
            >
                "Previous page"
            </button>
            <span class="pager-text">{move || format!("Page {} of {}", number.get(), pages.get())}</span>
            <button
                type="button"
                class="button small"
                aria-disabled=move || at_last().then_some("true")
                on:click=move |_| {
                    if !at_last() {
                        go_to.run(number.get_untracked() + 1);
                    }
                }
            >
                "Next page"
            </button>
        </nav>
    }
}

/// The [`Pager`] of a page of users.
#[component]
pub fn UserPager(
    #[prop(into)] page: Signal<Option<UserPage>>,
    go_to: Callback<u32>,
    label: &'static str,
) -> impl IntoView {
    let number = Signal::derive(move || page.with(|p| p.as_ref().map_or(1, |p| p.page)));
    let pages = Signal::derive(move || {
        page.with(|p| p.as_ref().map_or(1, |p| page_count(p.total, p.per_page)))
    });
    view! { <Pager number=number pages=pages go_to=go_to label=label /> }
}
