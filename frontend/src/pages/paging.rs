//! What the paged lists share: the page count and a pager.

use leptos::prelude::*;

use roster_shared::api::UserPage;

use crate::api::ApiError;

/// "1 user", "12 users", "1,234 users" (the users page's name for it).
pub use crate::components::format::count as count_words;

/// How many pages `total` items make (at least one).
pub fn page_count(total: i64, per_page: u32) -> u32 {
    let per = i64::from(per_page.max(1));
    u32::try_from((total + per - 1) / per)
        .unwrap_or(u32::MAX)
        .max(1)
}

/// "+" after a count or a page count the server stopped at, else "".
fn more(found: &UserPage) -> &'static str {
    if found.total_is_lower_bound { "+" } else { "" }
}

/// "1,234 users", or "10,000+ users" where the server stopped counting.
pub fn user_count_words(found: &UserPage) -> String {
    let words = count_words(found.total, "user", "users");
    match words.split_once(' ') {
        Some((number, noun)) if found.total_is_lower_bound => format!("{number}+ {noun}"),
        _ => words,
    }
}

/// " Page 2 of 3." when there is more than one page, else "".
pub fn page_words(found: &UserPage) -> String {
    let pages = page_count(found.total, found.per_page);
    if pages > 1 {
        format!(" Page {} of {pages}{}.", found.page, more(found))
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
    /// `pages` is "at least": there may be more after the last.
    #[prop(optional, into)]
    more: Signal<bool>,
) -> impl IntoView {
    let at_first = move || number.get() <= 1;
    let at_last = move || !more.get() && number.get() >= pages.get();
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
            <span class="pager-text">
                {move || {
                    let plus = if more.get() { "+" } else { "" };
                    format!("Page {} of {}{plus}", number.get(), pages.get())
                }}
            </span>
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
    let more =
        Signal::derive(move || page.with(|p| p.as_ref().is_some_and(|p| p.total_is_lower_bound)));
    view! { <Pager number=number pages=pages go_to=go_to label=label more=more /> }
}
